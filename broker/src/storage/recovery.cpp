#include "storage/recovery.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "storage/record.hpp"
#include "storage/segment_files.hpp"

namespace paperboy::broker::storage {

namespace {

constexpr std::size_t nowhere = std::numeric_limits<std::size_t>::max();

// The next offset at or after `from` where a whole record with a good CRC starts. A CRC that
// matches by chance in damaged bytes is a 1 in 4 billion event per candidate.
std::size_t next_valid_record(std::string_view bytes, std::size_t from) {
  for (std::size_t at = from; at + record_header_size <= bytes.size(); ++at) {
    if (parse_record(bytes.substr(at)).status == ParsedRecord::Status::ok) return at;
  }
  return nowhere;
}

class Recovery {
 public:
  explicit Recovery(bool skip_corrupt) : skip_corrupt_(skip_corrupt) {}

  void read_segment(const std::filesystem::path& file, std::uint64_t number, bool last) {
    read_whole_file(file, contents_);
    const std::string_view bytes(contents_.data.get(), contents_.size);
    auto& segment = result_.index.segments.emplace_back();
    segment.number = number;
    std::size_t at = 0;
    while (at < bytes.size()) {
      const ParsedRecord record = parse_record(bytes.substr(at));
      if (record.status == ParsedRecord::Status::ok) {
        apply(record, segment, at);
        at += record.size;
        continue;
      }
      const std::size_t resume = next_valid_record(bytes, at + 1);
      if (last && resume == nowhere) {
        truncate(file, at, bytes.size() - at);
        break;
      }
      if (!skip_corrupt_) throw CorruptJournal(file.string(), at, record.why);
      const std::size_t skipped = (resume == nowhere ? bytes.size() : resume) - at;
      spdlog::warn("storage.skip_corrupt file={:?} offset={} bytes={} why={:?}", file.string(), at,
                   skipped, record.why);
      ++result_.report.skipped_records;
      result_.report.skipped_bytes += skipped;
      at += skipped;
    }
    segment.bytes = at;
    result_.index.disk_bytes += at;
    result_.report.bytes += at;
    ++result_.report.segments;
  }

  /// Sizes the tables for a log of this many bytes (most records are ENQUEUEs of 100+ bytes).
  void expect(std::uintmax_t bytes) {
    const auto records = static_cast<std::size_t>(bytes / 128);
    result_.index.live.reserve(records);
    result_.report.messages.reserve(records);
  }

  RecoveredJournal finish() {
    auto& messages = result_.report.messages;
    messages.erase(std::remove_if(messages.begin(), messages.end(),
                                  [](const StoredMessage& message) { return message.id == 0; }),
                   messages.end());
    // Ids grow in append order; only a compacted copy can come later than younger ids.
    const auto by_id = [](const StoredMessage& a, const StoredMessage& b) { return a.id < b.id; };
    if (!std::is_sorted(messages.begin(), messages.end(), by_id)) {
      std::sort(messages.begin(), messages.end(), by_id);
    }
    result_.next_id = std::max(result_.next_id, max_id_ + 1);
    return std::move(result_);
  }

 private:
  void apply(const ParsedRecord& record, SegmentState& segment, std::size_t offset) {
    ++result_.report.records;
    if (record.type == RecordType::segment_start) {
      result_.next_id = std::max(result_.next_id, record.id);
      return;
    }
    max_id_ = std::max(max_id_, record.id);
    auto& messages = result_.report.messages;
    auto& index = result_.index;
    switch (record.type) {
      case RecordType::enqueue: {
        Location* location = nullptr;
        if (index.add(record.id, segment, static_cast<std::uint32_t>(offset),
                      static_cast<std::uint32_t>(record.size), &location)) {
          // A compacted copy of a message known already: the DELIVERED records that follow
          // the copy repeat every one before it, so the count starts again here.
          location->deliveries = 0;
          messages[location->recovered_index].deliveries = 0;
          return;
        }
        location->recovered_index = static_cast<std::uint32_t>(messages.size());
        auto& message = messages.emplace_back();
        message.id = record.id;
        message.queue = record.queue;
        message.frame = record.frame;
        message.failures = record.failures;
        message.expires_unix_ms = record.expires_unix_ms;
        return;
      }
      case RecordType::delivered: {
        const auto it = index.live.find(record.id);
        if (it == index.live.end()) return;
        ++it->second.deliveries;
        ++messages[it->second.recovered_index].deliveries;
        return;
      }
      case RecordType::settled: {
        const auto it = index.live.find(record.id);
        if (it == index.live.end()) return;
        messages[it->second.recovered_index].id = 0;
        index.settle(record.id);
        return;
      }
      case RecordType::segment_start: return;
    }
  }

  void truncate(const std::filesystem::path& file, std::size_t at, std::size_t torn) {
    spdlog::warn("storage.torn_tail file={:?} offset={} bytes={}", file.string(), at, torn);
    if (::truncate(file.c_str(), static_cast<off_t>(at)) != 0) {
      throw std::system_error(last_error(), "truncate " + file.string());
    }
    result_.report.torn_tail_bytes += torn;
  }

  bool skip_corrupt_;
  FileBytes contents_;
  RecoveredJournal result_;
  MessageId max_id_ = 0;
};

}  // namespace

RecoveredJournal recover_journal(const std::filesystem::path& journal_dir, bool skip_corrupt) {
  const auto started = std::chrono::steady_clock::now();
  Recovery recovery(skip_corrupt);
  const auto numbers = list_segments(journal_dir);
  std::uintmax_t total_bytes = 0;
  for (const auto number : numbers) {
    total_bytes += std::filesystem::file_size(segment_path(journal_dir, number));
  }
  recovery.expect(total_bytes);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    recovery.read_segment(segment_path(journal_dir, numbers[i]), numbers[i],
                          i + 1 == numbers.size());
  }
  auto recovered = recovery.finish();
  recovered.report.duration = std::chrono::steady_clock::now() - started;
  return recovered;
}

}  // namespace paperboy::broker::storage
