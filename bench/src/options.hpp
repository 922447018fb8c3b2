#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wire_protocol.hpp"

namespace paperboy::bench {

/// The load patterns paperboy-bench can drive.
enum class Workload { fanout, queue, fanin, latency, conns, slow, confirm, drain };

std::string_view workload_name(Workload workload) noexcept;

/// Who acknowledges deliveries: the broker on sending (auto), or each subscriber (manual).
enum class AckMode { automatic, manual };

/// Name of an ack mode as the --ack option spells it.
std::string_view ack_name(AckMode mode) noexcept;

/// Everything the command line sets; zeros mean "the workload's default" until
/// apply_workload_defaults fills them in.
struct Options {
  Workload workload = Workload::fanout;
  BrokerKind broker = BrokerKind::pb1;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t size = 128;
  std::uint64_t count = 0;
  double seconds = 0;
  double rate = 0;
  std::size_t pubs = 0;
  std::size_t subs = 0;
  std::size_t connections = 10'000;
  std::size_t batch_bytes = 64 * 1024;
  std::size_t window_bytes = 4 * 1024 * 1024;
  std::size_t read_bytes = 256 * 1024;
  double deadline = 0;
  double drain = 2;
  int broker_pid = 0;
  int threads = 1;
  AckMode ack = AckMode::automatic;
  std::uint16_t prefetch = 0;   ///< manual ack: unacked deliveries per subscriber; 0: broker's
  std::uint32_t window = 1000;  ///< confirm, drain: unconfirmed PUBs per publisher, at most
  bool no_consumer = false;     ///< confirm: nobody consumes the queue
  bool json = false;
  std::uint8_t sub_version = 1;   ///< PB1 version the subscribers ask for in HELLO
  std::string sub_pattern;        ///< PB1: what subscribers SUB to instead of the channel
  std::size_t idle_patterns = 0;  ///< PB1 topic: wildcard patterns held by one more connection
  std::string channel;
  std::string label;
};

/// Fills in the defaults that depend on the workload and broker: port, publishers and
/// subscribers, duration, rate, deadline, channel name.
void apply_workload_defaults(Options& options);

/// Why the options cannot go together, or empty when they can.
std::string options_conflict(const Options& options);

}  // namespace paperboy::bench
