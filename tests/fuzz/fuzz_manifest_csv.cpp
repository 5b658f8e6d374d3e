// libFuzzer target: CSV manifest parsing with normalization
// (src/ingest/manifest.hpp, parse_manifest_csv). Every good row is
// serialized (to_json) and read back (job_spec_from_json): normalization must
// produce a spec that round-trips. Local asset paths resolve under a folder
// that does not exist, so no real file is read.
#include "src/core/job_spec.hpp"
#include "src/ingest/manifest.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace reelbatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ManifestOptions opts;
  opts.default_provider = (size & 1) ? "fuzz" : "";
  opts.allowed_roots = {"/nonexistent-reelbatch-fuzz"};
  try {
    const Manifest m = parse_manifest_csv(text, "fuzz.csv", "/nonexistent-reelbatch-fuzz", opts);
    for (const ManifestRow& r : m.rows) {
      if (r.spec.id.empty() || r.line < 1) std::abort();
      const JobSpec back = job_spec_from_json(to_json(r.spec));
      if (to_json(back) != to_json(r.spec)) std::abort();
    }
    for (const RowError& e : m.errors) (void)e.to_string();
  } catch (const ManifestError&) {
    // a file-level problem: the documented outcome for a bad header
  }
  return 0;
}
