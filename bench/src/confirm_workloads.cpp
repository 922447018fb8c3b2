#include "confirm_workloads.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "clock.hpp"
#include "confirm_publisher.hpp"
#include "endpoint.hpp"
#include "queue_drainer.hpp"
#include "use_nothrow.hpp"

namespace paperboy::bench {
namespace {

// How long consumers may take to get their subscription confirmed.
constexpr double subscribe_timeout = 10;

std::string queue_name(const Options& o) {
  return "/queue/" + o.channel;
}

/// The figures of a set of confirmed publishers, merged.
struct ConfirmSummary {
  std::uint64_t sent = 0, confirmed = 0, refused = 0;
  std::uint64_t first_send_ns = 0, last_confirm_ns = 0;
  LatencyHistogram latency;
  std::vector<std::string> errors;

  double rate() const {
    const double seconds = seconds_between(first_send_ns, last_confirm_ns);
    return seconds > 0 ? static_cast<double>(confirmed) / seconds : 0.0;
  }
};

std::vector<std::unique_ptr<ConfirmPublisher>> make_publishers(asio::io_context& io,
                                                               const asio::ip::tcp::endpoint& at,
                                                               const Options& o) {
  std::vector<std::unique_ptr<ConfirmPublisher>> publishers;
  for (std::size_t i = 0; i < o.pubs; ++i) {
    ConfirmPlan plan;
    plan.id = static_cast<std::uint16_t>(i);
    plan.channel = queue_name(o);
    plan.payload_size = o.size;
    plan.count = o.count;
    plan.seconds = o.seconds;
    plan.rate = o.rate > 0 ? o.rate / static_cast<double>(o.pubs) : 0;
    plan.window = o.window;
    plan.batch_bytes = o.batch_bytes;
    publishers.push_back(std::make_unique<ConfirmPublisher>(io.get_executor(), at, plan));
  }
  return publishers;
}

ConfirmSummary summarize(const std::vector<std::unique_ptr<ConfirmPublisher>>& publishers) {
  ConfirmSummary s;
  for (const auto& p : publishers) {
    const ConfirmTally& t = p->tally();
    s.sent += t.sent;
    s.confirmed += t.confirmed;
    s.refused += t.refused;
    if (t.first_send_ns != 0 && (s.first_send_ns == 0 || t.first_send_ns < s.first_send_ns)) {
      s.first_send_ns = t.first_send_ns;
    }
    s.last_confirm_ns = std::max(s.last_confirm_ns, t.last_confirm_ns);
    s.latency.merge(t.latency);
    for (const auto& e : t.errors) {
      if (s.errors.size() < 5) s.errors.push_back("publisher: " + e);
    }
  }
  return s;
}

void report_confirms(Report& report, const ConfirmSummary& s, std::string_view prefix) {
  const std::string p(prefix);
  report.add(p + "published", s.sent);
  report.add(p + "confirmed", s.confirmed);
  report.add(p + "refused", s.refused);
  report.add(p + "confirm_rate", s.rate());
  report.add(p + "confirm_seconds", seconds_between(s.first_send_ns, s.last_confirm_ns));
  report.add(p + "confirm_p50_ms", static_cast<double>(s.latency.percentile(0.50)) / 1e6);
  report.add(p + "confirm_p99_ms", static_cast<double>(s.latency.percentile(0.99)) / 1e6);
  report.add(p + "confirm_max_ms", static_cast<double>(s.latency.max()) / 1e6);
}

void report_errors(Report& report, const std::vector<std::string>& errors) {
  report.add("error_count", errors.size());
  for (std::size_t i = 0; i < errors.size(); ++i)
    report.add("error_" + std::to_string(i), errors[i]);
}

std::vector<std::unique_ptr<QueueDrainer>> make_drainers(asio::io_context& io,
                                                         const asio::ip::tcp::endpoint& at,
                                                         const Options& o, std::uint64_t* received,
                                                         std::uint64_t target) {
  std::vector<std::unique_ptr<QueueDrainer>> drainers;
  for (std::size_t i = 0; i < o.subs; ++i) {
    DrainPlan plan{static_cast<std::uint16_t>(i),
                   queue_name(o),
                   o.ack == AckMode::manual,
                   o.prefetch,
                   received,
                   target};
    drainers.push_back(std::make_unique<QueueDrainer>(io.get_executor(), at, plan));
  }
  return drainers;
}

asio::awaitable<void> run_drainer(QueueDrainer* drainer) {
  co_await drainer->run();
}

asio::awaitable<void> run_publisher(ConfirmPublisher* publisher, std::uint64_t start_ns,
                                    std::size_t* running) {
  co_await publisher->run(start_ns);
  --*running;
}

/// Runs the io_context until `done` holds or `seconds` passed; false on the timeout.
template <class Done>
bool run_until(asio::io_context& io, double seconds, Done done) {
  const std::uint64_t give_up = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  while (!done()) {
    if (now_ns() >= give_up) return false;
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return true;
}

bool all_subscribed(const std::vector<std::unique_ptr<QueueDrainer>>& drainers) {
  for (const auto& d : drainers) {
    if (!d->subscribed()) return false;
  }
  return true;
}

ConfirmSummary publish_confirmed(asio::io_context& io, const asio::ip::tcp::endpoint& at,
                                 const Options& o) {
  auto publishers = make_publishers(io, at, o);
  std::size_t running = publishers.size();
  const std::uint64_t start = now_ns();
  for (auto& p : publishers) {
    asio::co_spawn(io, run_publisher(p.get(), start, &running), asio::detached);
  }
  run_until(io, o.deadline, [&] { return running == 0; });
  // Let the publishers' read loops see their sockets closed before they are destroyed.
  io.run_for(std::chrono::milliseconds(50));
  return summarize(publishers);
}

}  // namespace

Outcome run_confirm_workload(const Options& o, Report& report) {
  asio::io_context io;
  const auto at = resolve_endpoint(o.host, o.port);
  std::uint64_t consumed = 0;
  auto drainers = make_drainers(io, at, o, &consumed, 0);
  for (auto& d : drainers) asio::co_spawn(io, run_drainer(d.get()), asio::detached);
  if (!run_until(io, subscribe_timeout, [&] { return all_subscribed(drainers); })) {
    report.add("error", "consumers not subscribed in time");
    return Outcome::failed;
  }
  report.add("window", o.window);
  report.add("consumers", drainers.size());
  const ConfirmSummary s = publish_confirmed(io, at, o);
  // The consumers take what is still in flight to them, then leave.
  std::uint64_t seen = consumed;
  run_until(io, o.drain, [&] {
    const bool idle = consumed == seen;
    seen = consumed;
    return consumed >= s.confirmed && idle;
  });
  for (auto& d : drainers) d->stop();
  io.run_for(std::chrono::milliseconds(50));
  report_confirms(report, s, "");
  report.add("consumed", consumed);
  std::vector<std::string> errors = s.errors;
  for (const auto& d : drainers)
    errors.insert(errors.end(), d->errors().begin(), d->errors().end());
  report_errors(report, errors);
  return s.confirmed == 0 ? Outcome::failed : Outcome::measured;
}

Outcome run_drain_workload(const Options& o, Report& report) {
  asio::io_context io;
  const auto at = resolve_endpoint(o.host, o.port);
  const ConfirmSummary filled = publish_confirmed(io, at, o);
  report.add("window", o.window);
  report_confirms(report, filled, "fill_");
  std::uint64_t consumed = 0;
  const std::uint64_t start = now_ns();
  auto drainers = make_drainers(io, at, o, &consumed, filled.confirmed);
  for (auto& d : drainers) asio::co_spawn(io, run_drainer(d.get()), asio::detached);
  const bool complete = run_until(io, o.deadline, [&] { return consumed >= filled.confirmed; });
  std::uint64_t last = 0;
  for (const auto& d : drainers) last = std::max(last, d->last_ns());
  for (auto& d : drainers) d->stop();
  io.run_for(std::chrono::milliseconds(50));
  const double seconds = seconds_between(start, last);
  report.add("consumers", drainers.size());
  report.add("backlog", filled.confirmed);
  report.add("consumed", consumed);
  report.add("consume_seconds", seconds);
  report.add("consume_rate", seconds > 0 ? static_cast<double>(consumed) / seconds : 0.0);
  report.add("timed_out", !complete);
  std::vector<std::string> errors = filled.errors;
  for (const auto& d : drainers)
    errors.insert(errors.end(), d->errors().begin(), d->errors().end());
  report_errors(report, errors);
  return filled.confirmed == 0 ? Outcome::failed : Outcome::measured;
}

}  // namespace paperboy::bench
