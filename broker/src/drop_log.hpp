#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace paperboy::broker {

/// Topic messages lost to slow subscribers since the last report, summed daemon-wide so the log
/// gets at most one line a second however many are dropped.
struct DropLog {
  std::uint64_t dropped = 0;
  std::string first_channel;        ///< where the first of them was lost
  std::uint64_t dropped_total = 0;  ///< since start, for the service status line

  void record(std::string_view channel) {
    ++dropped_total;
    if (dropped++ == 0) first_channel.assign(channel);
  }
};

}  // namespace paperboy::broker
