#include "run.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <optional>
#include <thread>

#include "clock.hpp"
#include "endpoint.hpp"
#include "publisher.hpp"
#include "run_shared.hpp"
#include "subscriber.hpp"
#include "use_nothrow.hpp"

namespace paperboy::bench {
namespace {

using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

constexpr auto tick = std::chrono::milliseconds(5);
constexpr auto unconfirmed_settle = std::chrono::milliseconds(200);
constexpr std::uint64_t rss_interval_ns = 50'000'000;
constexpr double setup_timeout_seconds = 20;

// Watches one run from the subscribers' thread: waits until everyone is connected and
// subscribed, starts the publishers, decides when the run is over, samples the broker, and
// closes every connection at the end.
class Controller {
 public:
  Controller(RunShared& run, const RunSpec& spec, asio::io_context& publisher_io,
             std::optional<WorkGuard>& publisher_work, RunResult& result)
      : run_(run),
        spec_(spec),
        publisher_io_(publisher_io),
        publisher_work_(publisher_work),
        result_(result) {}

  asio::awaitable<void> control([[maybe_unused]] std::shared_ptr<Controller> self) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const std::uint64_t setup_start = now_ns();
    while (!everyone_ready()) {
      if (run_.failed_connections.load() > 0 ||
          seconds_between(setup_start, now_ns()) > setup_timeout_seconds) {
        result_.setup_failed = true;
        stop_all();
        co_return;
      }
      timer.expires_after(tick);
      co_await timer.async_wait(use_nothrow);
    }
    if (!run_.protocol->confirms_subscription()) {
      // Nothing says when the broker has read the subscriptions; on loopback it has long before
      // this (a queue would keep early messages anyway, a topic subscriber would miss them).
      timer.expires_after(unconfirmed_settle);
      co_await timer.async_wait(use_nothrow);
    }

    result_.broker_rss_start_kb = spec_.probe.rss_kb();
    result_.broker_rss_peak_kb = result_.broker_rss_start_kb;
    const auto cpu_start = spec_.probe.cpu();
    const std::uint64_t start = now_ns();
    for (const auto& publisher : run_.publishers) {
      asio::post(publisher_io_, [publisher, start] {
        asio::co_spawn(publisher->executor(), publisher->publish(publisher, start), asio::detached);
      });
    }

    std::uint64_t last_received = 0;
    std::uint64_t last_progress = start;
    std::uint64_t last_rss = start;
    std::uint64_t all_published_at = 0;
    for (;;) {
      timer.expires_after(tick);
      co_await timer.async_wait(use_nothrow);
      const std::uint64_t now = now_ns();
      if (now - last_rss >= rss_interval_ns) {
        sample_rss();
        last_rss = now;
      }
      const std::uint64_t received = total_received();
      if (received != last_received) {
        last_received = received;
        last_progress = now;
      }
      if (all_published_at == 0 && all_published()) all_published_at = now;
      if (all_published_at != 0) {
        if (distinct_delivered() >= expected()) break;
        const std::uint64_t quiet_since = std::max(last_progress, all_published_at);
        if (seconds_between(quiet_since, now) > spec_.drain) break;
      }
      if (seconds_between(start, now) > spec_.deadline) {
        result_.timed_out = true;
        break;
      }
    }

    std::uint64_t last_arrival = start;
    for (const auto& s : run_.subscribers)
      last_arrival = std::max(last_arrival, s->last_arrival_ns());
    std::uint64_t last_write = start;
    for (const auto& p : run_.publishers) last_write = std::max(last_write, p->finished_ns());
    result_.seconds = seconds_between(start, last_arrival);
    result_.publish_seconds = seconds_between(start, last_write);
    result_.cpu = cpu_between(cpu_start, spec_.probe.cpu());
    result_.cpu_window_seconds = seconds_between(start, now_ns());
    sample_rss();
    result_.broker_rss_end_kb = spec_.probe.rss_kb();
    stop_all();
  }

 private:
  bool everyone_ready() const {
    return run_.connected_publishers.load() == run_.publishers.size() &&
           run_.confirmed_subscribers.load() == run_.subscribers.size();
  }

  bool all_published() const {
    return std::all_of(run_.publishers.begin(), run_.publishers.end(),
                       [](const auto& p) { return p->done(); });
  }

  std::uint64_t total_received() const {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < run_.active_subscribers; ++i) n += run_.subscribers[i]->received();
    return n;
  }

  std::uint64_t published() const {
    std::uint64_t n = 0;
    for (const auto& p : run_.publishers) n += p->published();
    return n;
  }

  std::uint64_t expected() const {
    return run_.channel.queue ? published() : published() * run_.active_subscribers;
  }

  std::uint64_t distinct_delivered() const {
    std::uint64_t n = 0;
    if (run_.channel.queue) {
      for (const auto& t : run_.queue_trackers) n += t.distinct();
      return n;
    }
    for (std::size_t i = 0; i < run_.active_subscribers; ++i) {
      for (const auto& t : run_.subscribers[i]->trackers()) n += t.distinct();
    }
    return n;
  }

  void sample_rss() {
    const auto rss = spec_.probe.rss_kb();
    if (rss && (!result_.broker_rss_peak_kb || *rss > *result_.broker_rss_peak_kb)) {
      result_.broker_rss_peak_kb = rss;
    }
  }

  void stop_all() {
    run_.stopping.store(true);
    for (const auto& publisher : run_.publishers) {
      asio::post(publisher_io_, [publisher] { publisher->close(); });
    }
    for (const auto& subscriber : run_.subscribers) subscriber->close();
    publisher_work_.reset();
  }

  RunShared& run_;
  const RunSpec& spec_;
  asio::io_context& publisher_io_;
  std::optional<WorkGuard>& publisher_work_;
  RunResult& result_;
};

// One connection subscribed to spec.idle_patterns wildcard patterns that match nothing the run
// publishes: half of them under the channel's own first segment, so that matching a publish
// walks into a crowded part of the broker's pattern trie, half starting with `*`.
SubscriberPlan idle_pattern_holder(const RunSpec& spec, std::size_t id) {
  const std::string& name = spec.channel.name;
  const std::string first_segment = name.substr(0, name.find('/'));
  SubscriberPlan plan;
  plan.id = static_cast<std::uint32_t>(id);
  plan.idle = true;
  for (std::size_t i = 0; i < spec.idle_patterns; ++i) {
    ChannelSpec pattern = spec.channel;
    pattern.subscribe_name = i % 2 == 0
                                 ? "/topic/" + first_segment + "/idle" + std::to_string(i) + "/>"
                                 : "/topic/*/idle" + std::to_string(i);
    if (i == 0) {
      plan.channel = pattern;
    } else {
      plan.more_channels.push_back(pattern);
    }
  }
  return plan;
}

void collect(const RunShared& run, RunResult& result) {
  for (const auto& p : run.publishers) result.published += p->published();
  result.expected =
      run.channel.queue ? result.published : result.published * run.active_subscribers;
  const auto add_tracker = [&result](const SequenceTracker& t) {
    result.delivered += t.distinct();
    result.duplicates += t.duplicates();
    result.reordered += t.reordered();
  };
  if (run.channel.queue) {
    for (const auto& t : run.queue_trackers) add_tracker(t);
  }
  for (std::size_t i = 0; i < run.active_subscribers; ++i) {
    const Subscriber& s = *run.subscribers[i];
    if (!run.channel.queue) {
      for (const auto& t : s.trackers()) add_tracker(t);
    }
    if (s.latency()) result.latency.merge(*s.latency());
    result.corrupt += s.corrupt();
    result.gap_reported += s.gaps();
    result.payload_bytes += s.payload_bytes();
    if (!s.alive()) ++result.disconnected;
  }
  result.lost = result.expected > result.delivered ? result.expected - result.delivered : 0;
  result.error_count = run.errors.count();
  result.errors = run.errors.first();
}

}  // namespace

RunResult run_pubsub(const RunSpec& spec) {
  RunResult result;
  asio::io_context subscriber_io(1);
  std::optional<asio::io_context> own_publisher_io;
  if (spec.threads >= 2) own_publisher_io.emplace(1);
  asio::io_context& publisher_io = own_publisher_io ? *own_publisher_io : subscriber_io;

  RunShared run;
  run.protocol = spec.protocol;
  run.endpoint = resolve_endpoint(spec.host, spec.port);
  run.channel = spec.channel;
  for (std::size_t i = 0; i < spec.publishers; ++i) run.queue_trackers.emplace_back(false);

  // The window is shared by the publishers, so fan-in cannot overrun a subscriber either.
  const PublishTemplate probe_frame =
      spec.protocol->publish_template(spec.channel, spec.payload_size);
  const std::size_t frame = probe_frame.bytes.size();
  const std::uint64_t window = std::max<std::uint64_t>(
      1, spec.window_bytes / (frame * std::max<std::size_t>(1, spec.publishers)));
  for (std::size_t i = 0; i < spec.publishers; ++i) {
    PublisherPlan plan;
    plan.id = static_cast<std::uint16_t>(i);
    plan.payload_size = spec.payload_size;
    plan.count = spec.count;
    plan.seconds = spec.seconds;
    plan.rate = spec.rate / static_cast<double>(spec.publishers);
    plan.batch_bytes = spec.batch_bytes;
    plan.window = window;
    run.publishers.push_back(std::make_shared<Publisher>(publisher_io.get_executor(), run, plan));
  }
  for (std::size_t i = 0; i < spec.subscribers + spec.stalled; ++i) {
    SubscriberPlan plan;
    plan.id = static_cast<std::uint32_t>(i);
    plan.channel = spec.channel;
    plan.read_size = spec.read_bytes;
    plan.stalled = i >= spec.subscribers;
    run.subscribers.push_back(
        std::make_shared<Subscriber>(subscriber_io.get_executor(), run, std::move(plan)));
  }
  run.active_subscribers = spec.subscribers;
  if (spec.idle_patterns > 0) {
    run.subscribers.push_back(std::make_shared<Subscriber>(
        subscriber_io.get_executor(), run, idle_pattern_holder(spec, run.subscribers.size())));
  }

  for (const auto& s : run.subscribers) {
    asio::co_spawn(subscriber_io, s->run(s), asio::detached);
  }
  for (const auto& p : run.publishers) {
    asio::co_spawn(publisher_io, p->connect(p), asio::detached);
  }
  std::optional<WorkGuard> publisher_work;
  if (own_publisher_io) publisher_work.emplace(publisher_io.get_executor());
  auto controller = std::make_shared<Controller>(run, spec, publisher_io, publisher_work, result);
  asio::co_spawn(subscriber_io, controller->control(controller), asio::detached);

  std::optional<std::thread> publisher_thread;
  if (own_publisher_io) publisher_thread.emplace([&publisher_io] { publisher_io.run(); });
  subscriber_io.run();
  if (publisher_thread) publisher_thread->join();

  collect(run, result);
  return result;
}

}  // namespace paperboy::bench
