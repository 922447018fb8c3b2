#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace paperboy::bench {

/// What one receiving scope (a subscriber in fan-out, all consumers together in a queue) saw of
/// one publisher's numbered stream: a bit per sequence number, so duplicates and loss are exact
/// rather than inferred from counts. Written by one thread; `distinct()` may be read by another
/// (the publisher's flow-control window).
class SequenceTracker {
 public:
  explicit SequenceTracker(bool count_reordering) : count_reordering_(count_reordering) {}

  /// Records the arrival of `seq`.
  void record(std::uint32_t seq) {
    const std::size_t word = seq >> 6;
    if (word >= bits_.size())
      bits_.resize(word + 1 > 2 * bits_.size() ? word + 1 : 2 * bits_.size());
    const std::uint64_t mask = std::uint64_t{1} << (seq & 63);
    if (bits_[word] & mask) {
      ++duplicates_;
      return;
    }
    bits_[word] |= mask;
    distinct_.store(distinct_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (seq < next_) {
      if (count_reordering_) ++reordered_;
    } else {
      next_ = seq + 1;
    }
  }

  /// Different sequence numbers seen so far.
  std::uint64_t distinct() const noexcept { return distinct_.load(std::memory_order_relaxed); }
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  /// Arrivals numbered below one seen earlier (not counted for queue consumers taken together).
  std::uint64_t reordered() const noexcept { return reordered_; }

 private:
  std::vector<std::uint64_t> bits_;
  std::atomic<std::uint64_t> distinct_{0};
  std::uint64_t duplicates_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t next_ = 0;
  bool count_reordering_;
};

}  // namespace paperboy::bench
