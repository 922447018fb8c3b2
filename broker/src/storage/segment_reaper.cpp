#include "storage/segment_reaper.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "storage/segment_files.hpp"

namespace paperboy::broker::storage {

SegmentReaper::SegmentReaper(std::filesystem::path journal_dir)
    : dir_(std::move(journal_dir)), thread_([this] { run(); }) {}

SegmentReaper::~SegmentReaper() {
  stop();
}

void SegmentReaper::remove(const std::vector<std::uint64_t>& segments) {
  if (segments.empty()) return;
  {
    const std::lock_guard lock(mutex_);
    queued_.insert(queued_.end(), segments.begin(), segments.end());
  }
  wake_.notify_one();
}

void SegmentReaper::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t SegmentReaper::removed() const {
  const std::lock_guard lock(mutex_);
  return removed_;
}

void SegmentReaper::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, and nothing left
    const std::vector<std::uint64_t> segments = std::move(queued_);
    queued_.clear();
    lock.unlock();
    std::uint64_t removed = 0;
    for (const auto number : segments) {
      const auto file = segment_path(dir_, number);
      if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
        spdlog::error("storage.delete_failed file={:?} error={:?}", file.string(),
                      last_error().message());
        continue;
      }
      // Each unlink is durable before the next: after a crash an older segment may come back
      // (its messages are settled in younger ones, which are still there), never a younger one
      // alone, which would take SETTLED records for an older one's messages with it.
      if (const auto ec = sync_directory(dir_)) {
        spdlog::error("storage.sync_dir_failed error={:?}", ec.message());
      }
      ++removed;
    }
    lock.lock();
    removed_ += removed;
  }
}

}  // namespace paperboy::broker::storage
