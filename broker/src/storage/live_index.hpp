#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "storage/journal.hpp"

namespace paperboy::broker::storage {

/// Where a live (not yet settled) ENQUEUE record is.
struct Location {
  std::uint64_t segment = 0;
  std::uint32_t offset = 0;           // segments stay under 4 GiB (segment_bytes is at most 2 GiB)
  std::uint32_t size = 0;             // the whole record
  std::uint32_t recovered_index = 0;  // recovery only: its place in RecoveryReport::messages
  /// DELIVERED records for it since its ENQUEUE (a compacted copy is followed by as many).
  std::uint32_t deliveries = 0;
  /// The batch its record (or the copy it was moved to) was appended in; 0: read at recovery.
  /// It can be read back once that batch is on disk.
  std::uint64_t batch = 0;
};

/// One segment's share of the log, for deciding what to delete or compact.
struct SegmentState {
  std::uint64_t number = 0;
  std::uint64_t bytes = 0;       // all records in it
  std::uint64_t live_bytes = 0;  // its live ENQUEUE records
  std::vector<MessageId>
      enqueued;  // every ENQUEUE written to it, in file order (some settled since)
};

/// The journal's knowledge of the log: each live id's record and each segment's live share.
/// Loop thread only (recovery builds it before the loop runs).
struct LiveIndex {
  std::deque<SegmentState> segments;  // oldest first; back() is the head being written
  std::unordered_map<MessageId, Location> live;
  std::uint64_t disk_bytes = 0;
  std::uint64_t live_bytes = 0;

  /// The segment with this number (nullptr when it is gone).
  SegmentState* find(std::uint64_t number) noexcept;
  /// Records a live ENQUEUE at the end of `segment`; true when the id was live already (a
  /// compacted copy recovery finds next to its original).
  bool add(MessageId id, SegmentState& segment, std::uint32_t offset, std::uint32_t size,
           Location** location = nullptr);
  /// Forgets a settled id; false if it was not live.
  bool settle(MessageId id);
};

}  // namespace paperboy::broker::storage
