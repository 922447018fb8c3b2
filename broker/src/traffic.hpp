#pragma once

#include <array>
#include <cstdint>

#include "drop_log.hpp"
#include "latency_histogram.hpp"

namespace paperboy::broker {

/// The daemon-wide counts behind /metrics that no channel or connection keeps: what the pieces
/// add as they go (one thread runs the io_context, so plain integers), and what closed
/// connections had counted.
struct Traffic {
  DropLog drops;
  LatencyHistogram publish_to_write;
  std::uint64_t connections_accepted = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  /// PUBs taken and messages delivered by connections that have closed (open ones count their
  /// own).
  std::uint64_t closed_messages_in = 0;
  std::uint64_t closed_messages_out = 0;
  /// ERR frames sent and connections refused, by wire code (index: the code).
  std::array<std::uint64_t, 32> refusals{};
  /// Connections to the TLS port closed before their handshake finished (failed, timed out, or
  /// over the number in progress).
  std::uint64_t tls_handshake_failures = 0;

  void count_refusal(std::uint16_t code) noexcept {
    if (code < refusals.size()) ++refusals[code];
  }
};

}  // namespace paperboy::broker
