#!/usr/bin/env python3
"""Regenerates the seed corpora under tests/fuzz/corpus/<target>/ from the
provider documents' own JSON examples (/work/shared/api-docs or $API_DOCS),
the JSON literals of the adapter tests, the example manifests and configs,
and a few hand-written seeds. Seed file names are content hashes, so
re-running adds nothing twice. Usage: tests/fuzz/make_corpus.py [API_DOCS]"""
import hashlib, json, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("API_DOCS", "/work/shared/api-docs")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def json_objects(text):
    """Every top-level JSON object or array literal in free text."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        i = min([p for p in (text.find("{", i), text.find("[", i)) if p >= 0], default=-1)
        if i < 0:
            return out
        try:
            v, end = dec.raw_decode(text, i)
            if isinstance(v, (dict, list)) and len(json.dumps(v)) > 8:
                out.append(text[i:end])
                i = end
                continue
        except ValueError:
            pass
        i += 1

def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()

def cpp_raw_strings(path):
    return [m for m in re.findall(r'R"\((.*?)\)"', read(path), re.S)]

# provider -> (doc file, test files, number of ops in its fuzz target)
PROVIDERS = {
    "juhuo": ("000_2fbac5bd8fa1f5a3.txt", ["juhuo_adapter_response_test.cpp"], 6),
    "turing": ("001_bf2549479f4c04d9.txt", ["turing_adapter_test.cpp", "support/turing_doc_samples.hpp"], 2),
    "vibegen": ("002_df135de1b8378dda.txt", ["vibegen_adapter_test.cpp"], 4),
    "seedance2": ("003_a3f86ea388979b7c.txt", ["seedance2_adapter_response_test.cpp"], 8),
    "openai": ("004_0361e29f745deffc.txt", ["openai_adapter_test.cpp"], 5),
}
STATUS_200, STATUS_400, STATUS_429, STATUS_500 = 0, 6, 17, 18
for name, (doc, tests, ops) in PROVIDERS.items():
    bodies = json_objects(read(os.path.join(DOCS, doc)))
    for t in tests:
        bodies += [s for s in cpp_raw_strings(os.path.join(ROOT, "tests", t)) if s.lstrip()[:1] in "{["]
    bodies += ["", "<html><body>502 Bad Gateway</body></html>", "{", "null"]
    for b in dict.fromkeys(bodies):
        for op in range(ops):
            put("fuzz_" + name, bytes([op, STATUS_200]) + b.encode())
        put("fuzz_" + name, bytes([0x80, STATUS_429]) + b.encode())
        put("fuzz_" + name, bytes([2, STATUS_400]) + b.encode())
        put("fuzz_" + name, bytes([3, STATUS_500]) + b.encode())

# manifests: the examples, the JSONL lines written in the manifest tests
for f in ("manifest.csv", "mixed.csv"):
    put("fuzz_manifest_csv", read(os.path.join(ROOT, "examples", f)))
put("fuzz_manifest_csv", 'id,provider,prompt,duration,images,param.seed_mode\n'
    'a,juhuo,"a ""quoted"" prompt\nwith a line break",8s,hero=a.png;https://x/y.jpg,"{""a"":1}"\n,,,,,\n')
put("fuzz_manifest_csv", "\ufeffPrompt , PROVIDER\r\nhello,turing\r\n")
for s in cpp_raw_strings(os.path.join(ROOT, "tests", "manifest_test.cpp")):
    if s.lstrip().startswith("{"):
        put("fuzz_manifest_jsonl", s)
    elif "prompt" in s and "," in s:
        put("fuzz_manifest_csv", s)
put("fuzz_manifest_jsonl", '{"prompt":"p","provider":"juhuo","duration":8,"audio":"on","images":[{"name":"a","url":"https://x/a.png"}],"params":{"k":[1,2]}}\n\n'
    '{"prompt":"q","provider":"turing","images":{"hero":"HTTPS://x/h.jpg"},"seed":-9223372036854775808}\n')

# configs: every example config
for d in ("examples", "config", "systemd"):
    for f in sorted(os.listdir(os.path.join(ROOT, d))):
        if f.endswith(".toml"):
            put("fuzz_config", read(os.path.join(ROOT, d, f)))

for v in ["120", "0", " 7 ", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
          "Sun Nov  6 08:49:37 1994", "Thu, 01 Jan 2026 00:00:10 GMT", "-1", "1.5", "99999999999999999999"]:
    put("fuzz_retry_after", v)

for u in ["https://api.juhuo.cn", "http://127.0.0.1:8080/juhuo/open-api/v1/video/task/abc?x=1",
          "http://[::1]:9000/v1/videos", "https://user:p%40ss@proxy.example:3128", "HTTP://Example.COM:80/",
          "http://h:0/", "http://h:65536/", "https://[fe80::1%25eth0]:443/a#frag", "http://u@h", "http:/x"]:
    put("fuzz_url", b"\x00" + u.encode())
for host, port, np in [("api.juhuo.cn", "443", "juhuo.cn"), ("10.1.2.3", "80", "10.0.0.0/8"), ("::1", "8080", "[::1]:8080"),
                       ("localhost", "80", "*"), ("a.internal", "443", " .internal ,, example.com:443")]:
    put("fuzz_url", b"\x01" + f"{host}\n{port}\n{np}".encode())

for line in ["GET /healthz", "GET /v1/jobs?state=failed&batch=3&limit=50\nBearer 0123456789abcdef-fuzz-token",
             "POST /v1/jobs/r%2Fabc/retry", "DELETE /v1/batches/7", "POST /v1/profiles/juhuo-a/pause\nbearer  x",
             "GET /v1/events?batch=1&after=99", "HEAD /metrics", "GET /v1/batches/"]:
    put("fuzz_admin", b"\x00" + line.encode())
