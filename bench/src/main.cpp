// paperboy-bench: one load generator for paperboyd (PB1), nats-server and redis-server, so their
// figures come from the same client code, batching and payloads.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <optional>

#include "confirm_workloads.hpp"
#include "options.hpp"
#include "report.hpp"
#include "workloads.hpp"

namespace {

using paperboy::bench::AckMode;
using paperboy::bench::BrokerKind;
using paperboy::bench::Options;
using paperboy::bench::Workload;

void add_options(CLI::App& app, Options& o) {
  const std::map<std::string, Workload> workloads{
      {"fanout", Workload::fanout},   {"queue", Workload::queue}, {"fanin", Workload::fanin},
      {"latency", Workload::latency}, {"conns", Workload::conns}, {"slow", Workload::slow},
      {"confirm", Workload::confirm}, {"drain", Workload::drain}};
  app.add_option("workload", o.workload,
                 "fanout: P pubs -> one topic -> S subs, each gets everything; "
                 "queue: P -> one queue -> S consumers, each message once; "
                 "fanin: many pubs -> one sub; latency: paced 1 -> 1; "
                 "conns: many idle subscribed connections; "
                 "slow: fan-out with and without one subscriber that stops reading; "
                 "confirm: P publishers with confirms (--window unconfirmed each) -> one queue "
                 "-> S auto-ack consumers, confirmed msg/s and confirm latency; "
                 "drain: P confirmed publishers fill a queue with --count each, then S "
                 "consumers empty it (--ack manual --prefetch 100), consuming msg/s")
      ->required()
      ->transform(CLI::CheckedTransformer(workloads, CLI::ignore_case));
  const std::map<std::string, BrokerKind> brokers{{"pb1", BrokerKind::pb1},
                                                  {"pb0", BrokerKind::pb0},
                                                  {"nats", BrokerKind::nats},
                                                  {"redis", BrokerKind::redis}};
  app.add_option("--broker", o.broker,
                 "Wire protocol: pb1 (paperboyd), pb0 (paperboyd's legacy dialect), nats or redis")
      ->transform(CLI::CheckedTransformer(brokers, CLI::ignore_case))
      ->default_str("pb1");
  app.add_option("--host", o.host, "Broker address")->capture_default_str();
  app.add_option("--port", o.port, "Broker port (default: 25000, 4222 or 6379 by --broker)");
  app.add_option("--size", o.size, "Payload bytes (at least 16: sequence number and timestamp)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{16}, std::size_t{64} * 1024 * 1024));
  auto* count = app.add_option("--count", o.count, "Messages per publisher");
  app.add_option("--seconds", o.seconds, "Publish for this long (default 5; slow: per phase)")
      ->excludes(count)
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate,
                 "Messages per second over all publishers (default: flat out; latency: 20000)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pubs", o.pubs, "Publishers, one connection each (default by workload)");
  app.add_option("--subs", o.subs, "Subscribers, one connection each (default by workload)");
  app.add_option("--connections", o.connections, "conns: idle connections to open")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-bytes", o.batch_bytes, "Bytes a publisher writes at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--window-bytes", o.window_bytes,
                 "Bytes all publishers together may have sent but not yet seen delivered")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--read-bytes", o.read_bytes, "Bytes a subscriber asks for per read")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--deadline", o.deadline,
                 "Seconds after the start when whatever has not arrived counts as lost "
                 "(default: publishing time + 30)");
  app.add_option("--drain", o.drain,
                 "After publishing ended, stop waiting once nothing arrived for this long")
      ->capture_default_str();
  app.add_option("--broker-pid", o.broker_pid,
                 "Broker process to sample for RSS and CPU time (/proc/<pid>)");
  app.add_option("--threads", o.threads,
                 "1: everything on one thread; 2: publishers and subscribers on a thread each")
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  const std::map<std::string, AckMode> acks{{"auto", AckMode::automatic},
                                            {"manual", AckMode::manual}};
  app.add_option("--ack", o.ack,
                 "auto: the broker counts a message done once sent; manual: each subscriber "
                 "ACKs every delivery (pb1 queue only)")
      ->transform(CLI::CheckedTransformer(acks, CLI::ignore_case))
      ->default_str("auto");
  app.add_option("--prefetch", o.prefetch,
                 "--ack manual: unacked deliveries a subscriber may hold (default: the broker's)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--window", o.window,
                 "confirm, drain: PUBs a publisher may have sent and not yet seen confirmed")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_flag(
      "--no-consumer", o.no_consumer,
      "confirm: nobody consumes, the queue's backlog grows (default: S auto-ack consumers)");
  app.add_option("--sub-version", o.sub_version,
                 "pb1: protocol version the subscribers ask for (publishers speak 1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  app.add_option("--sub-pattern", o.sub_pattern,
                 "pb1 topic: the name subscribers SUB to instead of the channel, a wildcard "
                 "pattern that matches it (e.g. --channel bench/fanout --sub-pattern "
                 "'/topic/bench/*')");
  app.add_option("--idle-patterns", o.idle_patterns,
                 "pb1 topic: one more connection subscribes this many wildcard patterns that "
                 "match nothing published (/topic/<channel's first segment>/idle<i>/> and "
                 "/topic/*/idle<i>, alternately)");
  app.add_option("--channel", o.channel, "Channel name (default bench.<workload>)");
  app.add_option("--label", o.label, "Free text copied into the report");
  app.add_flag("--json", o.json, "Print one JSON object with the figures");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paperboy-bench: one workload over PB1, NATS or Redis pub/sub"};
  Options options;
  add_options(app, options);
  CLI11_PARSE(app, argc, argv);
  if (const std::string conflict = paperboy::bench::options_conflict(options); !conflict.empty()) {
    return app.exit(CLI::ValidationError(conflict));
  }
  paperboy::bench::apply_workload_defaults(options);

  paperboy::bench::Report report;
  report.add("workload", paperboy::bench::workload_name(options.workload));
  report.add("broker", paperboy::bench::broker_name(options.broker));
  report.add("label", options.label);
  report.add("size", options.size);
  report.add("pubs", options.pubs);
  report.add("subs", options.subs);
  report.add("rate", options.rate);
  report.add("threads", options.threads);
  report.add("ack", paperboy::bench::ack_name(options.ack));
  std::optional<std::uint16_t> prefetch;
  if (options.ack == AckMode::manual) prefetch = options.prefetch;
  report.add("prefetch", prefetch);
  report.add("sub_version", static_cast<unsigned>(options.sub_version));
  report.add("sub_pattern", options.sub_pattern);
  report.add("idle_patterns", options.idle_patterns);
  auto outcome = paperboy::bench::Outcome::failed;
  try {
    switch (options.workload) {
      case Workload::conns: outcome = paperboy::bench::run_conns_workload(options, report); break;
      case Workload::slow: outcome = paperboy::bench::run_slow_workload(options, report); break;
      case Workload::confirm:
        outcome = paperboy::bench::run_confirm_workload(options, report);
        break;
      case Workload::drain: outcome = paperboy::bench::run_drain_workload(options, report); break;
      default: outcome = paperboy::bench::run_pubsub_workload(options, report); break;
    }
  } catch (const std::exception& e) {
    report.add("error", e.what());
  }
  const std::string out = options.json ? report.json() + "\n" : report.text();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return static_cast<int>(outcome);
}
