#include "options.hpp"

namespace paperboy::bench {
namespace {

constexpr double default_seconds = 5;
constexpr double default_latency_rate = 20'000;
// Time past the end of publishing that a run may take before what is missing counts as lost.
constexpr double deadline_margin = 30;
// drain: messages each publisher leaves in the queue; 4 x 25,000 stays within the broker's
// default backlog of 100,000 messages.
constexpr std::uint64_t default_drain_count = 25'000;

std::uint16_t default_port(BrokerKind broker) noexcept {
  switch (broker) {
    case BrokerKind::pb1:
    case BrokerKind::pb0: return 25000;
    case BrokerKind::nats: return 4222;
    case BrokerKind::redis: return 6379;
  }
  return 0;
}

}  // namespace

std::string_view workload_name(Workload workload) noexcept {
  switch (workload) {
    case Workload::fanout: return "fanout";
    case Workload::queue: return "queue";
    case Workload::fanin: return "fanin";
    case Workload::latency: return "latency";
    case Workload::conns: return "conns";
    case Workload::slow: return "slow";
    case Workload::confirm: return "confirm";
    case Workload::drain: return "drain";
  }
  return "unknown";
}

std::string_view ack_name(AckMode mode) noexcept {
  switch (mode) {
    case AckMode::automatic: return "auto";
    case AckMode::manual: return "manual";
  }
  return "unknown";
}

void apply_workload_defaults(Options& o) {
  if (o.port == 0) o.port = default_port(o.broker);
  std::size_t pubs = 1;
  std::size_t subs = 4;
  switch (o.workload) {
    case Workload::fanout:
    case Workload::queue:
    case Workload::slow: break;
    case Workload::fanin: pubs = 8, subs = 1; break;
    case Workload::latency:
      subs = 1;
      if (o.rate <= 0) o.rate = default_latency_rate;
      break;
    case Workload::conns: pubs = 0, subs = 0; break;
    case Workload::confirm: pubs = 4, subs = 1; break;
    case Workload::drain:
      pubs = 4, subs = 1;
      if (o.count == 0) o.count = default_drain_count;
      break;
  }
  if (o.pubs == 0) o.pubs = pubs;
  if (o.subs == 0) o.subs = subs;
  if (o.no_consumer) o.subs = 0;
  if (o.count == 0 && o.seconds <= 0) o.seconds = default_seconds;
  if (o.deadline <= 0) {
    double publishing = o.seconds;
    if (o.count > 0) publishing = o.rate > 0 ? static_cast<double>(o.count * o.pubs) / o.rate : 30;
    o.deadline = publishing + deadline_margin;
  }
  if (o.channel.empty()) o.channel = "bench." + std::string(workload_name(o.workload));
}

std::string options_conflict(const Options& o) {
  if (o.ack == AckMode::manual) {
    // Only paperboyd's queues take acknowledgements; topics ignore the flag.
    if (o.broker != BrokerKind::pb1) return "--ack manual needs --broker pb1";
    if (o.workload != Workload::queue && o.workload != Workload::drain &&
        o.workload != Workload::confirm) {
      return "--ack manual needs the queue, confirm or drain workload";
    }
  } else if (o.prefetch != 0) {
    return "--prefetch needs --ack manual";
  }
  const bool confirmed = o.workload == Workload::confirm || o.workload == Workload::drain;
  if (confirmed && o.broker != BrokerKind::pb1) {
    return "the confirm and drain workloads need --broker pb1 (RabbitMQ: paperboy-rabbit-bench)";
  }
  if (o.no_consumer && o.workload != Workload::confirm) return "--no-consumer needs confirm";
  const bool topic = o.workload != Workload::queue && o.workload != Workload::conns && !confirmed;
  if (o.sub_version != 1 && o.broker != BrokerKind::pb1) return "--sub-version needs --broker pb1";
  if (!o.sub_pattern.empty() && (o.broker != BrokerKind::pb1 || !topic)) {
    return "--sub-pattern needs --broker pb1 and a topic workload";
  }
  if (o.idle_patterns != 0 && (o.broker != BrokerKind::pb1 || !topic)) {
    return "--idle-patterns needs --broker pb1 and a topic workload";
  }
  return {};
}

}  // namespace paperboy::bench
