#include "latency_histogram.hpp"

#include <bit>
#include <cmath>

namespace paperboy::bench {

// Bucket i holds the values v with shift = max(0, bit_width(v) - 7) and
// i = shift * 64 + (v >> shift): values under 128 map to themselves, and each later power of two
// is cut into 64 equal slices.

std::size_t LatencyHistogram::index_of(std::uint64_t ns) noexcept {
  const auto width = static_cast<unsigned>(std::bit_width(ns));
  const unsigned shift = width > 7 ? width - 7 : 0u;
  return (std::size_t{shift} << sub_bits) + static_cast<std::size_t>(ns >> shift);
}

std::uint64_t LatencyHistogram::value_of(std::size_t index) noexcept {
  if (index < 128) return index;
  const std::size_t shift = (index >> sub_bits) - 1;
  const std::uint64_t low = static_cast<std::uint64_t>(index - (shift << sub_bits)) << shift;
  // The middle of the slice, so the error is at most half a slice either way.
  return low + ((std::uint64_t{1} << shift) >> 1);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  if (other.max_ > max_) max_ = other.max_;
}

std::uint64_t LatencyHistogram::percentile(double fraction) const noexcept {
  if (total_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(total_)));
  const std::uint64_t wanted = rank == 0 ? 1 : rank;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= wanted) {
      const std::uint64_t value = value_of(i);
      return value < max_ ? value : max_;
    }
  }
  return max_;
}

}  // namespace paperboy::bench
