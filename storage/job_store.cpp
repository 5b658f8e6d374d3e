#include "storage/job_store.hpp"

#include <SQLiteCpp/Exception.h>
#include <unistd.h>

#include <array>
#include <random>

namespace reelbatch {

const char* to_string(AttemptOutcome o) {
  switch (o) {
    case AttemptOutcome::pending: return "pending";
    case AttemptOutcome::accepted: return "accepted";
    case AttemptOutcome::rejected: return "rejected";
    case AttemptOutcome::unknown: return "unknown";
    case AttemptOutcome::remote_failed: return "remote_failed";
    case AttemptOutcome::absent: return "absent";
  }
  return "unknown";
}

const char* to_string(WatchFileOutcome o) {
  switch (o) {
    case WatchFileOutcome::ingesting: return "ingesting";
    case WatchFileOutcome::processing: return "processing";
    case WatchFileOutcome::done: return "done";
    case WatchFileOutcome::failed: return "failed";
  }
  return "failed";
}

std::optional<WatchFileOutcome> watch_file_outcome_from_string(const std::string& s) {
  for (auto o : {WatchFileOutcome::ingesting, WatchFileOutcome::processing, WatchFileOutcome::done,
                 WatchFileOutcome::failed})
    if (s == to_string(o)) return o;
  return std::nullopt;
}

bool is_store_failure(const std::exception& e) {
  return dynamic_cast<const StoreError*>(&e) != nullptr || dynamic_cast<const SQLite::Exception*>(&e) != nullptr;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string make_owner_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::string name = host[0] ? std::string(host.data()) : std::string("localhost");
  std::random_device rd;
  std::uniform_int_distribution<unsigned> nibble(0, 15);
  std::string random(8, '0');
  for (auto& c : random) c = "0123456789abcdef"[nibble(rd)];
  return name + ":" + std::to_string(::getpid()) + ":" + random;
}

}  // namespace reelbatch
