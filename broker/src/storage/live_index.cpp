#include "storage/live_index.hpp"

#include <algorithm>

namespace paperboy::broker::storage {

SegmentState* LiveIndex::find(std::uint64_t number) noexcept {
  // Segments leave from the front only, so the numbers are ascending (gaps only after damage).
  const auto it = std::lower_bound(
      segments.begin(), segments.end(), number,
      [](const SegmentState& segment, std::uint64_t wanted) { return segment.number < wanted; });
  return it != segments.end() && it->number == number ? &*it : nullptr;
}

bool LiveIndex::add(MessageId id, SegmentState& segment, std::uint32_t offset, std::uint32_t size,
                    Location** location) {
  auto [it, inserted] = live.try_emplace(id);
  if (!inserted) {
    // A compacted copy found next to its original (a crash before the original's segment was
    // deleted): the copy is the one that stays.
    if (auto* before = find(it->second.segment)) before->live_bytes -= it->second.size;
    live_bytes -= it->second.size;
  }
  it->second.segment = segment.number;
  it->second.offset = offset;
  it->second.size = size;
  segment.live_bytes += size;
  segment.enqueued.push_back(id);
  live_bytes += size;
  if (location != nullptr) *location = &it->second;
  return !inserted;
}

bool LiveIndex::settle(MessageId id) {
  const auto it = live.find(id);
  if (it == live.end()) return false;
  if (auto* segment = find(it->second.segment)) segment->live_bytes -= it->second.size;
  live_bytes -= it->second.size;
  live.erase(it);
  return true;
}

}  // namespace paperboy::broker::storage
