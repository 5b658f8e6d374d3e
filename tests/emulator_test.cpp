// The emulator on an ephemeral loopback port, driven over real HTTP by a tiny
// synchronous Beast client: the juhuo API's auth, validation, uploads, task
// lifecycle, concurrency cap, billing, signed Range-capable downloads and
// state persistence.
#include "tests/support/emulator_fixture.hpp"
#include "providers/juhuo/emulator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>

namespace reelbatch::emulator {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr const char* kKey = "sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";  // the doc's example
constexpr const char* kKey2 = "sk-ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";

// ---- a tiny synchronous client ----------------------------------------------------

using Reply = test_support::EnvelopeReply;

using test_support::HeaderList;
using test_support::target_of;
using test_support::make_request;

Reply read_reply(tcp::socket& s, beast::flat_buffer& buf, bool head) { return {test_support::read_reply(s, buf, head)}; }

Reply request(unsigned short port, const std::string& method, const std::string& target,
              const HeaderList& headers = {}, const std::string& body = {}) {
  return {test_support::http_request(port, method, target, headers, body, test_support::HostHeader::bare)};
}

// ---- fixture ------------------------------------------------------------------------

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts) : EmulatorThread(std::move(opts)) {}

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& key = kKey) {
    return request(port, method, "/juhuo/open-api/v1" + path, test_support::bearer_headers(key, !body.empty()), body);
  }
  Reply submit(const json::object& body, const std::string& key = kKey) {
    return call("POST", "/video/submit", json::serialize(body), key);
  }
  std::string submit_ok(const json::object& body, const std::string& key = kKey) {
    const Reply r = submit(body, key);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), "200") << r.body;
    return std::string(r.result().at("taskId").as_string());
  }
  json::object task(const std::string& id, const std::string& key = kKey) {
    const Reply r = call("GET", "/video/task/" + id, {}, key);
    EXPECT_EQ(r.code(), "200") << r.body;
    return r.result();
  }
  json::object balance(const std::string& key = kKey) { return call("GET", "/account/balance", {}, key).result(); }

  // Polls until the task is terminal; returns every distinct status seen, in order.
  std::vector<std::string> wait_terminal(const std::string& id, std::chrono::milliseconds limit = 20s,
                                         const std::string& key = kKey) {
    return test_support::poll_statuses([&] { return std::string(task(id, key).at("status").as_string()); },
                                  [](const std::string& st) { return st == "success" || st == "fail"; }, limit, 1ms, "task " + id);
  }

  // presign + PUT; returns the ossKey.
  std::string upload(const std::string& file_name, const std::string& content_type, const std::string& bytes) {
    const Reply p = call("POST", "/upload/presign",
                         json::serialize(json::object{{"fileName", file_name}, {"contentType", content_type}}));
    EXPECT_EQ(p.code(), "200") << p.body;
    const auto res = p.result();
    const Reply put = request(port, "PUT", target_of(std::string(res.at("uploadUrl").as_string())),
                              {{"Content-Type", content_type}}, bytes);
    EXPECT_EQ(put.status, 200) << put.body;
    return std::string(res.at("ossKey").as_string());
  }
};

using test_support::fast;

double num(const json::value& v) { return v.to_number<double>(); }

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("reelbatch-emu") {}
};

// ---- framework -------------------------------------------------------------------------

TEST(Emulator, HealthAndUnknownPaths) {
  Emu e(fast());
  EXPECT_EQ(request(e.port, "GET", "/_emulator/health").status, 200);
  EXPECT_EQ(request(e.port, "GET", "/nope").status, 404);
  const Reply r = request(e.port, "GET", "/juhuo/open-api/v1/nothing/here", {{"Authorization", std::string("Bearer ") + kKey}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "4004");
  const Reply m = e.call("GET", "/video/submit");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.code(), "4000");
}

TEST(Emulator, KeepAliveServesSeveralRequestsOnOneConnection) {
  Emu e(fast());
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), e.port));
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    auto req = make_request("GET", "/juhuo/open-api/v1/account/balance",
                            {{"Authorization", std::string("Bearer ") + kKey}}, "");
    http::write(s, req);
    const Reply r = read_reply(s, buf, false);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), "200");
  }
  // stop() closes the idle keep-alive connection (and the server's thread ends).
  e.shutdown();
  boost::system::error_code ec;
  char c;
  s.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(Emulator, GarbageOnOneConnectionDoesNotHurtOthers) {
  Emu e(fast());
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), e.port));
    asio::write(s, asio::buffer(std::string("\x01\x02 NOT HTTP AT ALL\r\n\r\n")));
    boost::system::error_code ec;
    char buf[256];
    s.read_some(asio::buffer(buf), ec);  // the server drops it
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), e.port));
    asio::write(s, asio::buffer(std::string("GET /_emulator/health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")));
    beast::flat_buffer buf;
    const Reply r = read_reply(s, buf, false);
    EXPECT_EQ(r.status, 413);
  }
  EXPECT_EQ(request(e.port, "GET", "/_emulator/health").status, 200);
}

TEST(Emulator, ExpectContinueIsAnswered) {
  Emu e(fast());
  const Reply p = e.call("POST", "/upload/presign",
                         json::serialize(json::object{{"fileName", "a.png"}, {"contentType", "image/png"}}));
  const std::string target = target_of(std::string(p.result().at("uploadUrl").as_string()));
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), e.port));
  asio::write(s, asio::buffer("PUT " + target +
                              " HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 3\r\n"
                              "Expect: 100-continue\r\n\r\n"));
  std::string got;
  asio::read_until(s, asio::dynamic_buffer(got), "\r\n\r\n");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 100 Continue")) << got;
  got.erase(0, got.find("\r\n\r\n") + 4);
  asio::write(s, asio::buffer(std::string("PNG")));
  beast::flat_buffer buf;
  beast::ostream(buf) << got;
  EXPECT_EQ(read_reply(s, buf, false).status, 200);
}

// ---- auth and validation ---------------------------------------------------------------

TEST(Juhuo, AuthFailuresAre4403) {
  Emu e(fast());
  const json::object body{{"prompt", "a cat"}};
  for (const std::string& key : {std::string(), std::string("sk-short"), std::string("sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6x"),
                                std::string("sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p!"), std::string("pk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6")}) {
    const Reply r = e.submit(body, key);
    EXPECT_EQ(r.status, 200) << key;
    EXPECT_EQ(r.code(), "4403") << key;
    EXPECT_EQ(r.message(), "未授权");
    EXPECT_FALSE(r.json().contains("result"));
  }
  // Not "Bearer <key>" exactly: an extra space is refused (doc FAQ).
  const Reply sp = request(e.port, "GET", "/juhuo/open-api/v1/account/balance",
                           {{"Authorization", std::string("Bearer  ") + kKey}});
  EXPECT_EQ(sp.code(), "4403");
  EXPECT_EQ(e.emu->rejected_submits(), 5u);
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(Juhuo, ValidationErrorsAre4000WithTheField) {
  Emu e(fast());
  struct Case {
    json::object body;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{{"prompt", "x"}, {"duration", 3}}, "duration范围为4-15"},
      {{{"prompt", "x"}, {"duration", 16}}, "duration范围为4-15"},
      {{{"prompt", "x"}, {"duration", "8"}}, "duration"},
      {{{"prompt", "x"}, {"resolution", 1080}}, "resolution可选值为480、720"},
      {{{"prompt", "x"}, {"aspectRatio", "2:1"}}, "aspectRatio"},
      {{{"prompt", "x"}, {"model", "seedance-3.0"}}, "model"},
      {{{"prompt", "x"}, {"sound", "loud"}}, "sound"},
      {{{"prompt", "<<<ref>>> walks"}}, "<<<ref>>>"},
      {{{"prompt", ""}}, "prompt"},
      {{{"duration", 8}}, "prompt"},
      {{{"prompt", "x"}, {"inputImages", json::array{json::object{{"name", "a"}, {"ossKey", "api/nobody/upload/a.png"}}}}},
       "inputImages[0].ossKey"},
  };
  for (const auto& c : cases) {
    const Reply r = e.submit(c.body);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), "4000") << json::serialize(c.body);
    EXPECT_TRUE(r.message().starts_with("参数错误:")) << r.message();
    EXPECT_NE(r.message().find(c.needle), std::string::npos) << r.message() << " lacks " << c.needle;
  }
  const Reply bad_json = e.call("POST", "/video/submit", "{not json");
  EXPECT_EQ(bad_json.code(), "4000");
  EXPECT_EQ(e.emu->rejected_submits(), cases.size() + 1);
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(Juhuo, SubmitAppliesDocumentedDefaults) {
  Emu e(fast());
  e.submit_ok({{"prompt", "defaults"}});
  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].provider, "juhuo");
  EXPECT_EQ(subs[0].api_key_fingerprint, key_fingerprint(kKey));
  EXPECT_EQ(subs[0].api_key_fingerprint.size(), 12u);
  EXPECT_EQ(subs[0].body.find(kKey), std::string::npos);
  EXPECT_TRUE(subs[0].task_id.starts_with("gen_"));
  EXPECT_EQ(subs[0].task_id.size(), 16u);
  e.wait_terminal(subs[0].task_id);
  // Defaults: seedance-2.0, 8 s, 480 -> 0.10 × 8 × 1.15 = 0.92.
  EXPECT_DOUBLE_EQ(num(e.task(subs[0].task_id).at("creditCost")), 0.92);
}

TEST(Juhuo, PresignValidation) {
  Emu e(fast());
  auto presign = [&](const std::string& name, const std::string& type) {
    return e.call("POST", "/upload/presign", json::serialize(json::object{{"fileName", name}, {"contentType", type}}));
  };
  for (const std::string& bad : std::vector<std::string>{"a b.png", "noext", "../x.png", "two.dots.png", ".png", "x.", "场景.png",
                                std::string(125, 'a') + ".png"}) {
    const Reply r = presign(bad, "image/png");
    EXPECT_EQ(r.code(), "4000") << bad;
    EXPECT_NE(r.message().find("fileName"), std::string::npos) << r.message();
  }
  EXPECT_EQ(presign(std::string(124, 'a') + ".png", "image/png").code(), "200");  // 128 characters
  EXPECT_EQ(presign("scene.png", "image/jpeg").code(), "4000");
  EXPECT_EQ(presign("scene.mp4", "video/quicktime").code(), "4000");
  EXPECT_EQ(presign("scene.gif", "image/gif").code(), "4000");
  EXPECT_EQ(presign("scene.jpeg", "image/jpeg").code(), "200");
  EXPECT_EQ(presign("clip.MOV", "video/quicktime").code(), "200");

  const Reply ok = presign("scene1.png", "image/png");
  ASSERT_EQ(ok.code(), "200");
  const auto res = ok.result();
  EXPECT_EQ(res.at("method").as_string(), "PUT");
  const std::string key(res.at("ossKey").as_string());
  EXPECT_EQ(key, "api/user" + key_fingerprint(kKey) + "/upload/scene1.png");
  const std::string url(res.at("uploadUrl").as_string());
  EXPECT_TRUE(url.starts_with("http://127.0.0.1/juhuo/oss/" + key + "?signature=")) << url;
  EXPECT_NE(url.find("&expires="), std::string::npos);
}

TEST(Juhuo, PresignedPutChecksSignatureExpiryAndContentType) {
  Options o = fast();
  Emu e(o);
  const Reply p = e.call("POST", "/upload/presign",
                         json::serialize(json::object{{"fileName", "face.png"}, {"contentType", "image/png"}}));
  const std::string target = target_of(std::string(p.result().at("uploadUrl").as_string()));
  const std::string key(p.result().at("ossKey").as_string());

  std::string tampered = target;
  const auto sig = tampered.find("signature=") + 10;
  tampered[sig] = tampered[sig] == 'a' ? 'b' : 'a';
  const Reply bad = request(e.port, "PUT", tampered, {{"Content-Type", "image/png"}}, "PNGDATA");
  EXPECT_EQ(bad.status, 403);
  EXPECT_NE(bad.body.find("SignatureDoesNotMatch"), std::string::npos);

  const Reply wrong_type = request(e.port, "PUT", target, {{"Content-Type", "image/jpeg"}}, "PNGDATA");
  EXPECT_EQ(wrong_type.status, 403);
  EXPECT_NE(wrong_type.body.find("image/png"), std::string::npos) << wrong_type.body;

  const Reply no_sig = request(e.port, "PUT", "/juhuo/oss/" + key, {{"Content-Type", "image/png"}}, "PNGDATA");
  EXPECT_EQ(no_sig.status, 403);

  // Not uploaded yet: the ossKey can't be used.
  json::object body{{"prompt", "<<<Face>>> smiles"},
                    {"inputImages", json::array{json::object{{"name", "Face"}, {"ossKey", key}}}}};
  EXPECT_EQ(e.submit(body).code(), "4000");

  const Reply good = request(e.port, "PUT", target, {{"Content-Type", "image/png"}}, "PNGDATA");
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.header("etag"), "\"" + sha256_hex("PNGDATA") + "\"");
  EXPECT_EQ(e.submit(body).code(), "200");
  // Another account can't use it.
  EXPECT_EQ(e.submit(body, kKey2).code(), "4000");
  // An image is not a video.
  json::object as_video{{"prompt", "<<<Face>>> smiles"},
                        {"inputVideos", json::array{json::object{{"name", "Face"}, {"ossKey", key}}}}};
  const Reply v = e.submit(as_video);
  EXPECT_EQ(v.code(), "4000");
  EXPECT_NE(v.message().find("inputVideos[0]"), std::string::npos) << v.message();
}

TEST(Juhuo, ExpiredUploadUrlIs403) {
  Options o = fast();
  o.upload_url_ttl = 0s;
  Emu e(o);
  const Reply p = e.call("POST", "/upload/presign",
                         json::serialize(json::object{{"fileName", "face.png"}, {"contentType", "image/png"}}));
  const Reply put = request(e.port, "PUT", target_of(std::string(p.result().at("uploadUrl").as_string())),
                            {{"Content-Type", "image/png"}}, "x");
  EXPECT_EQ(put.status, 403);
  EXPECT_NE(put.body.find("expired"), std::string::npos) << put.body;
}

// ---- lifecycle and billing ----------------------------------------------------------------

TEST(Juhuo, TextToVideoLifecycleChargesOnSuccess) {
  Emu e(fast(0.01));
  const auto before = e.balance();
  EXPECT_DOUBLE_EQ(num(before.at("totalCredits")), 10000.0);
  EXPECT_DOUBLE_EQ(num(before.at("usedCredits")), 0.0);
  // Credit numbers are written like the doc: 10000.00
  EXPECT_NE(e.call("GET", "/account/balance").body.find("\"totalCredits\":10000.00"), std::string::npos);

  const std::string id = e.submit_ok({{"prompt", "一只橘猫在樱花树下奔跑"},
                                      {"model", "seedance-2.0"},
                                      {"duration", 4},
                                      {"resolution", 720},
                                      {"aspectRatio", "16:9"}});
  const auto first = e.task(id);
  EXPECT_EQ(first.at("creditCost").to_number<double>(), 0.0);
  EXPECT_EQ(first.at("outputUrl").as_string(), "");
  EXPECT_GT(first.at("gmtCreate").as_int64(), 1700000000000);

  const auto seen = e.wait_terminal(id);
  const std::vector<std::string> order = {"queued",     "init",        "uploading", "submitted",
                                          "generating", "downloading", "success"};
  std::size_t pos = 0;
  for (const auto& s : seen) {
    auto it = std::find(order.begin() + static_cast<std::ptrdiff_t>(pos), order.end(), s);
    ASSERT_NE(it, order.end()) << "status " << s << " out of order";
    pos = static_cast<std::size_t>(it - order.begin());
  }
  EXPECT_EQ(seen.back(), "success");
  EXPECT_GE(seen.size(), 4u) << "saw too few states";
  EXPECT_NE(std::find(seen.begin(), seen.end(), "generating"), seen.end());

  const auto t = e.task(id);
  const double cost = juhuo_credit_cost("seedance-2.0", 720, 4);
  EXPECT_DOUBLE_EQ(cost, 0.92);  // 0.20 × 4 × 1.15
  EXPECT_DOUBLE_EQ(num(t.at("creditCost")), cost);
  EXPECT_EQ(t.at("errorCode").as_string(), "");
  const auto after = e.balance();
  EXPECT_DOUBLE_EQ(num(after.at("usedCredits")), cost);
  EXPECT_DOUBLE_EQ(num(after.at("remainCredits")), 10000.0 - cost);

  // The output and cover are exactly what submissions() recorded.
  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  const Reply video = request(e.port, "GET", target_of(std::string(t.at("outputUrl").as_string())));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(video.header("content-type"), "video/mp4");
  EXPECT_EQ(video.body.size(), subs[0].video_bytes);
  EXPECT_EQ(sha256_hex(video.body), subs[0].video_sha256);
  // A valid MP4: the sample's boxes, then a free box naming the task.
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  EXPECT_EQ(video.body.substr(0, asset_sample_mp4().size()), asset_sample_mp4());
  const std::string tail = video.body.substr(asset_sample_mp4().size());
  EXPECT_EQ(tail.substr(4, 4), "free");
  const auto box = (static_cast<unsigned char>(tail[0]) << 24) | (static_cast<unsigned char>(tail[1]) << 16) |
                   (static_cast<unsigned char>(tail[2]) << 8) | static_cast<unsigned char>(tail[3]);
  EXPECT_EQ(static_cast<std::size_t>(box), tail.size());
  EXPECT_NE(tail.find(id), std::string::npos);

  const Reply cover = request(e.port, "GET", target_of(std::string(t.at("coverUrl").as_string())));
  ASSERT_EQ(cover.status, 200);
  EXPECT_EQ(cover.header("content-type"), "image/jpeg");
  EXPECT_EQ(sha256_hex(cover.body), subs[0].cover_sha256);
  EXPECT_EQ(cover.body.size(), subs[0].cover_bytes);
  EXPECT_EQ(cover.body.substr(0, 4), std::string("\xFF\xD8\xFF\xFE", 4));
  EXPECT_NE(cover.body.find(id), std::string::npos);

  // /_emulator/submissions has the same record.
  const auto arr = json::parse(request(e.port, "GET", "/_emulator/submissions").body).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("task_id").as_string(), id);
  EXPECT_EQ(arr[0].at("video_sha256").as_string(), subs[0].video_sha256);
}

TEST(Juhuo, ImageToVideoWithUpload) {
  Emu e(fast());
  const std::string img = e.upload("character.png", "image/png", std::string(asset_cover_jpg()));
  const std::string clip = e.upload("motion.mp4", "video/mp4", std::string(asset_sample_mp4()));
  const std::string id = e.submit_ok({{"prompt", "<<<Image 1>>> 中的角色缓缓转身, 像 <<<Clip>>> 一样"},
                                      {"inputImages", json::array{json::object{{"name", "Image 1"}, {"ossKey", img}}}},
                                      {"inputVideos", json::array{json::object{{"name", "Clip"}, {"ossKey", clip}}}},
                                      {"duration", 10},
                                      {"resolution", 720},
                                      {"aspectRatio", "9:16"}});
  EXPECT_EQ(e.wait_terminal(id).back(), "success");
  EXPECT_DOUBLE_EQ(num(e.task(id).at("creditCost")), juhuo_credit_cost("seedance-2.0", 720, 10));
  EXPECT_DOUBLE_EQ(juhuo_credit_cost("seedance-2.0", 720, 10), 2.3);
  EXPECT_DOUBLE_EQ(juhuo_credit_cost("seedance-2.0-fast", 480, 10), 0.92);
}

TEST(Juhuo, ConcurrencyCapKeepsExtraTasksQueued) {
  Options o = fast(0.002);
  o.juhuo_concurrency = 2;
  Emu e(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(e.submit_ok({{"prompt", "task " + std::to_string(i)}, {"duration", 4}}));
  std::size_t max_running = 0, max_queued = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    // One list call is one consistent snapshot of the account.
    const auto page = e.call("GET", "/video/tasks?pageNo=1&pageSize=10").result();
    std::size_t running = 0, queued = 0, done = 0;
    for (const auto& t : page.at("data").as_array()) {
      const std::string st(t.at("status").as_string());
      if (st == "queued") ++queued;
      else if (st == "success" || st == "fail") ++done;
      else ++running;
    }
    max_running = std::max(max_running, running);
    max_queued = std::max(max_queued, queued);
    ASSERT_LE(running, 2u);
    if (done == 4) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(max_running, 2u);
  EXPECT_GE(max_queued, 2u);  // right after the 4 submits
}

TEST(Juhuo, FailRateFailsTasksWithoutCharging) {
  Options o = fast();
  o.fail_rate = 1.0;
  Emu e(o);
  const std::string id = e.submit_ok({{"prompt", "doomed"}, {"duration", 4}});
  EXPECT_EQ(e.wait_terminal(id).back(), "fail");
  const auto t = e.task(id);
  const std::set<std::string> codes = {"PAYLOAD_PARSE_ERROR", "UPLOAD_FAILED", "SUBMIT_FAILED", "PIPELINE_TIMEOUT",
                                       "TRANSFER_FAILED"};
  EXPECT_TRUE(codes.count(std::string(t.at("errorCode").as_string()))) << t.at("errorCode");
  EXPECT_FALSE(t.at("errorMsg").as_string().empty());
  EXPECT_EQ(num(t.at("creditCost")), 0.0);
  EXPECT_EQ(t.at("outputUrl").as_string(), "");
  EXPECT_EQ(num(e.balance().at("usedCredits")), 0.0);
}

TEST(Juhuo, NoCreditsIs4003) {
  Options o = fast();
  o.juhuo_credits = 0;
  Emu e(o);
  const Reply r = e.submit({{"prompt", "free lunch"}});
  EXPECT_EQ(r.code(), "4003");
  EXPECT_EQ(r.message(), "积分余额不足");
  EXPECT_EQ(e.emu->rejected_submits(), 1u);
}

// ---- downloads ---------------------------------------------------------------------------------

TEST(Juhuo, RangeEtagAndHead) {
  Emu e(fast());
  const std::string id = e.submit_ok({{"prompt", "range me"}, {"duration", 4}});
  ASSERT_EQ(e.wait_terminal(id).back(), "success");
  const std::string target = target_of(std::string(e.task(id).at("outputUrl").as_string()));
  const Reply full = request(e.port, "GET", target);
  ASSERT_EQ(full.status, 200);
  const std::size_t n = full.body.size();
  EXPECT_EQ(full.header("accept-ranges"), "bytes");
  const std::string etag = full.header("etag");
  EXPECT_EQ(etag, "\"" + sha256_hex(full.body) + "\"");

  const Reply r1 = request(e.port, "GET", target, {{"Range", "bytes=0-99"}});
  EXPECT_EQ(r1.status, 206);
  EXPECT_EQ(r1.header("content-range"), "bytes 0-99/" + std::to_string(n));
  EXPECT_EQ(r1.body, full.body.substr(0, 100));

  const Reply r2 = request(e.port, "GET", target, {{"Range", "bytes=1000-"}});
  EXPECT_EQ(r2.status, 206);
  EXPECT_EQ(r2.header("content-range"), "bytes 1000-" + std::to_string(n - 1) + "/" + std::to_string(n));
  EXPECT_EQ(r2.body, full.body.substr(1000));

  const Reply r3 = request(e.port, "GET", target, {{"Range", "bytes=-10"}});
  EXPECT_EQ(r3.status, 206);
  EXPECT_EQ(r3.body, full.body.substr(n - 10));

  const Reply r4 = request(e.port, "GET", target, {{"Range", "bytes=" + std::to_string(n) + "-"}});
  EXPECT_EQ(r4.status, 416);
  EXPECT_EQ(r4.header("content-range"), "bytes */" + std::to_string(n));

  const Reply r5 = request(e.port, "GET", target, {{"Range", "bytes=10-5"}});  // invalid: ignored
  EXPECT_EQ(r5.status, 200);
  EXPECT_EQ(r5.body.size(), n);

  const Reply r6 = request(e.port, "GET", target, {{"Range", "bytes=0-9"}, {"If-Range", "\"other\""}});
  EXPECT_EQ(r6.status, 200);

  const Reply head = request(e.port, "HEAD", target);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(n));
  EXPECT_TRUE(head.body.empty());

  EXPECT_EQ(request(e.port, "GET", target, {{"If-None-Match", etag}}).status, 304);
}

TEST(Juhuo, ExpiredOrTamperedDownloadUrlIs403) {
  Options o = fast();
  o.url_ttl = 0s;
  Emu e(o);
  const std::string id = e.submit_ok({{"prompt", "expire me"}, {"duration", 4}});
  ASSERT_EQ(e.wait_terminal(id).back(), "success");
  const std::string url(e.task(id).at("outputUrl").as_string());
  EXPECT_EQ(request(e.port, "GET", target_of(url)).status, 403);
  EXPECT_EQ(request(e.port, "GET", target_of(std::string(e.task(id).at("coverUrl").as_string()))).status, 403);
}

TEST(Juhuo, TamperedDownloadUrlIs403AndRequeryResigns) {
  Emu e(fast());
  const std::string id = e.submit_ok({{"prompt", "sign me"}, {"duration", 4}});
  ASSERT_EQ(e.wait_terminal(id).back(), "success");
  const std::string target = target_of(std::string(e.task(id).at("outputUrl").as_string()));
  EXPECT_TRUE(target.starts_with("/juhuo/cdn/output/" + id + ".mp4?expires=")) << target;
  std::string bad = target;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(e.port, "GET", bad).status, 403);
  std::string other = target;
  other.replace(other.find(id), id.size(), "gen_000000000000");
  EXPECT_EQ(request(e.port, "GET", other).status, 403);  // the token binds the path
  EXPECT_EQ(request(e.port, "GET", "/juhuo/cdn/output/" + id + ".mp4").status, 403);
  // The expiry is about now + 7 days.
  const auto exp = std::stoll(target.substr(target.find("expires=") + 8));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(exp - now), 7 * 24 * 3600.0, 5.0);
}

TEST(Juhuo, EveryTaskHasUniqueBytesMatchingSubmissions) {
  Emu e(fast());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(e.submit_ok({{"prompt", "same prompt"}, {"duration", 4}}));
  for (const auto& id : ids) ASSERT_EQ(e.wait_terminal(id).back(), "success");
  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 3u);
  std::set<std::string> videos, covers;
  for (const auto& s : subs) {
    const auto t = e.task(s.task_id);
    const Reply v = request(e.port, "GET", target_of(std::string(t.at("outputUrl").as_string())));
    const Reply c = request(e.port, "GET", target_of(std::string(t.at("coverUrl").as_string())));
    EXPECT_EQ(sha256_hex(v.body), s.video_sha256);
    EXPECT_EQ(v.body.size(), s.video_bytes);
    EXPECT_EQ(sha256_hex(c.body), s.cover_sha256);
    EXPECT_EQ(c.body.size(), s.cover_bytes);
    videos.insert(s.video_sha256);
    covers.insert(s.cover_sha256);
  }
  EXPECT_EQ(videos.size(), 3u);
  EXPECT_EQ(covers.size(), 3u);
}

// ---- queries ------------------------------------------------------------------------------------

TEST(Juhuo, UnknownOrForeignTaskIs4004) {
  Emu e(fast());
  const Reply r = e.call("GET", "/video/task/gen_ffffffffffff");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), "4004");
  const std::string id = e.submit_ok({{"prompt", "mine"}});
  EXPECT_EQ(e.call("GET", "/video/task/" + id, {}, kKey2).code(), "4004");
  EXPECT_EQ(e.call("GET", "/video/task/" + id).code(), "200");
  // Accounts are per key: the other key sees no tasks and a full balance.
  EXPECT_EQ(e.call("GET", "/video/tasks", {}, kKey2).result().at("total").as_int64(), 0);
}

TEST(Juhuo, TaskListPagesNewestFirst) {
  Emu e(fast());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(e.submit_ok({{"prompt", "p" + std::to_string(i)}}));
  auto page = [&](const std::string& q) { return e.call("GET", "/video/tasks" + q).result(); };
  const auto p1 = page("?pageNo=1&pageSize=2");
  EXPECT_EQ(p1.at("total").as_int64(), 5);
  EXPECT_EQ(p1.at("pageNo").as_int64(), 1);
  EXPECT_EQ(p1.at("pageSize").as_int64(), 2);
  ASSERT_EQ(p1.at("data").as_array().size(), 2u);
  EXPECT_EQ(p1.at("data").as_array()[0].at("taskId").as_string(), ids[4]);
  EXPECT_EQ(p1.at("data").as_array()[1].at("taskId").as_string(), ids[3]);
  const auto p3 = page("?pageNo=3&pageSize=2");
  ASSERT_EQ(p3.at("data").as_array().size(), 1u);
  EXPECT_EQ(p3.at("data").as_array()[0].at("taskId").as_string(), ids[0]);
  EXPECT_TRUE(page("?pageNo=4&pageSize=2").at("data").as_array().empty());
  const auto def = page("");
  EXPECT_EQ(def.at("pageNo").as_int64(), 1);
  EXPECT_EQ(def.at("pageSize").as_int64(), 20);
  EXPECT_EQ(def.at("data").as_array().size(), 5u);
  // Every item has the task query's fields.
  for (const char* f : {"taskId", "status", "outputUrl", "coverUrl", "errorCode", "errorMsg", "creditCost", "gmtCreate"})
    EXPECT_TRUE(def.at("data").as_array()[0].as_object().contains(f)) << f;
  EXPECT_EQ(e.call("GET", "/video/tasks?pageNo=0").code(), "4000");
  EXPECT_EQ(e.call("GET", "/video/tasks?pageSize=abc").code(), "4000");
}

// ---- persistence -----------------------------------------------------------------------------------

TEST(Juhuo, StateFileSurvivesRestart) {
  TempDir dir;
  Options o = fast();
  o.state_file = dir.path / "emulator-state.json";
  std::string done_id, running_id, oss_key;
  Submission done_sub;
  {
    Emu a(o);
    done_id = a.submit_ok({{"prompt", "before restart"}, {"duration", 4}});
    ASSERT_EQ(a.wait_terminal(done_id).back(), "success");
    oss_key = a.upload("ref.png", "image/png", "PNG");
    // Still running at shutdown: ~30 s × 0.002 + 4 s × 15 × 0.002 ≈ 0.2 s.
    running_id = a.submit_ok({{"prompt", "across restart"}, {"duration", 15}});
    done_sub = a.emu->submissions().at(0);
    a.shutdown();
  }
  ASSERT_TRUE(fs::exists(o.state_file));
  const std::string text = test_support::read_text(o.state_file);
  EXPECT_EQ(text.find(kKey), std::string::npos) << "the API key must never be stored";

  Emu b(o);
  const auto subs = b.emu->submissions();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].task_id, done_id);
  EXPECT_EQ(subs[0].video_sha256, done_sub.video_sha256);
  const auto t = b.task(done_id);
  EXPECT_EQ(t.at("status").as_string(), "success");
  const Reply v = b.call("GET", "/account/balance");  // used credits survived
  EXPECT_DOUBLE_EQ(num(v.result().at("usedCredits")), juhuo_credit_cost("seedance-2.0", 480, 4));
  const Reply video = request(b.port, "GET", target_of(std::string(t.at("outputUrl").as_string())));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(sha256_hex(video.body), done_sub.video_sha256);
  // The unfinished task finishes in the new emulator; the upload is still known.
  EXPECT_EQ(b.wait_terminal(running_id).back(), "success");
  EXPECT_EQ(b.submit_ok({{"prompt", "<<<R>>>"}, {"inputImages", json::array{json::object{{"name", "R"}, {"ossKey", oss_key}}}}})
                .size(),
            16u);
  EXPECT_EQ(b.call("GET", "/video/tasks").result().at("total").as_int64(), 3);
}

}  // namespace
}  // namespace reelbatch::emulator
