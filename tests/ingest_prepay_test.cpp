// Issue 7, cases 5 and 10: everything that can be checked before paying is
// checked at ingest or config load. Each test names the case it covers.
// Real files in a temporary folder, a real SQLite store; no sockets, no sleeps.
#include "config/config.hpp"
#include "providers/kit/util.hpp"
#include "providers/registry.hpp"
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "src/ingest/output_paths.hpp"
#include "src/output/results.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;

const std::string kPng = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s;
const std::string kJpeg = "\xFF\xD8\xFF\xE0\0\x10JFIF\0"s;

EnvLookup env_with(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("reelbatch-prepay-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
    path = fs::canonical(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& rel, const std::string& content) const {
    const fs::path p = path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

// A config with one juhuo profile (the rows' default), and with `vibe` also
// a vibegen profile, rooted in `dir`.
std::string config_text(const std::string& extra_top = "", bool vibe = false) {
  return extra_top +
         "[storage]\npath = \"db/reelbatch.db\"\n"
         "[output]\ndir = \"out\"\n"
         "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"https://api.juhuo.cn\"\napi_key_env = \"K\"\n" +
         (vibe ? "[providers.vibe]\nkind = \"vibegen\"\nbase_url = \"https://vibegen.art/api/v1\"\napi_key_env = \"K\"\n"
               : "");
}

Config make_config(const TempDir& dir, const std::string& extra_top = "", bool vibe = false) {
  Config cfg = parse_config(config_text(extra_top, vibe), dir.path / "reelbatch.toml", env_with({{"K", "sk-abc"}}));
  fs::create_directories(cfg.storage_path.parent_path());
  return cfg;
}

std::string config_error(const std::string& text, const std::string& key = "sk-abc") {
  try {
    parse_config(text, "/etc/reelbatch/reelbatch.toml", env_with({{"K", key}}));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += e + "\n";
  return s;
}

// The one error of `report` that starts with `prefix` ("file:line: field").
::testing::AssertionResult has_error(const IngestReport& report, const std::string& prefix,
                                     const std::string& contains) {
  for (const auto& e : report.errors)
    if (e.rfind(prefix, 0) == 0 && e.find(contains) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error '" << prefix << "...' containing '" << contains << "' in:\n"
                                       << joined(report.errors);
}

// ---------------------------------------------------------------- case 5

TEST(IngestPrepay, Case5_SameOutputStemIsRowError) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  const auto m = dir.write("m.csv", "id,prompt,output\na,one,fox\nb,two,fox\nc,three,hare\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 2);
  EXPECT_EQ(report.rejected, 1);
  // The error is on the second row and names the first, by file and line.
  EXPECT_TRUE(has_error(report, m.string() + ":3: output: ", "already the output of row 'a' at " + m.string() + ":2"));
}

TEST(IngestPrepay, Case5_OutputEqualToAnotherRowsIdIsRowError) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  // Row 2 writes "fox.mp4" by its id; row 3 asks for the same file by output.
  const auto m = dir.write("m.csv", "id,prompt,output\nfox,one,\nb,two,fox\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 1);
  EXPECT_TRUE(has_error(report, m.string() + ":3: output: ", "row 'fox' at " + m.string() + ":2 (its id)"));
  // And the other way round: an id that is another row's output.
  const auto m2 = dir.write("n.csv", "id,prompt,output\na,one,wolf\nwolf,two,\n");
  const auto r2 = ingest_manifests(cfg, store, {m2});
  EXPECT_TRUE(has_error(r2, m2.string() + ":3: id: ", "row 'a' at " + m2.string() + ":2"));
}

TEST(IngestPrepay, Case5_CaseInsensitiveStemCollisionIsRowError) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  const auto m = dir.write("m.csv", "id,prompt,output\na,one,Fox\nb,two,fOX\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 1);
  EXPECT_TRUE(has_error(report, m.string() + ":3: output: ", "ignoring case"));
  // Ids that differ only in case, with no output, collide the same way.
  const auto m2 = dir.write("n.csv", "id,prompt\nClip,one\nclip,two\n");
  const auto r2 = ingest_manifests(cfg, store, {m2});
  EXPECT_EQ(r2.added, 1);
  EXPECT_TRUE(has_error(r2, m2.string() + ":3: id: ", "row 'Clip'"));
}

TEST(IngestPrepay, Case5_CollisionWithRowAlreadyInTheBatchFolder) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  const auto m = dir.write("m.csv", "id,prompt,output\na,one,fox\n");
  ASSERT_EQ(ingest_manifests(cfg, store, {m}).added, 1);
  // The manifest is edited: row a is gone, a new row wants a's file.
  dir.write("m.csv", "id,prompt,output\nb,two,fox\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 0);
  EXPECT_TRUE(has_error(report, m.string() + ":2: output: ", "row 'a' at " + m.string() + ":2"));
  // Re-ingesting the original row is not a collision with itself.
  dir.write("m.csv", "id,prompt,output\na,one,fox\n");
  const auto again = ingest_manifests(cfg, store, {m});
  EXPECT_TRUE(again.errors.empty()) << joined(again.errors);
  EXPECT_EQ(again.existing, 1);
}

TEST(IngestPrepay, Case5_SameManifestNameInTwoFoldersGetsTwoFolders) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  const auto a = dir.write("a/shots.csv", "id,prompt\nx1,one\n");
  const auto b = dir.write("b/shots.csv", "id,prompt\nx2,two\n");
  const auto c = dir.write("c/SHOTS.csv", "id,prompt\nx3,three\n");
  const auto report = ingest_manifests(cfg, store, {a, b, c});
  ASSERT_TRUE(report.errors.empty()) << joined(report.errors);
  ASSERT_EQ(report.batch_ids.size(), 3u);
  const auto ba = *store.batch(report.batch_ids[0]);
  const auto bb = *store.batch(report.batch_ids[1]);
  const auto bc = *store.batch(report.batch_ids[2]);
  EXPECT_EQ(ba.out_dir, (cfg.output_dir / "shots").string());
  EXPECT_EQ(bb.out_dir, (cfg.output_dir / "shots-2").string());
  EXPECT_EQ(bc.out_dir, (cfg.output_dir / "SHOTS-3").string());  // case-insensitive file systems
  EXPECT_EQ(bb.name, "shots-2");
  EXPECT_TRUE(fs::is_directory(bb.out_dir));
  // An existing batch keeps its folder, whatever order manifests come in.
  const auto again = ingest_manifests(cfg, store, {b, a});
  EXPECT_EQ(again.batch_ids, (std::vector<std::int64_t>{bb.id, ba.id}));
  EXPECT_EQ(store.batch(bb.id)->out_dir, bb.out_dir);
  // results.jsonl is per batch folder: one cannot replace the other.
  write_results_jsonl(store, ba.id);
  write_results_jsonl(store, bb.id);
  std::ifstream ra(fs::path(ba.out_dir) / "results.jsonl"), rb(fs::path(bb.out_dir) / "results.jsonl");
  std::stringstream sa, sb;
  sa << ra.rdbuf();
  sb << rb.rdbuf();
  EXPECT_NE(sa.str().find("\"x1\""), std::string::npos) << sa.str();
  EXPECT_NE(sb.str().find("\"x2\""), std::string::npos) << sb.str();
  EXPECT_EQ(sa.str().find("\"x2\""), std::string::npos);
}

TEST(IngestPrepay, Case5_StemsThatLeaveTheFolderOrNameDevicesAreRowErrors) {
  TempDir dir;
  const Config cfg = make_config(dir);
  SqliteJobStore store(cfg.storage_path);
  const auto m = dir.write("m.jsonl",
                           "{\"id\":\"r1\",\"prompt\":\"x\",\"output\":\"..escape\"}\n"
                           "{\"id\":\"r2\",\"prompt\":\"x\",\"output\":\"/etc/cron.d/x\"}\n"
                           "{\"id\":\"r3\",\"prompt\":\"x\",\"output\":\"a\\\\b\"}\n"
                           "{\"id\":\"r4\",\"prompt\":\"x\",\"output\":\"CON\"}\n"
                           "{\"id\":\"r5\",\"prompt\":\"x\",\"output\":\"lpt1.clip\"}\n"
                           "{\"id\":\"r6\",\"prompt\":\"x\",\"output\":\".hidden\"}\n"
                           "{\"id\":\"r7\",\"prompt\":\"x\",\"output\":\"trailing.\"}\n"
                           "{\"id\":\"r8\",\"prompt\":\"x\",\"output\":\"nul\\u0000x\"}\n"
                           "{\"id\":\"aux\",\"prompt\":\"x\"}\n"
                           "{\"id\":\"ok\",\"prompt\":\"x\",\"output\":\"con-test\"}\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 1) << joined(report.errors);
  EXPECT_EQ(report.rejected, 9) << joined(report.errors);
  const std::string f = m.string();
  EXPECT_TRUE(has_error(report, f + ":1: output: ", "'..'"));
  EXPECT_TRUE(has_error(report, f + ":2: output: ", "without '/'"));
  EXPECT_TRUE(has_error(report, f + ":3: output: ", "without '/' or '\\'"));
  EXPECT_TRUE(has_error(report, f + ":4: output: ", "reserved device name"));
  EXPECT_TRUE(has_error(report, f + ":5: output: ", "reserved device name"));
  EXPECT_TRUE(has_error(report, f + ":6: output: ", "must not start with '.'"));
  EXPECT_TRUE(has_error(report, f + ":7: output: ", "must not end with '.'"));
  EXPECT_TRUE(has_error(report, f + ":8: output: ", "control character"));
  EXPECT_TRUE(has_error(report, f + ":9: id: ", "reserved device name"));
  EXPECT_FALSE(fs::exists(dir.path / "escape"));
}

// ---------------------------------------------------------------- case 10: config

TEST(IngestPrepay, Case10_CrLfInApiKeyRefused) {
  const std::string text = config_text();
  for (const std::string& key : {"sk-abc\r\nX-Injected: 1"s, "sk-a\nb"s, "sk-\x01" "abc"s, "sk-abc\x7f"s}) {
    const std::string e = config_error(text, key);
    EXPECT_NE(e.find("providers.juhuo.api_key_env: environment variable K contains a control character"),
              std::string::npos)
        << e;
    EXPECT_EQ(e.find("sk-a"), std::string::npos) << "the key must not appear: " << e;
  }
  // A final line break (a key read from a file) is dropped, not refused.
  const Config ok = parse_config(text, "c.toml", env_with({{"K", "sk-abc\r\n"}}));
  EXPECT_EQ(ok.profiles.at("juhuo").api_key, "sk-abc");
}

TEST(IngestPrepay, Case10_WhitespaceAtApiKeyEndsRefused) {
  for (const std::string& key : {" sk-abc"s, "sk-abc "s, "\tsk-abc"s, "sk-abc\t\n"s}) {
    const std::string e = config_error(config_text(), key);
    EXPECT_NE(e.find("providers.juhuo.api_key_env: environment variable K has spaces or tabs at its start or end"),
              std::string::npos)
        << e;
  }
}

TEST(IngestPrepay, Case10_PortOutOfRangeRefused) {
  auto with = [](const std::string& url) {
    return config_error("[providers.j]\nkind = \"juhuo\"\nbase_url = \"" + url + "\"\napi_key_env = \"K\"\n");
  };
  for (const std::string& url : {"http://127.0.0.1:99999"s, "http://127.0.0.1:0"s, "https://a.test:65536/v1"s,
                                 "https://a.test:4294967297"s, "https://a.test:/v1"s}) {
    const std::string e = with(url);
    EXPECT_NE(e.find("providers.j.base_url: port must be a number in 1..65535"), std::string::npos) << url << ": " << e;
  }
  EXPECT_NE(with("http://127.0.0.1:99999").find("'99999'"), std::string::npos);
  EXPECT_EQ(with("http://127.0.0.1:65535/juhuo"), "(no error)");
  EXPECT_EQ(with("https://[::1]:8443"), "(no error)");
  EXPECT_NE(with("https://user:pw@a.test").find("providers.j.base_url: must not contain user info"),
            std::string::npos);
  EXPECT_NE(with("https://a.test:8x").find("providers.j.base_url"), std::string::npos) << with("https://a.test:8x");
}

TEST(IngestPrepay, Case10_ConfigErrorsThatFailedAtRunTimeNameTheKeyAtLoad) {
  // A default the provider documents as invalid failed every row (or every
  // submit) without naming the key.
  const std::string juhuo = "[providers.j]\nkind = \"juhuo\"\nbase_url = \"https://a\"\napi_key_env = \"K\"\n";
  const std::string e1 = config_error(juhuo + "[providers.j.defaults]\nduration = 20\n");
  EXPECT_NE(e1.find("/etc/reelbatch/reelbatch.toml: providers.j.defaults.duration: "), std::string::npos) << e1;
  const std::string vibe = "[providers.v]\nkind = \"vibegen\"\nbase_url = \"https://a\"\napi_key_env = \"K\"\n";
  const std::string e2 = config_error(vibe + "[providers.v.defaults]\nmodel = \"sora\"\n");
  EXPECT_NE(e2.find("providers.v.defaults.model: "), std::string::npos) << e2;
  EXPECT_EQ(config_error(vibe + "[providers.v.defaults]\nmodel = \"seedance 2.0\"\nduration = 5\n"), "(no error)");
  // A rate the scheduler's token bucket refuses threw at run time.
  const std::string e3 = config_error(juhuo + "submit_per_minute = 1e-9\n");
  EXPECT_NE(e3.find("providers.j.submit_per_minute: must be a number of requests per minute in"), std::string::npos)
      << e3;
  // allowed_roots must exist.
  const std::string e4 = config_error("[ingest]\nallowed_roots = [\"/nonexistent-reelbatch-root\"]\n" + juhuo);
  EXPECT_NE(e4.find("ingest.allowed_roots[0]: cannot resolve /nonexistent-reelbatch-root"), std::string::npos) << e4;
  const std::string e5 = config_error("[ingest]\nallowed_roots = \"/tmp\"\n" + juhuo);
  EXPECT_NE(e5.find("ingest.allowed_roots: expected an array"), std::string::npos) << e5;
  const std::string e6 = config_error("[ingest]\nallowed_rots = []\n" + juhuo);
  EXPECT_NE(e6.find("ingest.allowed_rots: unknown key (did you mean 'allowed_roots'?)"), std::string::npos) << e6;
}

TEST(IngestPrepay, Case10_UnwritableOutputRootBeforePaying) {
  TempDir dir;
  // A file where the output root's parent should be: it cannot be created,
  // whoever runs the test (root ignores permission bits).
  dir.write("blocker", "not a folder");
  Config cfg = make_config(dir);
  cfg.output_dir = dir.path / "blocker" / "out";
  SqliteJobStore store(cfg.storage_path);
  const auto m = dir.write("m.csv", "id,prompt\na,one\n");
  try {
    ingest_manifests(cfg, store, {m});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("reelbatch.toml: output.dir: cannot create " + cfg.output_dir.string()),
              std::string::npos)
        << e.what();
  }
  // Nothing was recorded, so nothing can be submitted.
  EXPECT_TRUE(store.batches().empty());
  if (::geteuid() != 0) {
    // Without root, a read-only folder is refused the same way.
    fs::create_directories(dir.path / "ro");
    fs::permissions(dir.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    cfg.output_dir = dir.path / "ro";
    EXPECT_THROW(ingest_manifests(cfg, store, {m}), ConfigError);
  }
  // The output root being a file is refused too.
  cfg.output_dir = dir.path / "blocker";
  EXPECT_THROW(check_output_root(cfg), ConfigError);
  EXPECT_EQ(check_writable_folder(dir.path), std::nullopt);
}

// ---------------------------------------------------------------- case 10: manifests

TEST(IngestPrepay, Case10_MidFileBomRemoved) {
  TempDir dir;
  ManifestOptions o;
  o.default_provider = "juhuo";
  const std::string bom = "\xEF\xBB\xBF";
  // BOMs left by joining files (`cat`) or pasted by an editor, at a line
  // start, inside an id and around a prompt: none may stick to the values.
  const auto m = parse_manifest_csv(bom + "id,prompt\n" + bom + "a1,one\nb" + bom + "2," + bom + "two" + bom + "\n",
                                    "m.csv", dir.path, o);
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].spec.id, "a1");
  EXPECT_EQ(m.rows[1].spec.id, "b2");
  EXPECT_EQ(m.rows[1].spec.prompt, "two");
  // JSONL: a raw BOM at a line start, and one written as a JSON escape.
  const auto j = parse_manifest_jsonl(bom + "{\"id\":\"a\",\"prompt\":\"x\"}\n" + bom +
                                          "{\"id\":\"\\ufeffb\",\"prompt\":\"y\\ufeff\"}\n",
                                      "m.jsonl", dir.path, o);
  ASSERT_EQ(j.rows.size(), 2u);
  EXPECT_EQ(j.rows[1].spec.id, "b");
  EXPECT_EQ(j.rows[1].spec.prompt, "y");
}

TEST(IngestPrepay, Case10_HugePromptRefused) {
  TempDir dir;
  const Config cfg = make_config(dir, "", true);
  SqliteJobStore store(cfg.storage_path);
  const std::string huge(10 * 1024 * 1024, 'a');
  const auto m = dir.write("m.csv", "id,provider,prompt\nbig,juhuo," + huge + "\nsmall,juhuo,fine\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 1);
  EXPECT_TRUE(has_error(report, m.string() + ":2: prompt: ", "10485760 characters (10485760 bytes); juhuo accepts at most 20000"));
  // vibegen documents 2000 characters (code points, not bytes).
  const std::string cjk_2000 = [] {
    std::string s;
    for (int i = 0; i < 2000; ++i) s += "猫";
    return s;
  }();
  const auto v = dir.write("v.csv", "id,provider,model,prompt\nv1,vibe,seedance 2.0," + cjk_2000 + "\nv2,vibe,seedance 2.0," +
                                        cjk_2000 + "x\n");
  const auto rv = ingest_manifests(cfg, store, {v});
  EXPECT_EQ(rv.added, 1) << joined(rv.errors);
  EXPECT_TRUE(has_error(rv, v.string() + ":3: prompt: ", "2001"));
  EXPECT_EQ(find_provider_kind("vibegen")->prompt_limit.max_chars, 2000u);
  EXPECT_NE(check_prompt_length(*find_provider_kind("seedance2"), std::string(20001, 'x')), std::nullopt);
  EXPECT_EQ(check_prompt_length(*find_provider_kind("seedance2"), std::string(20000, 'x')), std::nullopt);
}

TEST(IngestPrepay, Case10_SymlinkToEtcPasswdOutsideRootsRefused) {
  TempDir dir;
  dir.write("assets/real.png", kPng);
  fs::create_symlink("/etc/passwd", dir.path / "assets" / "face.png");
  fs::create_symlink(dir.path / "assets" / "real.png", dir.path / "assets" / "link.png");
  const Config cfg = make_config(dir, "[ingest]\nallowed_roots = [\"assets\"]\n");
  ASSERT_EQ(cfg.allowed_roots, std::vector<fs::path>{dir.path / "assets"});
  SqliteJobStore store(cfg.storage_path);
  const auto outside = dir.write("outside.png", kPng);
  const auto m = dir.write("m.csv", "id,prompt,images\n"
                                    "a,x,assets/face.png\n"
                                    "b,x,outside.png\n"
                                    "c,x,assets/link.png\n");
  const auto report = ingest_manifests(cfg, store, {m});
  EXPECT_EQ(report.added, 1) << joined(report.errors);
  EXPECT_TRUE(has_error(report, m.string() + ":2: images: ", "resolves to /etc/passwd) is outside the allowed roots"));
  EXPECT_TRUE(has_error(report, m.string() + ":3: images: ", outside.string() + " is outside the allowed roots"));
  // A symlink inside the roots is accepted, and the row keeps its target.
  const auto c = store.find_job("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->spec.images.at(0).location, (dir.path / "assets" / "real.png").string());

  // Without allowed_roots, /etc/passwd is still refused: it is no image.
  ManifestOptions o;
  o.default_provider = "juhuo";
  const auto m2 = parse_manifest_csv("prompt,images\nx,assets/face.png\n", "m.csv", dir.path, o);
  ASSERT_EQ(m2.errors.size(), 1u);
  EXPECT_NE(m2.errors[0].reason.find("content is not a recognised image file"), std::string::npos)
      << m2.errors[0].reason;
}

TEST(IngestPrepay, Case10_FifoAssetRefused) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path / "pipe.png").c_str(), 0600), 0);
  ManifestOptions o;
  o.default_provider = "juhuo";
  const auto m = parse_manifest_csv("prompt,images\nx,pipe.png\ny,/dev/null\nz,Dir=.\n", "m.csv", dir.path, o);
  ASSERT_EQ(m.errors.size(), 3u);
  EXPECT_EQ(m.errors[0].to_string(),
            "m.csv:2: images: not a regular file: " + (dir.path / "pipe.png").string() + " is a FIFO (named pipe)");
  EXPECT_EQ(m.errors[1].to_string(), "m.csv:3: images: not a regular file: /dev/null is a character device");
  EXPECT_NE(m.errors[2].reason.find("is a folder"), std::string::npos);
}

TEST(IngestPrepay, Case10_ContentTypeSniffedFromTheBytes) {
  TempDir dir;
  dir.write("jpeg.png", kJpeg);
  dir.write("text.png", "hello, I am not an image");
  dir.write("empty.jpg", "");
  dir.write("photo.jpg", kJpeg);
  dir.write("noext", kPng);
  dir.write("clip.mp4", "\0\0\0\x18" "ftypisom\0\0\x02\0isommp42"s);
  ManifestOptions o;
  o.default_provider = "juhuo";
  const auto m = parse_manifest_csv("prompt,images,videos\n"
                                    "a,jpeg.png,\n"
                                    "b,text.png,\n"
                                    "c,empty.jpg,\n"
                                    "d,photo.jpg;noext,clip.mp4\n"
                                    "e,clip.mp4,\n"
                                    "f,,photo.jpg\n",
                                    "m.csv", dir.path, o);
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].line, 5);
  ASSERT_EQ(m.errors.size(), 5u);
  EXPECT_NE(m.errors[0].reason.find("the extension .png says image/png but the content is image/jpeg"),
            std::string::npos)
      << m.errors[0].reason;
  EXPECT_NE(m.errors[1].reason.find("not a recognised image file (first bytes 68 65 6c 6c"), std::string::npos)
      << m.errors[1].reason;
  EXPECT_NE(m.errors[2].reason.find("an empty file"), std::string::npos) << m.errors[2].reason;
  EXPECT_NE(m.errors[3].reason.find("images takes image files, this is video/mp4"), std::string::npos)
      << m.errors[3].reason;
  EXPECT_NE(m.errors[4].reason.find("videos takes video files, this is image/jpeg"), std::string::npos)
      << m.errors[4].reason;
}

TEST(IngestPrepay, Case10_SniffTable) {
  using kit::sniff_content_type;
  EXPECT_EQ(sniff_content_type(kPng), "image/png");
  EXPECT_EQ(sniff_content_type(kJpeg), "image/jpeg");
  EXPECT_EQ(sniff_content_type("GIF89a.."), "image/gif");
  EXPECT_EQ(sniff_content_type("RIFF\x10\0\0\0WEBPVP8 "s), "image/webp");
  EXPECT_EQ(sniff_content_type("RIFF\x10\0\0\0WAVEfmt "s), "audio/wav");
  EXPECT_EQ(sniff_content_type("\0\0\0\x18" "ftypisom"s), "video/mp4");
  EXPECT_EQ(sniff_content_type("\0\0\0\x14" "ftypqt  "s), "video/quicktime");
  EXPECT_EQ(sniff_content_type("\0\0\0\x08" "wide"s), "video/quicktime");
  EXPECT_EQ(sniff_content_type("\0\0\0\x18" "ftypM4A "s), "audio/mp4");
  EXPECT_EQ(sniff_content_type("\x1A\x45\xDF\xA3\x9F\x42\x82\x84webm"s), "video/webm");
  EXPECT_EQ(sniff_content_type("\x1A\x45\xDF\xA3\x9F\x42\x82\x88matroska"s), "video/x-matroska");
  EXPECT_EQ(sniff_content_type("ID3\x04\0"s), "audio/mpeg");
  EXPECT_EQ(sniff_content_type("\xFF\xFB\x90\x00"s), "audio/mpeg");
  EXPECT_EQ(sniff_content_type("\xFF\xF1\x50\x80"s), "audio/aac");
  EXPECT_EQ(sniff_content_type("OggS\0"s), "audio/ogg");
  EXPECT_EQ(sniff_content_type("fLaC"), "audio/flac");
  EXPECT_EQ(sniff_content_type("<!DOCTYPE html>"), std::nullopt);
  EXPECT_EQ(sniff_content_type("root:x:0:0:root:/root:/bin/bash"), std::nullopt);
  EXPECT_EQ(sniff_content_type(""), std::nullopt);
  EXPECT_TRUE(kit::media_types_agree("video/quicktime", "video/mp4"));
  EXPECT_TRUE(kit::media_types_agree("audio/mp4", "video/mp4"));
  EXPECT_FALSE(kit::media_types_agree("image/png", "image/jpeg"));
  EXPECT_EQ(kit::media_type_for_extension("a.M4A"), "audio/mp4");
  EXPECT_EQ(kit::media_type_for_extension("a.txt"), std::nullopt);
}

}  // namespace
}  // namespace reelbatch
