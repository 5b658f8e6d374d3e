// Issue 7, case 7: a download is accepted only with the right size, a media
// content type and the container signature of what was asked for
// (src/output/validate.hpp). Pure checks, no I/O.
#include "src/output/validate.hpp"

#include <gtest/gtest.h>

#include <string>

namespace reelbatch {
namespace {

using namespace std::string_literals;

const std::string kMp4Head = "\x00\x00\x00\x20" "ftypisom\x00\x00\x02\x00isomiso2"s;
const std::string kWebmHead = "\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\xF7\x81\x01\x42\xF2\x81"s;
const std::string kJpegHead = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01"s;
const std::string kPngHead = "\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR"s;
const std::string kWebpHead = "RIFF\x24\x00\x00\x00WEBPVP8 "s;
const std::string kGifHead = "GIF89a\x01\x00\x01\x00\x80\x00\x00"s;
const std::string kHtml = "<html><body>502 Bad Gateway</body></html>";

DownloadFacts facts(std::string head, std::string content_type = "video/mp4",
                    std::optional<std::uint64_t> length = std::nullopt, std::uint64_t size = 1000) {
  DownloadFacts f;
  f.http_status = 200;
  f.content_type = std::move(content_type);
  f.content_length = length;
  f.received = size;
  f.file_size = size;
  f.head = std::move(head);
  return f;
}

TEST(ExpectedMedia, FromTheFinalNamesExtension) {
  EXPECT_EQ(expected_media("out/b/r1.mp4"), MediaKind::video);
  EXPECT_EQ(expected_media("out/b/r1.MOV"), MediaKind::video);
  EXPECT_EQ(expected_media("r1.webm"), MediaKind::video);
  EXPECT_EQ(expected_media("r1.mkv"), MediaKind::video);
  EXPECT_EQ(expected_media("r1.cover.jpg"), MediaKind::image);
  EXPECT_EQ(expected_media("r1.last_frame.jpeg"), MediaKind::image);
  EXPECT_EQ(expected_media("r1.png"), MediaKind::image);
  EXPECT_EQ(expected_media("r1.bin"), MediaKind::any);
  EXPECT_EQ(expected_media("r1"), MediaKind::any);
}

TEST(MediaSignature, EachContainerIsRecognisedForItsKindOnly) {
  EXPECT_TRUE(has_media_signature(kMp4Head, MediaKind::video));
  EXPECT_TRUE(has_media_signature("\x00\x00\x00\x08moov"s, MediaKind::video));  // QuickTime without ftyp
  EXPECT_TRUE(has_media_signature(kWebmHead, MediaKind::video));
  EXPECT_FALSE(has_media_signature(kJpegHead, MediaKind::video));
  for (const auto& h : {kJpegHead, kPngHead, kWebpHead, kGifHead}) {
    EXPECT_TRUE(has_media_signature(h, MediaKind::image));
    EXPECT_FALSE(has_media_signature(h, MediaKind::video));
    EXPECT_TRUE(has_media_signature(h, MediaKind::any));
  }
  EXPECT_FALSE(has_media_signature(kMp4Head, MediaKind::image));
  EXPECT_TRUE(has_media_signature(kMp4Head, MediaKind::any));
  EXPECT_FALSE(has_media_signature("RIFF\x24\x00\x00\x00WAVEfmt "s, MediaKind::image));  // RIFF but not WebP
  EXPECT_FALSE(has_media_signature("ftyp", MediaKind::video));                         // ftyp at offset 0
  EXPECT_FALSE(has_media_signature("", MediaKind::any));
  EXPECT_FALSE(has_media_signature("\xFF\xD8"s, MediaKind::image));  // too short
}

TEST(CheckDownload, GoodVideoAndImagesAreAccepted) {
  EXPECT_FALSE(check_download(facts(kMp4Head, "video/mp4", 1000, 1000), MediaKind::video));
  EXPECT_FALSE(check_download(facts(kMp4Head, "application/octet-stream"), MediaKind::video));
  EXPECT_FALSE(check_download(facts(kMp4Head, ""), MediaKind::video));  // no Content-Type, no Content-Length
  EXPECT_FALSE(check_download(facts(kWebmHead, "video/webm"), MediaKind::video));
  EXPECT_FALSE(check_download(facts(kPngHead, "image/png"), MediaKind::image));
  EXPECT_FALSE(check_download(facts(kWebpHead, "image/webp"), MediaKind::image));
}

// Case 7: the 38-byte "error page" served with 200 text/html.
TEST(CheckDownload, Case7_HtmlErrorPageIsRejectedWithWhatCameBack) {
  auto f = facts(kHtml, "text/html; charset=utf-8", kHtml.size(), kHtml.size());
  const auto bad = check_download(f, MediaKind::video);
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->truncated);
  EXPECT_NE(bad->message.find("error page content type"), std::string::npos) << bad->message;
  EXPECT_NE(bad->message.find("HTTP 200"), std::string::npos) << bad->message;
  EXPECT_NE(bad->message.find("Content-Type text/html; charset=utf-8"), std::string::npos) << bad->message;
  EXPECT_NE(bad->message.find(std::to_string(kHtml.size()) + " bytes"), std::string::npos) << bad->message;
  EXPECT_NE(bad->message.find("starts with \"<html><body>502 Bad Gateway</body></html>\""), std::string::npos)
      << bad->message;
}

TEST(CheckDownload, Case7_ErrorTypesAreRejectedEvenWithAVideoSignature) {
  for (const char* type : {"text/html", "TEXT/PLAIN", "application/json", "application/problem+json",
                           "application/xml", " text/html ;q=1"}) {
    const auto bad = check_download(facts(kMp4Head, type), MediaKind::video);
    ASSERT_TRUE(bad) << type;
    EXPECT_FALSE(bad->truncated);
  }
}

TEST(CheckDownload, Case7_HtmlWithAVideoContentTypeFailsTheSignature) {
  const auto bad = check_download(facts(kHtml, "video/mp4"), MediaKind::video);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->message.find("no video container signature"), std::string::npos) << bad->message;
  EXPECT_FALSE(check_download(facts(kHtml, "video/mp4"), MediaKind::any) == std::nullopt);
}

TEST(CheckDownload, Case7_ShortBodyIsTruncatedAndLongBodyIsRejected) {
  const auto short_body = check_download(facts(kMp4Head, "video/mp4", 5000, 1200), MediaKind::video);
  ASSERT_TRUE(short_body);
  EXPECT_TRUE(short_body->truncated);
  EXPECT_NE(short_body->message.find("short body"), std::string::npos);
  EXPECT_NE(short_body->message.find("1200 bytes of 5000 announced"), std::string::npos) << short_body->message;
  const auto long_body = check_download(facts(kMp4Head, "video/mp4", 1000, 1001), MediaKind::video);
  ASSERT_TRUE(long_body);
  EXPECT_FALSE(long_body->truncated);
}

TEST(CheckDownload, EmptyBodyIsRejected) {
  const auto bad = check_download(facts("", "video/mp4", 0, 0), MediaKind::video);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->message.find("empty body"), std::string::npos);
}

TEST(CheckDownload, AResumedPartIsJudgedByTheWholeFilesHead) {
  DownloadFacts f = facts(kMp4Head, "video/mp4", 400, 400);
  f.http_status = 206;
  f.file_size = 1400;  // 1000 bytes from an earlier .part
  EXPECT_FALSE(check_download(f, MediaKind::video));
  EXPECT_NE(describe_response(f).find("(file 1400 bytes)"), std::string::npos);
}

TEST(DescribeResponse, BinaryHeadsAreShownAsHexAndLongTextIsCut) {
  const auto bin = describe_response(facts(kJpegHead, "image/jpeg", std::nullopt, 16));
  EXPECT_NE(bin.find("starts with ff d8 ff e0 00 10 4a 46 49 46 00 01 01 00 00 01"), std::string::npos) << bin;
  const std::string text(200, 'x');
  const auto cut = describe_response(facts(text, "text/plain", std::nullopt, 200));
  EXPECT_NE(cut.find("starts with \"" + std::string(48, 'x') + "...\""), std::string::npos) << cut;
  EXPECT_NE(describe_response(facts("{\"error\":\n\"gone\"}", "application/json")).find("\"{\"error\": \"gone\"}\""),
            std::string::npos);
  EXPECT_NE(describe_response(facts("", "", std::nullopt, 0)).find("Content-Type (none), 0 bytes, empty"),
            std::string::npos);
}

}  // namespace
}  // namespace reelbatch
