// conns: open many idle connections, each with one subscription of its own, and report what
// each costs the broker in resident memory.
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "clock.hpp"
#include "endpoint.hpp"
#include "run_shared.hpp"
#include "subscriber.hpp"
#include "use_nothrow.hpp"
#include "workloads.hpp"

namespace paperboy::bench {
namespace {

// Connections being set up at once: well under every broker's listen backlog.
constexpr std::size_t max_in_flight = 200;
constexpr std::size_t idle_read_size = 4096;
constexpr double open_timeout_seconds = 120;
// Let the broker (and a garbage-collected one above all) settle before reading its RSS.
constexpr auto settle_time = std::chrono::seconds(1);

struct ConnsResult {
  std::size_t confirmed = 0;
  std::size_t failed = 0;
  std::size_t alive_after_settle = 0;
  double open_seconds = 0;
  std::optional<std::uint64_t> rss_before_kb;
  std::optional<std::uint64_t> rss_after_kb;
  std::optional<double> cpu_seconds;
};

// Opens the connections a few hundred at a time, waits for every subscription to be confirmed,
// lets the broker settle, measures, and closes everything.
class ConnsLauncher {
 public:
  ConnsLauncher(RunShared& run, const Options& options, ConnsResult& result)
      : run_(run), options_(options), probe_(options.broker_pid), result_(result) {}

  asio::awaitable<void> launch([[maybe_unused]] std::shared_ptr<ConnsLauncher> self) {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    result_.rss_before_kb = probe_.rss_kb();
    const auto cpu_start = probe_.cpu();
    const std::uint64_t start = now_ns();
    const std::size_t n = options_.connections;
    for (std::size_t i = 0; i < n && !timed_out(start); ++i) {
      while (in_flight() >= max_in_flight && !timed_out(start)) {
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(use_nothrow);
      }
      SubscriberPlan plan;
      plan.id = static_cast<std::uint32_t>(i);
      plan.channel = {options_.channel + "." + std::to_string(i), false};
      plan.read_size = idle_read_size;
      plan.idle = true;
      auto subscriber = std::make_shared<Subscriber>(executor, run_, std::move(plan));
      run_.subscribers.push_back(subscriber);
      asio::co_spawn(executor, subscriber->run(subscriber), asio::detached);
    }
    while (in_flight() > 0 && !timed_out(start)) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(use_nothrow);
    }
    result_.open_seconds = seconds_between(start, now_ns());
    result_.confirmed = run_.confirmed_subscribers.load();
    result_.failed = run_.subscribers.size() - result_.confirmed;

    timer.expires_after(settle_time);
    co_await timer.async_wait(use_nothrow);
    result_.rss_after_kb = probe_.rss_kb();
    result_.cpu_seconds = cpu_between(cpu_start, probe_.cpu()).broker_seconds;
    result_.alive_after_settle = static_cast<std::size_t>(
        std::count_if(run_.subscribers.begin(), run_.subscribers.end(),
                      [](const auto& s) { return s->alive() && s->confirmed(); }));

    run_.stopping.store(true);
    for (const auto& s : run_.subscribers) s->close();
  }

 private:
  std::size_t in_flight() const {
    return run_.subscribers.size() - run_.confirmed_subscribers.load() -
           run_.failed_connections.load();
  }
  bool timed_out(std::uint64_t start) const {
    return seconds_between(start, now_ns()) > open_timeout_seconds;
  }

  RunShared& run_;
  const Options& options_;
  BrokerProbe probe_;
  ConnsResult& result_;
};

}  // namespace

Outcome run_conns_workload(const Options& o, Report& report) {
  const auto protocol = make_wire_protocol(o.broker, o.sub_version);
  asio::io_context io(1);
  RunShared run;
  run.protocol = protocol.get();
  run.endpoint = resolve_endpoint(o.host, o.port);
  run.channel = {o.channel, false};
  ConnsResult result;
  auto launcher = std::make_shared<ConnsLauncher>(run, o, result);
  asio::co_spawn(io, launcher->launch(launcher), asio::detached);
  io.run();

  std::optional<double> bytes_per_conn;
  if (result.rss_before_kb && result.rss_after_kb && result.confirmed > 0) {
    bytes_per_conn =
        (static_cast<double>(*result.rss_after_kb) - static_cast<double>(*result.rss_before_kb)) *
        1024.0 / static_cast<double>(result.confirmed);
  }
  report.add("connections", o.connections);
  report.add("confirmed", result.confirmed);
  report.add("failed", result.failed);
  report.add("alive_after_settle", result.alive_after_settle);
  report.add("open_seconds", result.open_seconds);
  report.add("broker_rss_before_kb", result.rss_before_kb);
  report.add("broker_rss_after_kb", result.rss_after_kb);
  report.add("bytes_per_conn", bytes_per_conn);
  report.add("broker_cpu_s", result.cpu_seconds);
  report.add("errors", run.errors.count());
  const auto errors = run.errors.first();
  report.add("first_error", errors.empty() ? std::string() : errors.front());
  return result.confirmed == o.connections ? Outcome::measured : Outcome::failed;
}

}  // namespace paperboy::bench
