#include "storage/journal_writer.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace paperboy::broker::storage {

namespace {

constexpr std::array<std::int64_t, 15> fsync_bounds_ns{
    50'000,      100'000,     250'000,     500'000,       1'000'000,
    2'500'000,   5'000'000,   10'000'000,  25'000'000,    50'000'000,
    100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000};
constexpr std::array<std::uint64_t, 7> batch_size_bounds{1, 4, 16, 64, 256, 1024, 4096};

template <class Bounds>
std::size_t bucket_of(const Bounds& bounds, typename Bounds::value_type value) {
  return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                  bounds.begin());
}

}  // namespace

JournalWriter::JournalWriter(std::filesystem::path journal_dir,
                             std::chrono::milliseconds retry_interval, JournalTestHooks hooks,
                             Done done)
    : dir_(std::move(journal_dir)),
      retry_interval_(retry_interval),
      hooks_(std::move(hooks)),
      done_(std::move(done)),
      reaper_(dir_),
      thread_([this] { run(); }) {}

JournalWriter::~JournalWriter() {
  stop();
}

void JournalWriter::submit(Batch batch) {
  {
    const std::lock_guard lock(mutex_);
    queued_.push_back(std::move(batch));
  }
  wake_.notify_one();
}

void JournalWriter::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  reaper_.stop();
}

WriterStats JournalWriter::stats() const {
  WriterStats stats;
  {
    const std::lock_guard lock(mutex_);
    stats = stats_;
  }
  stats.deleted_segments = reaper_.removed();
  return stats;
}

void JournalWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (failing_) {
      wake_.wait_until(lock, retry_at_, [this] { return stopping_; });
    } else {
      wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
    }
    const bool last = stopping_;
    for (auto& batch : queued_) pending_.push_back(std::move(batch));
    queued_.clear();
    lock.unlock();
    if (!pending_.empty()) attempt();
    lock.lock();
    if (last && queued_.empty()) {
      if (!pending_.empty()) {
        spdlog::error("storage.unwritten_at_close batches={} first={} last={}", pending_.size(),
                      pending_.front().number, pending_.back().number);
      }
      return;
    }
  }
}

void JournalWriter::attempt() {
  std::uint64_t records = 0;
  const std::error_code ec = write_pending(records);
  const std::uint64_t through = pending_.back().number;
  if (ec) {
    roll_back();
    {
      const std::lock_guard lock(mutex_);
      ++stats_.write_failures;
    }
    if (!failing_) {
      spdlog::error("storage.write_failed error={:?} batches_through={} retry_in_ms={}",
                    ec.message(), through, retry_interval_.count());
    } else {
      still_failing_("storage.still_failing error={:?}", ec.message());
    }
    failing_ = true;
    retry_at_ = std::chrono::steady_clock::now() + retry_interval_;
    done_(durable_through_, through, ec);
    return;
  }
  if (failing_) spdlog::warn("storage.writable_again batches_through={}", through);
  failing_ = false;
  durable_through_ = through;
  hand_over_settled_segments();
  {
    const std::lock_guard lock(mutex_);
    ++stats_.batch_size_buckets[bucket_of(batch_size_bounds, records)];
  }
  pending_.clear();
  // Only the head segment is written again: keep its descriptor, close the others.
  while (files_.size() > 1) files_.erase(files_.begin());
  done_(durable_through_, 0, {});
}

std::error_code JournalWriter::write_pending(std::uint64_t& records) {
  good_size_.clear();
  for (const auto& batch : pending_) {
    for (const auto& chunk : batch.chunks) good_size_.try_emplace(chunk.segment, chunk.offset);
  }
  int current = -1;
  for (auto& batch : pending_) {
    records += batch.records;
    for (auto& chunk : batch.chunks) {
      std::error_code ec;
      const int fd = file_for(chunk.segment, true, ec);
      if (ec) return ec;
      // A segment is complete on disk before the next one holds anything, so recovery can
      // expect a torn record only at the end of the last segment.
      if (current >= 0 && fd != current) {
        if ((ec = sync(current))) return ec;
      }
      current = fd;
      if ((ec = fill(chunk)) || (ec = write_chunk(fd, chunk))) return ec;
    }
  }
  if (current >= 0) {
    if (const auto ec = sync(current)) return ec;
  }
  // A segment created by an attempt that failed still needs its directory entry made durable.
  if (directory_unsynced_) {
    if (const auto ec = sync_directory(dir_)) return ec;
    directory_unsynced_ = false;
  }
  return {};
}

std::error_code JournalWriter::write_chunk(int fd, const Chunk& chunk) {
  std::size_t done = 0;
  while (done < chunk.bytes.size()) {
    std::size_t length = chunk.bytes.size() - done;
    std::error_code injected;
    if (hooks_.before_write) injected = hooks_.before_write(length);
    if (length > 0) {
      const auto wrote =
          ::pwrite(fd, chunk.bytes.data() + done, length, static_cast<off_t>(chunk.offset + done));
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote < 0) return last_error();
      done += static_cast<std::size_t>(wrote);
    }
    if (injected) return injected;
  }
  return {};
}

std::error_code JournalWriter::fill(Chunk& chunk) {
  // Neighbouring records of one segment are copied with one read.
  for (std::size_t i = 0; i < chunk.fills.size();) {
    const Fill first = chunk.fills[i];
    std::size_t size = first.size;
    for (++i; i < chunk.fills.size(); ++i) {
      const Fill& next = chunk.fills[i];
      if (next.from_segment != first.from_segment || next.from_offset != first.from_offset + size ||
          next.at != first.at + size) {
        break;
      }
      size += next.size;
    }
    std::error_code ec;
    const int fd = file_for(first.from_segment, false, ec);
    if (ec) return ec;
    std::size_t done = 0;
    while (done < size) {
      const auto got = ::pread(fd, chunk.bytes.data() + first.at + done, size - done,
                               static_cast<off_t>(first.from_offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return last_error();
      if (got == 0) return std::make_error_code(std::errc::io_error);  // the record is gone
      done += static_cast<std::size_t>(got);
    }
  }
  return {};
}

std::error_code JournalWriter::sync(int fd) {
  if (hooks_.before_sync) hooks_.before_sync();
  const auto started = std::chrono::steady_clock::now();
  if (::fdatasync(fd) != 0) return last_error();
  const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  const std::lock_guard lock(mutex_);
  ++stats_.fsyncs;
  ++stats_.fsync_latency_buckets[bucket_of(fsync_bounds_ns, took)];
  stats_.fsync_latency_sum_ns += static_cast<std::uint64_t>(took);
  return {};
}

void JournalWriter::hand_over_settled_segments() {
  std::vector<std::uint64_t> settled;
  for (const auto& batch : pending_) {
    for (const auto number : batch.delete_after) {
      files_.erase(number);  // closed here, so the blocks are freed by the reaper's unlink
      settled.push_back(number);
    }
  }
  reaper_.remove(settled);
}

void JournalWriter::roll_back() {
  // A partly written batch leaves bytes behind the last good offset; cut them so a retry, or
  // recovery after a crash, starts from records that were whole.
  for (const auto& [number, size] : good_size_) {
    const auto it = files_.find(number);
    if (it != files_.end() && ::ftruncate(it->second.get(), static_cast<off_t>(size)) != 0) {
      spdlog::warn("storage.truncate_failed segment={} error={:?}", number, last_error().message());
    }
  }
}

int JournalWriter::file_for(std::uint64_t segment, bool create, std::error_code& ec) {
  if (const auto it = files_.find(segment); it != files_.end()) return it->second.get();
  const auto file = segment_path(dir_, segment);
  FileDescriptor fd;
  if (create) {
    fd = FileDescriptor(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (fd) directory_unsynced_ = true;
  }
  if (!fd) fd = FileDescriptor(::open(file.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    ec = last_error();
    return -1;
  }
  const int raw = fd.get();
  files_.emplace(segment, std::move(fd));
  return raw;
}

}  // namespace paperboy::broker::storage
