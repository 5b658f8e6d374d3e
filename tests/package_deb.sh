#!/usr/bin/env bash
# ctest package_deb: builds the .deb with CPack from the build tree and checks
# its file list and control data.
#   package_deb.sh BUILD_DIR
# Exits 77 (ctest: skipped) when dpkg-deb or dpkg-shlibdeps is missing.
set -euo pipefail
build=$1
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool not installed: .deb not built"
    exit 77
  fi
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; echo "FAIL: cpack"; exit 1; }
deb=$(ls "$out"/*.deb)
echo "== $(basename "$deb")"
listing=$(dpkg-deb -c "$deb")
printf '%s\n' "$listing"
status=0
for f in ./usr/bin/reelbatch \
         ./usr/lib/systemd/system/reelbatch.service \
         ./usr/lib/systemd/system/reelbatch-submit@.service \
         ./usr/lib/systemd/system/reelbatch-submit@.timer \
         ./usr/lib/sysusers.d/reelbatch.conf \
         ./etc/reelbatch/reelbatch.toml \
         ./usr/share/doc/reelbatch/README.md \
         ./usr/share/doc/reelbatch/reelbatch.example.toml; do
  if ! printf '%s\n' "$listing" | awk '{print $NF}' | grep -qxF "$f"; then
    echo "FAIL: $f is not in the package"
    status=1
  fi
done
printf '%s\n' "$listing" | grep -q 'rwxr-xr-x .* ./usr/bin/reelbatch$' || { echo "FAIL: /usr/bin/reelbatch is not 0755"; status=1; }
echo "== control"
dpkg-deb -f "$deb" Package Version Architecture Depends
depends=$(dpkg-deb -f "$deb" Depends)
# libsystemd0 joins once the daemon links reelbatch_systemd (dpkg-shlibdeps finds it).
for d in libc6 libstdc++6 systemd; do
  printf '%s\n' "$depends" | grep -q "\b$d\b" || { echo "FAIL: Depends lacks $d"; status=1; }
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
[ "$conffiles" = "/etc/reelbatch/reelbatch.toml" ] || { echo "FAIL: conffiles is '$conffiles'"; status=1; }
for s in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$s" >/dev/null || { echo "FAIL: no $s script"; status=1; }
done
exit $status
