#pragma once

#include <asio/any_io_executor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace paperboy::broker::storage {

using MessageId = std::uint64_t;  // 0: not durable

/// A live message found by recovery.
struct StoredMessage {
  MessageId id = 0;
  std::string queue;           // channel name, e.g. "/queue/invoices"
  std::string frame;           // the version-2 MSG frame, as appended
  std::uint32_t failures = 0;  // as appended (a message appended again keeps its count)
  /// Times it was handed out (manual ack) and not acked: each is a failure, as a NACK or a
  /// consumer leaving would have counted it; non-zero flags its next delivery redelivered.
  std::uint32_t deliveries = 0;
  std::uint64_t expires_unix_ms = 0;  // 0: never
};

/// What recovery found and what it had to repair.
struct RecoveryReport {
  std::vector<StoredMessage> messages;  // live ones, in append order (per queue = publish order)
  std::uint64_t segments = 0, records = 0, bytes = 0;
  std::uint64_t torn_tail_bytes = 0;  // truncated off the end
  /// False after a crash (no clean close marked the journal): a message handed out in the last
  /// batches may have no DELIVERED record on disk, so every recovered one may have been.
  bool clean_shutdown = true;
  std::uint64_t skipped_records = 0, skipped_bytes = 0;  // --recover skip-corrupt
  std::chrono::nanoseconds duration{};
};

/// A bad record before the end of the journal; what() names the file and byte offset.
class CorruptJournal : public std::runtime_error {
 public:
  CorruptJournal(std::string file, std::uint64_t offset, std::string why);
  const std::string& file() const noexcept { return file_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::string file_;
  std::uint64_t offset_;
};

/// Tests only: seams into the writer thread (both run on it).
struct JournalTestHooks {
  /// Before each write of `length` bytes: may lower `length` (that many bytes are written) and
  /// return an error, which then fails the write as if the disk had refused it.
  std::function<std::error_code(std::size_t& length)> before_write;
  /// Before each fdatasync.
  std::function<void()> before_sync;
};

/// Where the journal lives and how it behaves.
struct JournalOptions {
  std::filesystem::path dir;  // --data-dir (created if missing)
  bool skip_corrupt = false;  // --recover skip-corrupt
  std::uint64_t segment_bytes = 64ull << 20;
  /// How long a failed writer waits before it tries the refused bytes again.
  std::chrono::milliseconds retry_interval{1000};
  JournalTestHooks hooks;
};

/// For /metrics and /stats.
struct JournalStats {
  std::uint64_t bytes_on_disk = 0, segments = 0, fsyncs = 0, batches = 0, records = 0,
                write_failures = 0, compacted_segments = 0, deleted_segments = 0;
  // le 0.05,0.1,0.25,0.5,1,2.5,5,10,25,50,100,250,500,1000,2500 ms,+Inf
  std::array<std::uint64_t, 16> fsync_latency_buckets{};
  std::uint64_t fsync_latency_sum_ns = 0;
  // records per fsync'd write (one group commit): le 1,4,16,64,256,1024,4096,+Inf
  std::array<std::uint64_t, 8> batch_size_buckets{};
  bool accepting = true;
  std::chrono::nanoseconds recovery_duration{};
  std::uint64_t live_messages = 0, live_bytes = 0;  // ENQUEUE records not yet settled
};

/// A live message read back from its ENQUEUE record (paging a durable backlog in).
struct ReadBack {
  enum class Status {
    ok,
    not_yet,     // its batch is not on disk yet: read again after the next commit
    not_live,    // settled, or never stored
    unreadable,  // the read failed or the record is damaged (logged): the message is lost
  };
  Status status = Status::not_live;
  std::string_view frame;  // valid until the next read()
  /// As appended, plus one for each DELIVERED record since (a hand-out not acked).
  std::uint32_t failures = 0;
  std::uint64_t expires_unix_ms = 0;
};

class JournalWriter;
class SegmentReader;
struct LiveIndex;
struct OpenBatch;
enum class RecordType : std::uint8_t;

/// The durable queues' write-ahead log: one per data dir, segmented, group-committed.
class Journal {
 public:
  /// Opens (and recovers) DIR on the calling thread; throws CorruptJournal or std::system_error.
  Journal(asio::any_io_executor loop, JournalOptions options);
  ~Journal();  // close()
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// What recovery found; moved out once, by the server that rebuilds its queues.
  RecoveryReport take_recovery();

  // Loop thread only. Cheap: a memcpy into the open batch, no syscall.
  MessageId append_enqueue(std::string_view queue, std::string_view frame, std::uint32_t failures,
                           std::uint64_t expires_unix_ms);
  void append_delivered(MessageId id);
  void append_settled(MessageId id);

  /// Reads a live message back from disk (a pread on the loop thread; the page cache as a rule).
  ReadBack read(MessageId id);

  /// The number of the batch the next append goes into; a publish whose ENQUEUE went into batch
  /// N is confirmed once on_committed reports N or more.
  std::uint64_t open_batch() const noexcept { return open_batch_number_; }
  /// One observer (the server): runs on the loop after each batch: (highest batch now on disk,
  /// error). On error, batches after the last good one up to `failed_through` failed; on success
  /// `failed_through` is 0.
  using CommitHandler = std::function<void(std::uint64_t durable_through,
                                           std::uint64_t failed_through, std::error_code)>;
  void on_committed(CommitHandler handler);
  /// False while the disk refuses writes (durable publishes get ERR 12).
  bool accepting() const noexcept { return accepting_; }
  JournalStats stats() const;
  /// Writes and fsyncs what is open, stops the writer. Idempotent.
  void close();

 private:
  void append_id_record(RecordType type, MessageId id);
  void write_segment_start();
  /// Room for one record at the end of the open batch (rolling the head segment when full).
  char* reserve(std::size_t record_bytes);
  void schedule_flush();
  void flush();
  void hand_off();
  void reclaim_front_segment();
  void copy_live_records(std::uint64_t segment);
  void committed(std::uint64_t durable_through, std::uint64_t failed_through, std::error_code ec);

  asio::any_io_executor loop_;
  JournalOptions options_;
  RecoveryReport recovery_;
  std::unique_ptr<LiveIndex> index_;
  std::unique_ptr<OpenBatch> open_;
  std::unique_ptr<JournalWriter> writer_;
  std::unique_ptr<SegmentReader> reader_;
  CommitHandler on_committed_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted handlers check it
  MessageId next_id_ = 1;
  std::uint64_t open_batch_number_ = 1;
  std::uint64_t durable_through_ = 0;  // the highest batch on disk
  std::uint64_t batches_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t compacted_segments_ = 0;
  std::chrono::nanoseconds recovery_duration_{};
  bool flush_posted_ = false;
  bool accepting_ = true;
  bool closed_ = false;
};

}  // namespace paperboy::broker::storage
