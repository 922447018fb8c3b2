// TEMPORARY STUB of the contract's API (CONTRACT_durable.md) so the broker side compiles before
// the durable-storage branch lands; removed before merging it. Writes nothing.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace paperboy::broker::storage {
using MessageId = std::uint64_t;

struct StoredMessage {
  MessageId id = 0;
  std::string queue;
  std::string frame;
  std::uint32_t failures = 0;
  bool delivered = false;
  std::uint64_t expires_unix_ms = 0;
};

struct RecoveryReport {
  std::vector<StoredMessage> messages;
  std::uint64_t segments = 0, records = 0, bytes = 0;
  std::uint64_t torn_tail_bytes = 0;
  std::uint64_t skipped_records = 0, skipped_bytes = 0;
  std::chrono::nanoseconds duration{};
};

class CorruptJournal : public std::runtime_error {
 public:
  CorruptJournal(std::string file, std::uint64_t offset, std::string why)
      : std::runtime_error(why), file_(std::move(file)), offset_(offset) {}
  const std::string& file() const noexcept { return file_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::string file_;
  std::uint64_t offset_;
};

struct JournalOptions {
  std::filesystem::path dir;
  bool skip_corrupt = false;
  std::uint64_t segment_bytes = 64ull << 20;
};

struct JournalStats {
  std::uint64_t bytes_on_disk = 0, segments = 0, fsyncs = 0, batches = 0, records = 0,
                write_failures = 0, compacted_segments = 0, deleted_segments = 0;
  std::array<std::uint64_t, 16> fsync_latency_buckets{};
  std::uint64_t fsync_latency_sum_ns = 0;
  std::array<std::uint64_t, 8> batch_size_buckets{};
  bool accepting = true;
  std::chrono::nanoseconds recovery_duration{};
};

class Journal {
 public:
  Journal(asio::any_io_executor loop, JournalOptions options)
      : loop_(std::move(loop)), options_(std::move(options)) {}
  ~Journal() { close(); }
  RecoveryReport take_recovery() { return {}; }
  MessageId append_enqueue(std::string_view, std::string_view, std::uint32_t, std::uint64_t) {
    touch();
    return next_id_++;
  }
  void append_delivered(MessageId) { touch(); }
  void append_settled(MessageId) { touch(); }
  std::uint64_t open_batch() const noexcept { return batch_; }
  using CommitHandler =
      std::function<void(std::uint64_t durable_through, std::uint64_t failed_through,
                         std::error_code)>;
  void on_committed(CommitHandler handler) { handler_ = std::move(handler); }
  bool accepting() const noexcept { return true; }
  JournalStats stats() const { return {}; }
  void close() {}

 private:
  void touch() {
    if (posted_) return;
    posted_ = true;
    asio::post(loop_, [this] {
      posted_ = false;
      const auto done = batch_++;
      if (handler_) handler_(done, done, {});
    });
  }
  asio::any_io_executor loop_;
  JournalOptions options_;
  CommitHandler handler_;
  MessageId next_id_ = 1;
  std::uint64_t batch_ = 1;
  bool posted_ = false;
};
}  // namespace paperboy::broker::storage
