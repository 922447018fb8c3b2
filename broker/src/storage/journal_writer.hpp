#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "rate_limited_log.hpp"
#include "storage/journal.hpp"
#include "storage/segment_files.hpp"
#include "storage/segment_reaper.hpp"

namespace paperboy::broker::storage {

/// Bytes of a compacted record to copy from an older segment into a chunk (read by the writer,
/// so the loop never touches the disk).
struct Fill {
  std::size_t at = 0;  // in the chunk's bytes
  std::uint64_t from_segment = 0;
  std::uint64_t from_offset = 0;
  std::uint32_t size = 0;
};

/// Contiguous bytes for one segment, starting at `offset`.
struct Chunk {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::string bytes;
  std::vector<Fill> fills;
};

/// What one loop turn appended: written and fsync'd before its number is reported durable.
struct Batch {
  std::uint64_t number = 0;
  std::uint64_t records = 0;
  std::vector<Chunk> chunks;
  std::vector<std::uint64_t> delete_after;  // segments to unlink once this batch is on disk
};

/// What the writer thread counts.
struct WriterStats {
  std::uint64_t fsyncs = 0, write_failures = 0, deleted_segments = 0;
  std::array<std::uint64_t, 16> fsync_latency_buckets{};
  std::uint64_t fsync_latency_sum_ns = 0;
  std::array<std::uint64_t, 8> batch_size_buckets{};
};

/// The thread that writes and fdatasyncs batches. Batches queued while it works are written
/// together with one fdatasync per segment touched: group commit across loop turns. A failed
/// write is retried every `retry_interval` with everything queued behind it.
class JournalWriter {
 public:
  /// Runs on the writer thread after each attempt: (highest batch on disk, highest batch that
  /// failed or 0, error).
  using Done = std::function<void(std::uint64_t, std::uint64_t, std::error_code)>;

  JournalWriter(std::filesystem::path journal_dir, std::chrono::milliseconds retry_interval,
                JournalTestHooks hooks, Done done);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void submit(Batch batch);
  /// Writes what is queued (one attempt if the disk is refusing), then joins the thread.
  void stop();
  /// After stop(): every batch submitted is on disk.
  bool wrote_everything() const noexcept { return pending_.empty() && !failing_; }
  WriterStats stats() const;

 private:
  void run();
  void attempt();
  std::error_code write_pending(std::uint64_t& records);
  std::error_code write_chunk(int fd, const Chunk& chunk);
  std::error_code fill(Chunk& chunk);
  std::error_code sync(int fd);
  void hand_over_settled_segments();
  void roll_back();
  int file_for(std::uint64_t segment, bool create, std::error_code& ec);

  const std::filesystem::path dir_;
  const std::chrono::milliseconds retry_interval_;
  const JournalTestHooks hooks_;
  const Done done_;
  SegmentReaper reaper_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Batch> queued_;
  bool stopping_ = false;
  WriterStats stats_;

  // Writer thread only.
  std::vector<Batch> pending_;  // taken from queued_, not yet on disk
  std::map<std::uint64_t, FileDescriptor> files_;
  std::map<std::uint64_t, std::uint64_t> good_size_;  // per segment touched by pending_
  RateLimitedLog still_failing_{spdlog::level::warn, std::chrono::seconds(10)};
  bool failing_ = false;
  bool directory_unsynced_ = false;  // a segment was created since the last directory fsync
  std::uint64_t durable_through_ = 0;
  std::chrono::steady_clock::time_point retry_at_{};
  std::thread thread_;
};

}  // namespace paperboy::broker::storage
