#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

#include "paperboy/broker/snapshot.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

/// A latency distribution with fixed buckets from 10 µs to 30 s, the shape Prometheus expects.
/// Observing is a search over 19 bounds and two additions; callers sample, so it is not per
/// message.
class LatencyHistogram {
 public:
  void observe_ns(std::int64_t ns) noexcept {
    if (ns < 0) ns = 0;  // the Unix clock stepped back between publish and now
    const auto bucket =
        std::lower_bound(bounds_ns.begin(), bounds_ns.end(), ns) - bounds_ns.begin();
    ++counts_[static_cast<std::size_t>(bucket)];
    sum_ns_ += static_cast<std::uint64_t>(ns);
    ++count_;
  }

  Histogram snapshot() const {
    Histogram taken;
    for (const auto bound : bounds_ns) taken.upper_bounds_seconds.push_back(double(bound) / 1e9);
    taken.bucket_counts.assign(counts_.begin(), counts_.end());
    taken.sum_seconds = double(sum_ns_) / 1e9;
    taken.count = count_;
    return taken;
  }

 private:
  static constexpr std::array<std::int64_t, 19> bounds_ns{
      10'000,        25'000,        50'000,         100'000,       250'000,
      500'000,       1'000'000,     2'500'000,      5'000'000,     10'000'000,
      25'000'000,    50'000'000,    100'000'000,    250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 10'000'000'000, 30'000'000'000};
  std::array<std::uint64_t, bounds_ns.size() + 1> counts_{};
  std::uint64_t sum_ns_ = 0;
  std::uint64_t count_ = 0;
};

/// Deliveries between two samples of a latency: one clock read per this many.
inline constexpr std::uint64_t latency_sample_every = 64;

/// Now as Unix ns, the clock a message's published_at is stamped with.
inline std::int64_t unix_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The published_at of a version-2 MSG frame (what queues keep).
inline std::uint64_t frame_published_at(const SharedBuffer& frame) noexcept {
  return protocol::msg_published_at(frame.view().substr(protocol::frame_header_size));
}

}  // namespace paperboy::broker
