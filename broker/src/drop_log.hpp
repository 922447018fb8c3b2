#pragma once

#include <cstdint>
#include <string>

namespace paperboy::broker {

/// Topic messages lost to slow subscribers since the last report, summed daemon-wide so the log
/// gets at most one line a second however many are dropped.
struct DropLog {
  std::uint64_t dropped = 0;
  std::string first_channel;  ///< where the first of them was lost

  void record(const std::string& channel) {
    if (dropped++ == 0) first_channel = channel;
  }
};

}  // namespace paperboy::broker
