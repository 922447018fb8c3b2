#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace paperboy::bench {

/// Log-linear histogram of nanosecond latencies: exact below 128 ns, then 64 buckets per power
/// of two (under 1.6% error), so recording is a few instructions and memory is fixed however
/// many millions of samples a run takes. The maximum is kept exactly.
class LatencyHistogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++counts_[index_of(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }

  /// Adds another histogram's samples to this one.
  void merge(const LatencyHistogram& other) noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }

  /// The latency below which `fraction` (0..1] of the samples fall; 0 without samples.
  std::uint64_t percentile(double fraction) const noexcept;

 private:
  static constexpr unsigned sub_bits = 6;
  static constexpr std::size_t bucket_count = (64 - sub_bits) * (std::size_t{1} << sub_bits) + 128;

  static std::size_t index_of(std::uint64_t ns) noexcept;
  static std::uint64_t value_of(std::size_t index) noexcept;

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace paperboy::bench
