// Unit tests: the CSV reader, manifest parsing (CSV and JSONL) and the
// canonical job spec JSON.
#include "src/core/job_spec.hpp"
#include "src/ingest/csv.hpp"
#include "src/ingest/manifest.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

// ------------------------------------------------------------------ helpers

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("reelbatch-manifest-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // A file at `rel`; without `content`, the first bytes of a file of the
  // type its extension names (assets are sniffed at ingest).
  fs::path touch(const std::string& rel, std::optional<std::string> content = std::nullopt) const {
    const fs::path p = path / fs::path(rel);
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << (content ? *content : media_head(p.extension().string()));
    return p;
  }
  static std::string media_head(const std::string& ext) {
    using namespace std::string_literals;
    if (ext == ".png") return "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s;
    if (ext == ".jpg" || ext == ".jpeg") return "\xFF\xD8\xFF\xE0\0\x10JFIF"s;
    if (ext == ".webp") return "RIFF\x10\0\0\0WEBPVP8 "s;
    if (ext == ".gif") return "GIF89a\x01\0\x01\0"s;
    if (ext == ".mp4") return "\0\0\0\x18" "ftypisom\0\0\x02\0isommp42"s;
    if (ext == ".mov") return "\0\0\0\x14" "ftypqt  \0\0\x02\0qt  "s;
    if (ext == ".webm") return "\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm"s;
    if (ext == ".mp3") return "ID3\x04\0\0\0\0\0\0"s;
    if (ext == ".wav") return "RIFF\x24\0\0\0WAVEfmt "s;
    if (ext == ".m4a") return "\0\0\0\x18" "ftypM4A \0\0\x02\0isom"s;
    return "x";
  }
};

ManifestOptions default_juhuo() {
  ManifestOptions o;
  o.default_provider = "juhuo";
  return o;
}

Manifest csv(std::string_view text, const fs::path& base = fs::temp_directory_path(),
             const ManifestOptions& opts = default_juhuo()) {
  return parse_manifest_csv(text, "m.csv", base, opts);
}

Manifest jsonl(std::string_view text, const fs::path& base = fs::temp_directory_path(),
               const ManifestOptions& opts = default_juhuo()) {
  return parse_manifest_jsonl(text, "m.jsonl", base, opts);
}

std::string all_errors(const Manifest& m) {
  std::string s;
  for (const auto& e : m.errors) s += e.to_string() + "\n";
  return s;
}

// The one error of `m`; fails the test when there is not exactly one.
RowError only_error(const Manifest& m) {
  EXPECT_EQ(m.errors.size(), 1u) << all_errors(m);
  return m.errors.empty() ? RowError{} : m.errors.front();
}

// -------------------------------------------------------------- CSV reader

TEST(Csv, PlainRecordsWithLineNumbers) {
  const auto d = parse_csv("a,b,c\n1,2,3\n");
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.records[0].line, 1);
  EXPECT_EQ(d.records[1].fields, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(d.records[1].line, 2);
}

TEST(Csv, QuotedCommasAndDoubledQuotes) {
  const auto d = parse_csv("x,\"a, b\",\"say \"\"hi\"\"\",\"\"\n");
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].fields, (std::vector<std::string>{"x", "a, b", "say \"hi\"", ""}));
}

TEST(Csv, NewlinesInsideQuotesAreDataAndCountLines) {
  const auto d = parse_csv("h1,h2\n1,\"line a\nline b\"\n2,\"c\r\nd\rE\"\n3,x\n");
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.records.size(), 4u);
  EXPECT_EQ(d.records[1].fields[1], "line a\nline b");
  EXPECT_EQ(d.records[1].line, 2);
  EXPECT_EQ(d.records[2].fields[1], "c\r\nd\rE");
  EXPECT_EQ(d.records[2].line, 4);  // spans lines 4, 5 and 6
  EXPECT_EQ(d.records[3].line, 7);
}

TEST(Csv, CrlfRecordEndsBomAndBlankLines) {
  const auto d = parse_csv("\xEF\xBB\xBFid,prompt\r\n\r\na,b\r\n\nc,d");
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.records.size(), 3u);
  EXPECT_EQ(d.records[0].fields[0], "id");  // the BOM is gone
  EXPECT_EQ(d.records[1].fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.records[1].line, 3);
  EXPECT_EQ(d.records[2].fields, (std::vector<std::string>{"c", "d"}));  // no final line break
  EXPECT_EQ(d.records[2].line, 5);
}

TEST(Csv, EmptyFieldsAndTrailingComma) {
  const auto d = parse_csv(",,\na,\n");
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[0].fields, (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(d.records[1].fields, (std::vector<std::string>{"a", ""}));
}

TEST(Csv, LenientQuotesAndBlanksAroundQuotedFields) {
  const auto d = parse_csv("5\" screen, \"a,b\" ,c\n");
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].fields, (std::vector<std::string>{"5\" screen", "a,b", "c"}));
}

TEST(Csv, TextAfterClosingQuoteIsAnErrorAndReadingGoesOn) {
  const auto d = parse_csv("a,b\n1,\"x\"y\n2,\"multi\nline\"z,w\n3,ok\n");
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].line, 2);
  EXPECT_EQ(d.errors[0].error_line, 2);
  EXPECT_EQ(d.errors[0].reason, "text after closing quote");
  EXPECT_EQ(d.errors[1].line, 3);
  EXPECT_EQ(d.errors[1].error_line, 4);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[1].fields, (std::vector<std::string>{"3", "ok"}));
  EXPECT_EQ(d.records[1].line, 5);
}

TEST(Csv, UnterminatedQuoteReportsItsLineAndResumesAfterIt) {
  const auto d = parse_csv("a,b\n1,\"open\n2,fine\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line, 2);
  EXPECT_EQ(d.errors[0].error_line, 2);
  EXPECT_NE(d.errors[0].reason.find("unterminated"), std::string::npos);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[1].fields, (std::vector<std::string>{"2", "fine"}));
  EXPECT_EQ(d.records[1].line, 3);
}

TEST(Csv, EmptyInput) {
  EXPECT_TRUE(parse_csv("").records.empty());
  EXPECT_TRUE(parse_csv("\xEF\xBB\xBF").records.empty());
  EXPECT_TRUE(parse_csv("\n\r\n").records.empty());
}

// --------------------------------------------------------------- job spec

TEST(JobSpec, CanonicalJsonHasFixedKeysAndOrder) {
  JobSpec s;
  s.id = "a";
  s.prompt = "p";
  s.params["z"] = 1;
  s.params["a"] = json::object{{"y", 1}, {"b", 2}};
  const auto text = json::serialize(to_json(s));
  EXPECT_EQ(text,
            "{\"id\":\"a\",\"provider\":\"\",\"model\":\"\",\"prompt\":\"p\",\"duration\":null,\"resolution\":\"\","
            "\"aspect_ratio\":\"\",\"audio\":null,\"seed\":null,\"images\":[],\"videos\":[],\"audios\":[],"
            "\"priority\":0,\"output\":\"\",\"params\":{\"a\":{\"b\":2,\"y\":1},\"z\":1}}");
}

TEST(JobSpec, JsonRoundTrip) {
  JobSpec s;
  s.id = "row-1";
  s.provider = "juhuo";
  s.model = "seedance-2.0";
  s.prompt = "a fox\nin snow";
  s.duration_s = 8;
  s.resolution = "720p";
  s.aspect_ratio = "16:9";
  s.audio = false;
  s.seed = -42;
  s.images = {{"Sky", "/abs/sky.png"}, {"Web", "https://x.test/a.png"}};
  s.videos = {{"V", "/abs/v.mp4"}};
  s.audios = {{"A", "/abs/a.mp3"}};
  s.priority = 3;
  s.output = "fox";
  s.params["watermark"] = false;
  const JobSpec back = job_spec_from_json(to_json(s));
  EXPECT_EQ(json::serialize(to_json(back)), json::serialize(to_json(s)));
  EXPECT_EQ(back.images, s.images);
  EXPECT_EQ(back.seed, s.seed);
  EXPECT_EQ(back.audio, s.audio);
}

TEST(JobSpec, FromJsonRejectsWrongTypes) {
  EXPECT_THROW(job_spec_from_json(json::parse(R"({"id": 5})").as_object()), std::invalid_argument);
  EXPECT_THROW(job_spec_from_json(json::parse(R"({"duration": "8"})").as_object()), std::invalid_argument);
  EXPECT_THROW(job_spec_from_json(json::parse(R"({"images": [{"name": "a"}]})").as_object()), std::invalid_argument);
  EXPECT_THROW(job_spec_from_json(json::parse(R"({"params": []})").as_object()), std::invalid_argument);
}

TEST(JobSpec, IsUrlAndOutputStem) {
  EXPECT_TRUE((AssetRef{"a", "https://x.test/a.png"}.is_url()));
  EXPECT_TRUE((AssetRef{"a", "http://x.test/a.png"}.is_url()));
  EXPECT_FALSE((AssetRef{"a", "/tmp/https://x"}.is_url()));
  JobSpec s;
  s.id = "id/with\\sep";
  EXPECT_EQ(output_stem(s), "id_with_sep");
  s.output = "out\x01name";
  EXPECT_EQ(output_stem(s), "out_name");
  s.output = "..";
  EXPECT_EQ(output_stem(s), "___");
}

// ------------------------------------------------------------ CSV manifests

TEST(ManifestCsv, NormalizesEveryField) {
  TempDir dir;
  dir.touch("refs/sky.png");
  dir.touch("a.mp4");
  dir.touch("a.mp3");
  const auto m = csv(
      "ID , Provider,MODEL,prompt,duration,resolution,aspect_ratio,audio,seed,images,videos,audios,priority,output\n"
      "row-1,juhuo,seedance-2.0,\"  A fox, in snow  \",8s,720p,16:9,Yes,-7,Sky=refs/sky.png,a.mp4,Voice=a.mp3,5,fox\n",
      dir.path);
  ASSERT_TRUE(m.errors.empty()) << all_errors(m);
  ASSERT_EQ(m.rows.size(), 1u);
  const auto& r = m.rows[0];
  EXPECT_EQ(r.file, "m.csv");
  EXPECT_EQ(r.line, 2);
  EXPECT_EQ(r.spec.id, "row-1");
  EXPECT_EQ(r.spec.provider, "juhuo");
  EXPECT_EQ(r.spec.model, "seedance-2.0");
  EXPECT_EQ(r.spec.prompt, "A fox, in snow");
  EXPECT_EQ(r.spec.duration_s, 8);
  EXPECT_EQ(r.spec.resolution, "720p");
  EXPECT_EQ(r.spec.aspect_ratio, "16:9");
  EXPECT_EQ(r.spec.audio, true);
  EXPECT_EQ(r.spec.seed, -7);
  ASSERT_EQ(r.spec.images.size(), 1u);
  EXPECT_EQ(r.spec.images[0], (AssetRef{"Sky", (dir.path / "refs" / "sky.png").lexically_normal().string()}));
  ASSERT_EQ(r.spec.videos.size(), 1u);
  EXPECT_EQ(r.spec.videos[0].name, "Video 1");
  EXPECT_EQ(r.spec.audios[0].name, "Voice");
  EXPECT_EQ(r.spec.priority, 5);
  EXPECT_EQ(r.spec.output, "fox");
  EXPECT_EQ(r.content_hash.size(), 64u);
}

TEST(ManifestCsv, EmptyCellsAreUnsetAndDefaultProviderApplies) {
  const auto m = csv("id,provider,prompt,duration,audio,seed,priority\n,,hello,,,,\n");
  ASSERT_TRUE(m.errors.empty()) << all_errors(m);
  ASSERT_EQ(m.rows.size(), 1u);
  const auto& s = m.rows[0].spec;
  EXPECT_EQ(s.provider, "juhuo");
  EXPECT_FALSE(s.duration_s);
  EXPECT_FALSE(s.audio);
  EXPECT_FALSE(s.seed);
  EXPECT_EQ(s.priority, 0);
  EXPECT_EQ(s.id.size(), 21u);
  EXPECT_EQ(s.id, "r" + m.rows[0].content_hash.substr(0, 20));
}

TEST(ManifestCsv, QuotedMultilinePromptsCrlfAndBom) {
  const std::string text =
      "\xEF\xBB\xBFid,prompt,duration\r\n"
      "a,\"first line\r\nsecond, with comma\r\nthird \"\"quoted\"\"\",5\r\n"
      "b,plain,6\r\n";
  const auto m = csv(text);
  ASSERT_TRUE(m.errors.empty()) << all_errors(m);
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].spec.prompt, "first line\nsecond, with comma\nthird \"quoted\"");
  EXPECT_EQ(m.rows[0].line, 2);
  EXPECT_EQ(m.rows[1].line, 5);
  EXPECT_EQ(m.rows[1].spec.duration_s, 6);
  // The same manifest with LF line ends gives the same content.
  std::string lf;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) lf += text[i];
  const auto m2 = csv(lf);
  ASSERT_EQ(m2.rows.size(), 2u);
  EXPECT_EQ(m2.rows[0].content_hash, m.rows[0].content_hash);
}

TEST(ManifestCsv, BadRowsAreReportedWithFileLineFieldAndGoodRowsSurvive) {
  const auto m = csv(
      "id,prompt,duration,audio,aspect_ratio,seed,priority,output\n"
      "ok-1,fine,8,true,16:9,1,0,\n"
      "bad-dur,\"multi\nline\",zero,true,16:9,1,0,\n"
      "bad-audio,x,5,maybe,16:9,1,0,\n"
      "bad-ratio,x,5,true,16x9,1,0,\n"
      "bad-seed,x,5,true,16:9,1.5,0,\n"
      "bad-prio,x,5,true,16:9,1,high,\n"
      "bad-out,x,5,true,16:9,1,0,../escape\n"
      "no-prompt,,5,true,16:9,1,0,\n"
      "neg,x,-3,true,16:9,1,0,\n"
      "ok-2,fine too,4,off,adaptive,,,\n");
  ASSERT_EQ(m.rows.size(), 2u) << all_errors(m);
  EXPECT_EQ(m.rows[0].spec.id, "ok-1");
  EXPECT_EQ(m.rows[1].spec.id, "ok-2");
  EXPECT_EQ(m.rows[1].line, 12);
  EXPECT_EQ(m.rows[1].spec.aspect_ratio, "adaptive");
  EXPECT_EQ(m.rows[1].spec.audio, false);
  ASSERT_EQ(m.errors.size(), 8u) << all_errors(m);
  EXPECT_EQ(m.errors[0].to_string().rfind("m.csv:3: duration: ", 0), 0u) << m.errors[0].to_string();
  EXPECT_EQ(m.errors[1].to_string().rfind("m.csv:5: audio: ", 0), 0u) << m.errors[1].to_string();
  EXPECT_EQ(m.errors[2].to_string().rfind("m.csv:6: aspect_ratio: ", 0), 0u);
  EXPECT_EQ(m.errors[3].to_string().rfind("m.csv:7: seed: ", 0), 0u);
  EXPECT_EQ(m.errors[4].to_string().rfind("m.csv:8: priority: ", 0), 0u);
  EXPECT_EQ(m.errors[5].to_string().rfind("m.csv:9: output: ", 0), 0u);
  EXPECT_EQ(m.errors[6].to_string(), "m.csv:10: prompt: required, must not be empty");
  EXPECT_EQ(m.errors[7].to_string().rfind("m.csv:11: duration: ", 0), 0u);
}

TEST(ManifestCsv, SeveralBadFieldsInOneRowAreAllReported) {
  const auto m = csv("id,prompt,duration,audio\nx,,0,maybe\n");
  EXPECT_TRUE(m.rows.empty());
  ASSERT_EQ(m.errors.size(), 3u) << all_errors(m);
  for (const auto& e : m.errors) EXPECT_EQ(e.line, 2);
}

TEST(ManifestCsv, SyntaxErrorsAndFieldCountAreRowErrors) {
  const auto m = csv(
      "id,prompt,duration\n"
      "a,\"bad\"quote,5\n"
      "b,unquoted, comma,5\n"
      "c,too few\n"
      "d,trailing commas are fine,5,,\n"
      "e,\"never closed,5\n"
      "f,after the bad quote,5\n");
  std::vector<std::string> ids;
  for (const auto& r : m.rows) ids.push_back(r.spec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"d", "f"})) << all_errors(m);
  ASSERT_EQ(m.errors.size(), 4u) << all_errors(m);
  EXPECT_EQ(m.errors[0].line, 2);
  EXPECT_EQ(m.errors[0].field, "(row)");
  EXPECT_NE(m.errors[0].reason.find("text after closing quote"), std::string::npos);
  EXPECT_EQ(m.errors[1].line, 3);
  EXPECT_NE(m.errors[1].reason.find("expected 3 fields"), std::string::npos) << m.errors[1].reason;
  EXPECT_EQ(m.errors[2].line, 4);
  EXPECT_EQ(m.errors[3].line, 6);
  EXPECT_NE(m.errors[3].reason.find("unterminated"), std::string::npos);
}

TEST(ManifestCsv, LineOfRecordsAfterMultilineRecordsAndBlankLines) {
  const auto m = csv("id,prompt\n\na,\"1\n2\n3\"\n\n\nb,\"x\"y\nc,ok\n");
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].line, 3);
  EXPECT_EQ(m.rows[1].line, 9);
  EXPECT_EQ(only_error(m).to_string().rfind("m.csv:8: (row): CSV syntax error: text after closing quote", 0), 0u);
}

TEST(ManifestCsv, FileLevelErrors) {
  auto message = [](std::string_view text, const ManifestOptions& o = default_juhuo()) -> std::string {
    try {
      parse_manifest_csv(text, "m.csv", fs::temp_directory_path(), o);
    } catch (const ManifestError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(message("id,prompt,colour\n"),
            "m.csv:1: unknown column 'colour'; known columns: id, provider, model, prompt, duration, resolution, "
            "aspect_ratio, audio, seed, images, videos, audios, priority, output, param.<key>");
  EXPECT_NE(message("\nid,prompt,duraton\n").find("m.csv:2: unknown column 'duraton' (did you mean 'duration'?)"),
            std::string::npos);
  EXPECT_NE(message("id,prompt,ID\n").find("m.csv:1: duplicate column 'ID'"), std::string::npos);
  EXPECT_NE(message("id,,prompt\n").find("m.csv:1: column 2"), std::string::npos);
  EXPECT_NE(message("id,duration\n").find("m.csv:1: missing required column 'prompt'"), std::string::npos);
  EXPECT_NE(message("prompt\nx\n", ManifestOptions{}).find("m.csv:1: missing column 'provider'"), std::string::npos);
  EXPECT_NE(message("").find("m.csv:1: empty manifest"), std::string::npos);
  EXPECT_NE(message("\"id,prompt\n").find("m.csv:1: bad header row"), std::string::npos);
  EXPECT_NE(message("id,param.\n").find("empty parameter name"), std::string::npos);
  EXPECT_NE(message("prompt,params\n").find("unknown column 'params' (in CSV, give each parameter its own param.<key>"),
            std::string::npos);
  // Trailing commas in the header are not columns.
  EXPECT_EQ(message("id,prompt,,\na,b,,\n"), "(no error)");
}

TEST(ManifestCsv, ProviderRequiredWithoutDefault) {
  const auto m = csv("provider,prompt\njuhuo,a\n,b\n", fs::temp_directory_path(), ManifestOptions{});
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].spec.provider, "juhuo");
  EXPECT_EQ(only_error(m).to_string(), "m.csv:3: provider: required (no default provider is configured)");
}

TEST(ManifestCsv, ParamColumns) {
  const auto m = csv(
      "prompt,param.watermark,param.Camera_Fixed,param.cfg,param.tags,param.opts,param.name,param.zip,param.empty\n"
      "x,false,TRUE,7.5,\"[1,2]\",\"{\"\"a\"\":1}\",plain text,007,\n");
  ASSERT_TRUE(m.errors.empty()) << all_errors(m);
  ASSERT_EQ(m.rows.size(), 1u);
  const auto& p = m.rows[0].spec.params;
  EXPECT_EQ(p.at("watermark"), json::value(false));
  EXPECT_EQ(p.at("Camera_Fixed"), json::value("TRUE"));  // not JSON, so a string; key case kept
  EXPECT_EQ(p.at("cfg"), json::value(7.5));
  EXPECT_EQ(p.at("tags"), json::parse("[1,2]"));
  EXPECT_EQ(p.at("opts"), json::parse(R"({"a":1})"));
  EXPECT_EQ(p.at("name"), json::value("plain text"));
  EXPECT_EQ(p.at("zip"), json::value("007"));
  EXPECT_FALSE(p.contains("empty"));
}

TEST(ManifestCsv, AssetListsAndPathResolution) {
  TempDir dir;
  const auto a = dir.touch("imgs/a.png");
  const auto b = dir.touch("b b.jpg");
  const auto c = dir.touch("橘猫.webp");
  const auto abs = dir.touch("elsewhere/abs.png");
  const auto m = csv("id,prompt,images\n"
                     "r1,x,\"A=imgs/a.png; B = b b.jpg ;橘猫=./imgs/../橘猫.webp;\"\n"
                     "r2,x,imgs/a.png;https://cdn.test/p.png?sig=a=b;HTTPS://cdn.test/q.png\n"
                     "r3,x,Abs=" + abs.string() + "\n"
                     "r4,x,Sky=missing.png\n"
                     "r5,x,A=imgs/a.png;A=b b.jpg\n"
                     "r6,x,Dir=imgs\n"
                     "r7,x,=imgs/a.png\n",
                     dir.path);
  ASSERT_EQ(m.rows.size(), 3u) << all_errors(m);
  const auto& i1 = m.rows[0].spec.images;
  ASSERT_EQ(i1.size(), 3u);
  EXPECT_EQ(i1[0], (AssetRef{"A", a.string()}));
  EXPECT_EQ(i1[1], (AssetRef{"B", b.string()}));
  EXPECT_EQ(i1[2], (AssetRef{"橘猫", c.string()}));
  EXPECT_FALSE(i1[0].is_url());
  const auto& i2 = m.rows[1].spec.images;
  ASSERT_EQ(i2.size(), 3u);
  EXPECT_EQ(i2[0], (AssetRef{"Image 1", a.string()}));
  EXPECT_EQ(i2[1], (AssetRef{"Image 2", "https://cdn.test/p.png?sig=a=b"}));
  EXPECT_EQ(i2[2], (AssetRef{"Image 3", "https://cdn.test/q.png"}));
  EXPECT_TRUE(i2[2].is_url());
  EXPECT_EQ(m.rows[2].spec.images[0].location, abs.string());

  ASSERT_EQ(m.errors.size(), 4u) << all_errors(m);
  EXPECT_EQ(m.errors[0].to_string(), "m.csv:5: images: file not found: " + (dir.path / "missing.png").string());
  EXPECT_EQ(m.errors[1].to_string(), "m.csv:6: images: duplicate asset name 'A'");
  EXPECT_EQ(m.errors[2].to_string(),
            "m.csv:7: images: not a regular file: " + (dir.path / "imgs").string() + " is a folder");
  EXPECT_EQ(m.errors[3].line, 8);
  EXPECT_NE(m.errors[3].reason.find("empty name"), std::string::npos);
}

TEST(ManifestCsv, AssetNamesMustBeUniqueAcrossLists) {
  TempDir dir;
  dir.touch("a.png");
  dir.touch("a.mp4");
  const auto m = csv("prompt,images,videos\nx,Ref=a.png,Ref=a.mp4\n", dir.path);
  EXPECT_EQ(only_error(m).to_string(), "m.csv:2: videos: duplicate asset name 'Ref'");
}

TEST(ManifestCsv, DerivedIdsAreStableAndEqualForIdenticalRows) {
  const std::string text = "prompt,duration,provider\nsame,5,juhuo\nother,5,juhuo\n";
  const auto m1 = csv(text);
  const auto m2 = csv(text);
  ASSERT_EQ(m1.rows.size(), 2u);
  EXPECT_EQ(m1.rows[0].spec.id, m2.rows[0].spec.id);
  EXPECT_EQ(m1.rows[0].content_hash, m2.rows[0].content_hash);
  EXPECT_NE(m1.rows[0].spec.id, m1.rows[1].spec.id);
  EXPECT_EQ(m1.rows[0].spec.id[0], 'r');
  // Cosmetic differences (case of words, spacing, "5" vs "5s", column order) do not matter.
  const auto m3 = csv("Duration ,PROMPT,provider\n5s,  same ,juhuo\n");
  ASSERT_EQ(m3.rows.size(), 1u);
  EXPECT_EQ(m3.rows[0].spec.id, m1.rows[0].spec.id);
  // An explicit id does not change the content hash.
  const auto m4 = csv("id,prompt,duration\nmine,same,5\n");
  EXPECT_EQ(m4.rows[0].content_hash, m1.rows[0].content_hash);
  EXPECT_EQ(m4.rows[0].spec.id, "mine");
  // The hash covers the content: a different duration gives another one.
  const auto m5 = csv("prompt,duration\nsame,6\n");
  EXPECT_NE(m5.rows[0].content_hash, m1.rows[0].content_hash);
}

TEST(ManifestCsv, DuplicateIds) {
  const auto m = csv("id,prompt\na,one\nb,two\na,three\nsame-as-derived,x\n,identical\n,identical\n");
  ASSERT_EQ(m.rows.size(), 4u) << all_errors(m);
  ASSERT_EQ(m.errors.size(), 2u) << all_errors(m);
  EXPECT_EQ(m.errors[0].to_string(), "m.csv:4: id: duplicate id, first used on line 2");
  EXPECT_EQ(m.errors[1].line, 7);
  EXPECT_EQ(m.errors[1].field, "id");
  EXPECT_EQ(m.errors[1].reason.rfind("duplicate id, first used on line 6", 0), 0u);
}

TEST(ManifestCsv, IdValidation) {
  const auto m = csv("id,prompt\n" + std::string(129, 'x') + ",p\n" + std::string(128, 'y') + ",p\n\"a\tb\",p\n");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].spec.id, std::string(128, 'y'));
  ASSERT_EQ(m.errors.size(), 2u);
  EXPECT_EQ(m.errors[0].field, "id");
  EXPECT_EQ(m.errors[1].field, "id");
}

TEST(ManifestCsv, InvalidUtf8IsReported) {
  const auto m = csv("id,prompt\na,\xD6\xD0\xCE\xC4\n");  // GBK, as saved by some spreadsheets
  EXPECT_EQ(only_error(m).to_string(), "m.csv:2: prompt: not valid UTF-8 (save the manifest as UTF-8)");
}

TEST(ManifestCsv, RowsOfOnlyCommasAreSkipped) {
  const auto m = csv("id,prompt\n,\n , \na,b\n");
  EXPECT_TRUE(m.errors.empty()) << all_errors(m);
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].line, 4);
}

// ---------------------------------------------------------- JSONL manifests

TEST(ManifestJsonl, GoodAndBadLines) {
  TempDir dir;
  const auto a = dir.touch("a.png");
  const std::string text =
      "\xEF\xBB\xBF{\"id\":\"j1\",\"prompt\":\"one\",\"duration\":8,\"resolution\":720,\"audio\":true,"
      "\"images\":[{\"name\":\"A\",\"path\":\"a.png\"},\"https://x.test/b.png\"],\"params\":{\"watermark\":false}}\r\n"
      "\n"
      "   \n"
      "[1,2]\n"
      "{\"prompt\": \"two\", \"duration\": \"5s\", \"seed\": 9007199254740993, \"priority\": -2}\n"
      "{not json\n"
      "{\"prompt\": \"three\", \"colour\": \"red\"}\n"
      "{\"prompt\": 5}\n"
      "{\"prompt\": \"four\", \"images\": {\"Sky\": \"a.png\"}, \"videos\": [{\"name\": \"V\", \"url\": \"ftp://x\"}]}\n"
      "{\"prompt\": \"five\", \"images\": {\"Sky\": \"a.png\"}, \"duration\": 6.0, \"aspect_ratio\": \"Keep_Ratio\"}";
  const auto m = jsonl(text, dir.path);
  ASSERT_EQ(m.rows.size(), 3u) << all_errors(m);
  const auto& r1 = m.rows[0];
  EXPECT_EQ(r1.line, 1);
  EXPECT_EQ(r1.file, "m.jsonl");
  EXPECT_EQ(r1.spec.id, "j1");
  EXPECT_EQ(r1.spec.provider, "juhuo");
  EXPECT_EQ(r1.spec.duration_s, 8);
  EXPECT_EQ(r1.spec.resolution, "720");
  EXPECT_EQ(r1.spec.audio, true);
  ASSERT_EQ(r1.spec.images.size(), 2u);
  EXPECT_EQ(r1.spec.images[0], (AssetRef{"A", a.string()}));
  EXPECT_EQ(r1.spec.images[1], (AssetRef{"Image 2", "https://x.test/b.png"}));
  EXPECT_EQ(r1.spec.params.at("watermark"), json::value(false));

  const auto& r2 = m.rows[1];
  EXPECT_EQ(r2.line, 5);
  EXPECT_EQ(r2.spec.duration_s, 5);
  EXPECT_EQ(r2.spec.seed, 9007199254740993LL);
  EXPECT_EQ(r2.spec.priority, -2);

  const auto& r3 = m.rows[2];
  EXPECT_EQ(r3.line, 10);
  EXPECT_EQ(r3.spec.duration_s, 6);
  EXPECT_EQ(r3.spec.aspect_ratio, "keep_ratio");
  EXPECT_EQ(r3.spec.images[0], (AssetRef{"Sky", a.string()}));

  ASSERT_EQ(m.errors.size(), 5u) << all_errors(m);
  EXPECT_EQ(m.errors[0].to_string(), "m.jsonl:4: (row): expected a JSON object, got an array");
  EXPECT_EQ(m.errors[1].to_string().rfind("m.jsonl:6: (row): invalid JSON", 0), 0u);
  EXPECT_EQ(m.errors[2].to_string().rfind("m.jsonl:7: colour: unknown field", 0), 0u);
  EXPECT_EQ(m.errors[3].to_string(), "m.jsonl:8: prompt: expected a string, got a number");
  EXPECT_EQ(m.errors[4].to_string().rfind("m.jsonl:9: videos: item 1: url must start with http", 0), 0u);
}

TEST(ManifestJsonl, NullsAreUnsetAndTypesAreChecked) {
  const auto m = jsonl(
      "{\"prompt\":\"a\",\"duration\":null,\"audio\":null,\"params\":null}\n"
      "{\"prompt\":\"b\",\"audio\":\"maybe\",\"params\":[1],\"images\":5,\"seed\":1.5}\n");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_FALSE(m.rows[0].spec.duration_s);
  ASSERT_EQ(m.errors.size(), 4u) << all_errors(m);
  for (const auto& e : m.errors) EXPECT_EQ(e.line, 2);
}

TEST(ManifestJsonl, SameRowAsCsvGivesSameIdentity) {
  const auto c = csv("prompt,duration,audio,param.watermark,param.seedish\nhello,5,yes,false,3\n");
  const auto j = jsonl(R"({"prompt":"hello","duration":"5","audio":true,"params":{"seedish":3,"watermark":false}})");
  ASSERT_EQ(c.rows.size(), 1u);
  ASSERT_EQ(j.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].content_hash, j.rows[0].content_hash);
  EXPECT_EQ(c.rows[0].spec.id, j.rows[0].spec.id);
}

TEST(ManifestJsonl, NumericIdsAreTakenAsText) {
  const auto m = jsonl("{\"id\":17,\"prompt\":\"a\"}\n{\"id\":1.5,\"prompt\":\"b\"}\n");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.rows[0].spec.id, "17");
  EXPECT_EQ(only_error(m).to_string(), "m.jsonl:2: id: expected a string, got a number");
}

TEST(ManifestJsonl, DuplicateIds) {
  const auto m = jsonl("{\"id\":\"x\",\"prompt\":\"a\"}\n\n{\"id\":\" x \",\"prompt\":\"b\"}\n");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(only_error(m).to_string(), "m.jsonl:3: id: duplicate id, first used on line 1");
}

// -------------------------------------------------------------- load_manifest

TEST(LoadManifest, PicksFormatByExtensionAndResolvesAgainstItsFolder) {
  TempDir dir;
  const auto img = dir.touch("sub/refs/a.png");
  const auto csv_path = dir.touch("sub/batch.CSV", "prompt,images\nx,refs/a.png\n");
  const auto jsonl_path = dir.touch("sub/batch.ndjson", "{\"prompt\":\"x\",\"images\":[\"refs/a.png\"]}\n");
  for (const auto& p : {csv_path, jsonl_path}) {
    const auto m = load_manifest(p, default_juhuo());
    ASSERT_EQ(m.rows.size(), 1u) << all_errors(m);
    EXPECT_EQ(m.rows[0].file, p.string());
    EXPECT_EQ(m.rows[0].spec.images.at(0).location, img.string());
  }
  EXPECT_THROW(load_manifest(dir.touch("m.txt", "prompt\nx\n"), default_juhuo()), ManifestError);
  EXPECT_THROW(load_manifest(dir.path / "missing.csv", default_juhuo()), ManifestError);
  try {
    load_manifest(dir.touch("bad.csv", "prompt,colour\n"), default_juhuo());
    FAIL() << "no ManifestError";
  } catch (const ManifestError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir.path / "bad.csv").string() + ":1: unknown column 'colour'", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace reelbatch
