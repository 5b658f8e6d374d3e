// Unit tests: the manifest's per-field modules on their own (field_values,
// asset_lists, row_identity, manifest_fields), below the end-to-end tests
// in manifest_test.cpp.
#include "src/ingest/asset_lists.hpp"
#include "src/ingest/field_values.hpp"
#include "src/ingest/manifest_fields.hpp"
#include "src/ingest/row_identity.hpp"

#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <filesystem>

namespace reelbatch {
namespace {
namespace json = boost::json;

TEST(FieldValues, BlankIsUnsetWithoutError) {
  std::vector<FieldError> errors;
  const json::value blank = json::string("  ");
  EXPECT_FALSE(normalize_duration(blank, errors));
  EXPECT_FALSE(normalize_audio(blank, errors));
  EXPECT_FALSE(normalize_seed(blank, errors));
  EXPECT_FALSE(normalize_output(blank, errors));
  EXPECT_FALSE(normalize_prompt(blank, errors));
  EXPECT_TRUE(errors.empty());
}

TEST(FieldValues, BadValueGivesOneErrorNamingTheField) {
  std::vector<FieldError> errors;
  EXPECT_FALSE(normalize_duration(json::value(0), errors));
  EXPECT_FALSE(normalize_priority(json::value("high"), errors));
  EXPECT_FALSE(normalize_output(json::value("a/b"), errors));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "duration");
  EXPECT_EQ(errors[1].field, "priority");
  EXPECT_EQ(errors[1].reason, "must be an integer in -2147483648..2147483647 (got 'high')");
  EXPECT_EQ(errors[2].field, "output");
}

TEST(FieldValues, NormalizedValues) {
  std::vector<FieldError> errors;
  EXPECT_EQ(normalize_duration(json::value(" 8s "), errors), 8);
  EXPECT_EQ(normalize_resolution(json::value(720), errors), "720");
  EXPECT_EQ(normalize_aspect_ratio(json::value("Adaptive"), errors), "adaptive");
  EXPECT_EQ(normalize_audio(json::value("ON"), errors), true);
  EXPECT_EQ(normalize_id(json::value(42), errors), "42");
  EXPECT_EQ(normalize_prompt(json::value("a\r\nb"), errors), "a\nb");
  EXPECT_TRUE(errors.empty());
}

TEST(AssetLists, KindsAndUrls) {
  ASSERT_NE(find_asset_list("videos"), nullptr);
  EXPECT_EQ(find_asset_list("prompt"), nullptr);
  std::vector<FieldError> errors;
  const auto refs = normalize_assets(*find_asset_list("images"), json::value("HTTPS://x/a.png;ref=http://x/b.png"),
                                     std::filesystem::temp_directory_path(), {}, errors);
  ASSERT_TRUE(refs);
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0], (AssetRef{"Image 1", "https://x/a.png"}));
  EXPECT_EQ((*refs)[1], (AssetRef{"ref", "http://x/b.png"}));
  EXPECT_FALSE(normalize_assets(*find_asset_list("audios"), json::value(3), {}, {}, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "audios");
}

TEST(RowIdentity, HashIgnoresIdAndDerivedIdIsItsPrefix) {
  JobSpec a;
  a.prompt = "p";
  JobSpec b = a;
  b.id = "other";
  const std::string h = content_hash(a);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, content_hash(b));
  EXPECT_EQ(derived_id(h), "r" + h.substr(0, 20));
}

TEST(ManifestFields, HintsAndList) {
  EXPECT_TRUE(is_known_field("aspect_ratio"));
  EXPECT_FALSE(is_known_field("Prompt"));
  EXPECT_EQ(unknown_field_hint("promt"), " (did you mean 'prompt'?)");
  EXPECT_EQ(unknown_field_hint("zzzzzzzz"), "");
  EXPECT_EQ(known_field_list(false).substr(0, 14), "id, provider, ");
}

}  // namespace
}  // namespace reelbatch
