#pragma once

#include <chrono>
#include <cstdint>

namespace paperboy::bench {

/// Nanoseconds on the monotonic clock: what payload timestamps and latencies are measured in.
/// Publishers and subscribers live in one process, so their clocks are the same clock.
inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

/// Seconds between two now_ns() readings.
inline double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) noexcept {
  return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

}  // namespace paperboy::bench
