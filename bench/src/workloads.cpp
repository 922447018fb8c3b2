#include "workloads.hpp"

#include <chrono>
#include <thread>

namespace paperboy::bench {
namespace {

RunSpec make_spec(const Options& o, const WireProtocol& protocol) {
  RunSpec spec;
  spec.protocol = &protocol;
  spec.host = o.host;
  spec.port = o.port;
  spec.channel = {o.channel, o.workload == Workload::queue, o.ack == AckMode::manual, o.prefetch,
                  o.sub_pattern};
  spec.idle_patterns = o.idle_patterns;
  spec.publishers = o.pubs;
  spec.subscribers = o.subs;
  spec.payload_size = o.size;
  spec.count = o.count;
  spec.seconds = o.seconds;
  spec.rate = o.rate;
  spec.batch_bytes = o.batch_bytes;
  spec.window_bytes = o.window_bytes;
  spec.read_bytes = o.read_bytes;
  spec.deadline = o.deadline;
  spec.drain = o.drain;
  spec.threads = o.threads;
  spec.probe = BrokerProbe(o.broker_pid);
  return spec;
}

double ratio(double part, double whole) {
  return whole > 0 ? part / whole : 0.0;
}

double rate_of(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

}  // namespace

Outcome run_pubsub_workload(const Options& o, Report& report) {
  const auto protocol = make_wire_protocol(o.broker, o.sub_version);
  if (o.workload == Workload::queue && !protocol->supports_queue()) {
    report.add("error", std::string(broker_name(o.broker)) + " has no queue pattern");
    return Outcome::unsupported;
  }
  const RunResult result = run_pubsub(make_spec(o, *protocol));
  report.add_run(result);
  return result.setup_failed ? Outcome::failed : Outcome::measured;
}

Outcome run_slow_workload(const Options& o, Report& report) {
  // The baseline has the S-1 subscribers that keep reading; the measured run adds the stalled
  // one. Each publisher's window counts only subscribers that read, so the publisher is held
  // back by them alone: whatever slows it in the second run is the broker.
  const auto protocol = make_wire_protocol(o.broker, o.sub_version);
  RunSpec spec = make_spec(o, *protocol);
  spec.subscribers = o.subs > 1 ? o.subs - 1 : 1;
  const RunResult base = run_pubsub(spec);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  spec.stalled = 1;
  const RunResult stalled = run_pubsub(spec);

  const double base_rate = rate_of(base.delivered, base.seconds);
  const double stalled_rate = rate_of(stalled.delivered, stalled.seconds);
  const double base_publish = rate_of(base.published, base.publish_seconds);
  const double stalled_publish = rate_of(stalled.published, stalled.publish_seconds);
  report.add("others_rate_ratio", ratio(stalled_rate, base_rate));
  report.add("publish_rate_ratio", ratio(stalled_publish, base_publish));
  const auto base_p99 = static_cast<double>(base.latency.percentile(0.99));
  const auto stalled_p99 = static_cast<double>(stalled.latency.percentile(0.99));
  report.add("p99_ratio", ratio(stalled_p99, base_p99));
  std::optional<double> rss_growth_mb;
  if (stalled.broker_rss_peak_kb && stalled.broker_rss_start_kb) {
    rss_growth_mb = (static_cast<double>(*stalled.broker_rss_peak_kb) -
                     static_cast<double>(*stalled.broker_rss_start_kb)) /
                    1024.0;
  }
  report.add("rss_growth_mb", rss_growth_mb);
  report.add_run(stalled);
  report.add_run(base, "base_");
  return base.setup_failed || stalled.setup_failed ? Outcome::failed : Outcome::measured;
}

}  // namespace paperboy::bench
