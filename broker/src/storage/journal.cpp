#include "storage/journal.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "storage/journal_writer.hpp"
#include "storage/live_index.hpp"
#include "storage/record.hpp"
#include "storage/recovery.hpp"
#include "storage/segment_files.hpp"
#include "storage/segment_reader.hpp"

namespace paperboy::broker::storage {

namespace {
/// Left in the journal directory by a close that wrote everything; removed at start.
constexpr const char* clean_marker = "clean";
}  // namespace

/// What this loop turn appended so far.
struct OpenBatch {
  std::vector<Chunk> chunks;
  std::vector<std::uint64_t> delete_after;
  std::uint64_t records = 0;

  bool empty() const noexcept { return chunks.empty() && delete_after.empty(); }
};

namespace {

// Location keeps 32-bit offsets; a record may be up to 1 GiB past a segment's limit.
constexpr std::uint64_t max_segment_bytes = 2ull << 30;
constexpr std::uint64_t min_segment_bytes = 64;

}  // namespace

CorruptJournal::CorruptJournal(std::string file, std::uint64_t offset, std::string why)
    : std::runtime_error(
          fmt::format("corrupt journal record in {} at byte offset {}: {}", file, offset, why)),
      file_(std::move(file)),
      offset_(offset) {}

Journal::Journal(asio::any_io_executor loop, JournalOptions options)
    : loop_(std::move(loop)), options_(std::move(options)), open_(std::make_unique<OpenBatch>()) {
  if (options_.segment_bytes < min_segment_bytes || options_.segment_bytes > max_segment_bytes) {
    throw std::invalid_argument(fmt::format("segment size {} is outside [{}, {}]",
                                            options_.segment_bytes, min_segment_bytes,
                                            max_segment_bytes));
  }
  const auto dir = journal_directory(options_.dir);
  if (std::filesystem::create_directories(dir)) {
    for (const auto& created : {options_.dir, dir}) {
      if (const auto ec =
              sync_directory(created.parent_path().empty() ? "." : created.parent_path())) {
        throw std::system_error(ec, "fsync " + created.parent_path().string());
      }
    }
  }
  // The marker a clean close leaves is taken away (durably) before anything else is written, so
  // that a crash in this run is never mistaken for a clean end.
  std::error_code no_marker;
  const bool closed_cleanly = std::filesystem::remove(dir / clean_marker, no_marker);
  if (closed_cleanly) {
    if (const auto ec = sync_directory(dir)) throw std::system_error(ec, "fsync " + dir.string());
  }
  auto recovered = recover_journal(dir, options_.skip_corrupt);
  recovery_ = std::move(recovered.report);
  recovery_.clean_shutdown = closed_cleanly || recovery_.records == 0;
  recovery_duration_ = recovery_.duration;
  index_ = std::make_unique<LiveIndex>(std::move(recovered.index));
  next_id_ = recovered.next_id;
  spdlog::info(
      "storage.recovered dir={:?} segments={} records={} bytes={} messages={} torn_tail_bytes={} "
      "skipped_records={} skipped_bytes={} ms={:.1f}",
      dir.string(), recovery_.segments, recovery_.records, recovery_.bytes,
      recovery_.messages.size(), recovery_.torn_tail_bytes, recovery_.skipped_records,
      recovery_.skipped_bytes, double(recovery_.duration.count()) / 1e6);
  // Every run starts by writing the next id to the head: ids are never reused, even when the
  // segments that held the highest ones are gone.
  if (index_->segments.empty()) index_->segments.emplace_back().number = 1;
  write_segment_start();
  reader_ = std::make_unique<SegmentReader>(dir);
  writer_ = std::make_unique<JournalWriter>(
      dir, options_.retry_interval, options_.hooks,
      [this, alive = std::weak_ptr<int>(alive_)](std::uint64_t durable_through,
                                                 std::uint64_t failed_through, std::error_code ec) {
        asio::post(loop_, [this, alive, durable_through, failed_through, ec] {
          if (alive.lock()) committed(durable_through, failed_through, ec);
        });
      });
  // Segments left empty or sparse by the previous run are reclaimed by the first flush.
  schedule_flush();
}

Journal::~Journal() {
  close();
}

RecoveryReport Journal::take_recovery() {
  return std::exchange(recovery_, {});
}

MessageId Journal::append_enqueue(std::string_view queue, std::string_view frame,
                                  std::uint32_t failures, std::uint64_t expires_unix_ms) {
  if (queue.size() > 0xFFFF) throw std::length_error("queue name too long for the journal");
  const MessageId id = next_id_++;
  const std::size_t size = enqueue_record_size(queue, frame);
  write_enqueue_record(reserve(size), id, queue, frame, failures, expires_unix_ms);
  auto& head = index_->segments.back();
  Location* location = nullptr;
  index_->add(id, head, static_cast<std::uint32_t>(head.bytes - size),
              static_cast<std::uint32_t>(size), &location);
  location->batch = open_batch_number_;
  return id;
}

void Journal::append_delivered(MessageId id) {
  const auto it = index_->live.find(id);
  if (it == index_->live.end()) return;  // settled already: nothing left to flag
  ++it->second.deliveries;
  append_id_record(RecordType::delivered, id);
}

void Journal::append_settled(MessageId id) {
  if (!index_->settle(id)) return;
  append_id_record(RecordType::settled, id);
}

ReadBack Journal::read(MessageId id) {
  ReadBack back;
  const auto it = index_->live.find(id);
  if (it == index_->live.end()) return back;
  const Location& location = it->second;
  if (location.batch > durable_through_) {
    back.status = ReadBack::Status::not_yet;
    return back;
  }
  back.status = ReadBack::Status::unreadable;
  const auto read_record = [&](bool fresh, std::error_code& ec) {
    return parse_record(reader_->read(location.segment, location.offset, location.size, ec, fresh));
  };
  const auto holds = [id](const ParsedRecord& record) {
    return record.status == ParsedRecord::Status::ok && record.type == RecordType::enqueue &&
           record.id == id;
  };
  std::error_code ec;
  ParsedRecord record = read_record(false, ec);
  // Read ahead before the writer had finished it: read it again.
  if (!ec && !holds(record)) record = read_record(true, ec);
  if (ec) {
    spdlog::error("storage.read_failed id={} segment={} offset={} error={:?}", id, location.segment,
                  location.offset, ec.message());
    return back;
  }
  if (!holds(record)) {
    spdlog::error("storage.read_damaged id={} segment={} offset={} why={:?}", id, location.segment,
                  location.offset,
                  record.status != ParsedRecord::Status::ok ? record.why : "another record");
    return back;
  }
  back.status = ReadBack::Status::ok;
  back.frame = record.frame;
  back.failures = record.failures + location.deliveries;
  back.expires_unix_ms = record.expires_unix_ms;
  return back;
}

void Journal::append_id_record(RecordType type, MessageId id) {
  write_id_record(reserve(id_record_size), type, id);
}

void Journal::write_segment_start() {
  write_id_record(reserve(id_record_size), RecordType::segment_start, next_id_);
}

char* Journal::reserve(std::size_t record_bytes) {
  if (index_->segments.back().bytes > 0 &&
      index_->segments.back().bytes + record_bytes > options_.segment_bytes) {
    index_->segments.emplace_back().number = index_->segments.back().number + 1;
    write_segment_start();
  }
  auto& head = index_->segments.back();
  auto& chunks = open_->chunks;
  if (chunks.empty() || chunks.back().segment != head.number) {
    auto& chunk = chunks.emplace_back();
    chunk.segment = head.number;
    chunk.offset = head.bytes;
  }
  auto& bytes = chunks.back().bytes;
  const std::size_t at = bytes.size();
  bytes.resize(at + record_bytes);
  head.bytes += record_bytes;
  index_->disk_bytes += record_bytes;
  ++open_->records;
  schedule_flush();
  return bytes.data() + at;
}

void Journal::schedule_flush() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(loop_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.lock()) flush();
  });
}

void Journal::flush() {
  flush_posted_ = false;
  if (closed_) return;
  reclaim_front_segment();
  hand_off();
}

void Journal::hand_off() {
  if (open_->empty()) return;
  Batch batch;
  batch.number = open_batch_number_++;
  batch.records = open_->records;
  batch.chunks = std::move(open_->chunks);
  batch.delete_after = std::move(open_->delete_after);
  *open_ = OpenBatch{};
  ++batches_;
  records_ += batch.records;
  writer_->submit(std::move(batch));
}

// Only the oldest segment is ever reclaimed: a SETTLED record can then only refer to an ENQUEUE
// in its own segment or a younger one, so deleting a segment never brings a settled message
// back. A front segment stuck mostly live (a queue nobody drains) would keep every settled
// segment behind it, so it is also copied forward when the log is more than twice the live data.
// Copying stops for this turn after about a segment's worth: the writer reads and writes it, and
// the turn's own publishes wait for that batch.
void Journal::reclaim_front_segment() {
  auto& index = *index_;
  std::uint64_t copied = 0;
  while (index.segments.size() > 1 && copied < options_.segment_bytes) {
    const auto& front = index.segments.front();
    const std::uint64_t number = front.number;
    if (front.live_bytes > 0) {
      const bool sparse = front.live_bytes * 4 < front.bytes;
      const bool bloated = index.disk_bytes > 2 * index.live_bytes + 2 * options_.segment_bytes;
      if (!sparse && !bloated) return;
      copied += front.live_bytes;
      copy_live_records(number);
      ++compacted_segments_;
    }
    // Copying may have rolled the head; a deque keeps references then, but look again anyway.
    auto& gone = index.segments.front();
    reader_->forget(gone.number);
    open_->delete_after.push_back(gone.number);
    index.disk_bytes -= gone.bytes;
    index.segments.pop_front();
  }
}

void Journal::copy_live_records(std::uint64_t number) {
  auto& index = *index_;
  const std::vector<MessageId> ids = std::move(index.find(number)->enqueued);
  for (const MessageId id : ids) {
    const auto it = index.live.find(id);
    if (it == index.live.end() || it->second.segment != number) continue;
    const Location from = it->second;
    reserve(from.size);
    auto& chunk = open_->chunks.back();
    chunk.fills.push_back(Fill{chunk.bytes.size() - from.size, number, from.offset, from.size});
    auto& head = index.segments.back();
    index.find(number)->live_bytes -= from.size;
    head.live_bytes += from.size;
    head.enqueued.push_back(id);
    it->second.segment = head.number;
    it->second.offset = static_cast<std::uint32_t>(head.bytes - from.size);
    it->second.batch = open_batch_number_;
    // As many as the original had: each hand-out not acked counts one failure on recovery.
    for (std::uint32_t i = 0; i < from.deliveries; ++i) {
      append_id_record(RecordType::delivered, id);
    }
  }
}

void Journal::committed(std::uint64_t durable_through, std::uint64_t failed_through,
                        std::error_code ec) {
  accepting_ = !ec;
  durable_through_ = durable_through;
  if (on_committed_) on_committed_(durable_through, failed_through, ec);
}

void Journal::on_committed(CommitHandler handler) {
  on_committed_ = std::move(handler);
}

JournalStats Journal::stats() const {
  const WriterStats written = writer_ ? writer_->stats() : WriterStats{};
  JournalStats stats;
  stats.bytes_on_disk = index_->disk_bytes;
  stats.segments = index_->segments.size();
  stats.fsyncs = written.fsyncs;
  stats.batches = batches_;
  stats.records = records_;
  stats.write_failures = written.write_failures;
  stats.compacted_segments = compacted_segments_;
  stats.deleted_segments = written.deleted_segments;
  stats.fsync_latency_buckets = written.fsync_latency_buckets;
  stats.fsync_latency_sum_ns = written.fsync_latency_sum_ns;
  stats.batch_size_buckets = written.batch_size_buckets;
  stats.accepting = accepting_;
  stats.recovery_duration = recovery_duration_;
  stats.live_messages = index_->live.size();
  stats.live_bytes = index_->live_bytes;
  return stats;
}

void Journal::close() {
  if (closed_) return;
  hand_off();
  closed_ = true;
  if (reader_) reader_->clear();
  if (!writer_) return;
  writer_->stop();
  if (!writer_->wrote_everything()) return;
  // Everything is on disk, DELIVERED records included: the next start may trust them.
  const auto dir = journal_directory(options_.dir);
  const int fd = ::open((dir / clean_marker).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ::close(fd);
  if (sync_directory(dir)) spdlog::warn("storage.clean_marker_unsynced dir={:?}", dir.string());
}

}  // namespace paperboy::broker::storage
