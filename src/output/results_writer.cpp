#include "src/output/results_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace reelbatch {

using Clock = std::chrono::steady_clock;

ResultsWriter::ResultsWriter(StoreOpener open_store, ResultsContext ctx, std::chrono::milliseconds min_interval)
    : open_store_(std::move(open_store)), ctx_(std::move(ctx)), min_interval_(min_interval) {
  thread_ = std::thread([this] { run(); });
}

ResultsWriter::~ResultsWriter() {
  flush(Probe::none);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ResultsWriter::mark_dirty(std::int64_t batch_id) {
  {
    std::lock_guard lock(mu_);
    if (dirty_.count(batch_id)) return;
    const auto interval = interval_.count(batch_id) ? interval_[batch_id] : min_interval_;
    const auto last = last_write_.find(batch_id);
    dirty_[batch_id] = last == last_write_.end() ? Clock::now() : std::max(Clock::now(), last->second + interval);
  }
  wake_.notify_all();
}

void ResultsWriter::flush() { flush(Probe::all); }

void ResultsWriter::flush(Probe probe) {
  std::unique_lock lock(mu_);
  flush_probe_ = probe;
  const std::uint64_t ticket = ++flush_requested_;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket; });
}

std::uint64_t ResultsWriter::rewrites() const {
  std::lock_guard lock(mu_);
  return rewrites_;
}

bool ResultsWriter::write_one(std::int64_t batch_id, Probe probe) {
  try {
    if (!store_) store_ = open_store_();
    const auto started = Clock::now();
    ResultsContext ctx = ctx_;
    if (probe == Probe::none) ctx.probe = false;
    if (probe == Probe::all) ctx.probe_budget = std::chrono::hours(24);
    write_results_files(*store_, batch_id, ctx, &cache_);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    std::lock_guard lock(mu_);
    ++rewrites_;
    last_write_[batch_id] = Clock::now();
    interval_[batch_id] = std::max(min_interval_, 2 * took);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("results: cannot write the results files of batch {}: {}; trying again later", batch_id, e.what());
    store_.reset();  // a broken connection is reopened
    return false;
  }
}

void ResultsWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    const bool flushing = flush_requested_ > flush_done_;
    if (flushing) {
      // Everything dirty now, regardless of the interval.
      const std::uint64_t ticket = flush_requested_;
      const Probe probe = flush_probe_;
      std::vector<std::int64_t> ids;
      for (const auto& [id, at] : dirty_) ids.push_back(id);
      dirty_.clear();
      lock.unlock();
      std::vector<std::int64_t> failed;
      for (auto id : ids)
        if (!write_one(id, probe)) failed.push_back(id);
      lock.lock();
      for (auto id : failed) dirty_.emplace(id, Clock::now() + min_interval_);
      flush_done_ = ticket;
      flushed_.notify_all();
      continue;
    }
    if (stop_) return;
    // The batch due first.
    auto due = std::min_element(dirty_.begin(), dirty_.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    if (due == dirty_.end()) {
      wake_.wait(lock);
      continue;
    }
    if (due->second > Clock::now()) {
      wake_.wait_until(lock, due->second);
      continue;
    }
    const std::int64_t id = due->first;
    dirty_.erase(due);
    lock.unlock();
    const bool ok = write_one(id, Probe::budget);
    lock.lock();
    if (!ok) dirty_.emplace(id, Clock::now() + min_interval_);
  }
}

}  // namespace reelbatch
