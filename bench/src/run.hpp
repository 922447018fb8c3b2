#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker_probe.hpp"
#include "latency_histogram.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

/// One pub/sub measurement: P publishers and S subscribers on one channel.
struct RunSpec {
  const WireProtocol* protocol = nullptr;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  ChannelSpec channel;
  std::size_t publishers = 1;
  std::size_t subscribers = 1;  ///< active ones, which must receive every message meant for them
  std::size_t stalled = 0;      ///< extra subscribers that stop reading once subscribed
  /// Wildcard patterns one more, idle, connection subscribes before the run; none matches the
  /// channel, so they cost the broker only the matching of each publish.
  std::size_t idle_patterns = 0;
  std::size_t payload_size = 128;
  std::uint64_t count = 0;  ///< per publisher; 0: publish for `seconds`
  double seconds = 0;
  double rate = 0;  ///< total over all publishers; 0: flat out
  std::size_t batch_bytes = 64 * 1024;
  std::size_t window_bytes = 4 * 1024 * 1024;
  std::size_t read_bytes = 256 * 1024;
  double deadline = 60;  ///< seconds from the start; whatever has not arrived by then is lost
  double drain = 2;      ///< once publishing ended, give up after this long without a delivery
  int threads = 1;       ///< 1: one io_context; 2: publishers and subscribers on a thread each
  BrokerProbe probe{0};
};

/// What one run measured.
struct RunResult {
  std::uint64_t published = 0;
  std::uint64_t expected = 0;   ///< deliveries the channel's semantics promise
  std::uint64_t delivered = 0;  ///< distinct deliveries to active subscribers
  std::uint64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;
  std::uint64_t corrupt = 0;
  std::uint64_t gap_reported = 0;  ///< losses the broker itself reported (PB1 GAP)
  std::uint64_t payload_bytes = 0;
  std::size_t disconnected = 0;  ///< active subscribers whose connection the broker ended
  double seconds = 0;            ///< first publish to last delivery
  double publish_seconds = 0;    ///< first publish to last write
  bool timed_out = false;
  bool setup_failed = false;
  LatencyHistogram latency;
  CpuUse cpu;                     ///< from the start of publishing to the end of the run
  double cpu_window_seconds = 0;  ///< how long that was
  std::optional<std::uint64_t> broker_rss_start_kb;
  std::optional<std::uint64_t> broker_rss_peak_kb;
  std::optional<std::uint64_t> broker_rss_end_kb;
  std::size_t error_count = 0;
  std::vector<std::string> errors;
};

/// Runs one measurement to its end: all delivered, or no progress for `drain` seconds after
/// publishing ended, or the deadline.
RunResult run_pubsub(const RunSpec& spec);

}  // namespace paperboy::bench
