// paperboy-async-bench: the throughput of the AsyncClient (paperboy::client) in the workloads
// paperboy-bench measures with its raw PB1 connections, so the two can be set side by side
// (bench/async_client_ratio.py): one publisher and N subscribers to a topic (fan-out), or one
// publisher and N consumers of a queue, all on one io_context on one thread as paperboy-bench
// runs by default. The publisher writes batches of about paperboy-bench's 64 KiB and keeps at most
// its 4 MiB window in flight (sent, not yet delivered); the figure is messages delivered per
// second from the first publish to the last delivery, printed as paperboy-bench's --json does.
#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "paperboy/client/async_client.hpp"
#include "use_nothrow.hpp"

namespace pc = paperboy::client;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string workload = "fanout";
  std::string host = "127.0.0.1";
  std::uint16_t port = 25000;
  std::size_t size = 128;
  std::size_t subs = 4;
  double seconds = 5;
  double drain = 1;
  std::size_t batch_bytes = 64 * 1024;
  std::size_t window_bytes = 4 * 1024 * 1024;
  std::string consume = "view";
  bool json = false;
  bool tls = false;  // every client over TLS (paperboyd's --tls-port), verified by `ca`
  std::string ca;
};

pc::ConnectOptions connect_options(const Options& options, std::string name) {
  pc::ConnectOptions connect;
  connect.client_name = std::move(name);
  connect.tls.enabled = options.tls || !options.ca.empty();
  connect.tls.ca_file = options.ca;
  return connect;
}

// What the publisher and the subscribers share (one thread: no atomics).
struct Run {
  Options options;
  std::string channel;
  bool queue = false;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t buffer_full = 0;
  bool publishing_done = false;
  bool subscribers_ready = false;
  Clock::time_point start;
  Clock::time_point last_arrival;
  std::unique_ptr<asio::steady_timer> gate;  // the publisher sleeps on it while the window is shut
  bool publisher_waiting = false;
  std::string error;

  std::uint64_t expected() const { return queue ? sent : sent * options.subs; }
  // Messages sent and not yet delivered to every subscriber (queue: to one).
  std::uint64_t in_flight() const {
    const std::uint64_t delivered = queue ? received : received / options.subs;
    return sent > delivered ? sent - delivered : 0;
  }
  std::uint64_t window() const {
    return std::max<std::uint64_t>(1, options.window_bytes / (options.size + 32));
  }
};

// One delivery counted. The clock is read every 256 deliveries (and by the drain loop), as
// paperboy-bench reads it once per read batch: a clock read per message would cost more than the
// client's own work.
void count_delivery(Run& run) {
  if ((++run.received & 255U) == 0) run.last_arrival = Clock::now();
  if (run.publisher_waiting && run.in_flight() < run.window() / 2) {
    run.publisher_waiting = false;
    run.gate->cancel();
  }
}

asio::awaitable<void> consume_stream(pc::Subscription subscription, std::shared_ptr<Run> run) {
  while (auto event = co_await subscription.next()) {
    if (std::holds_alternative<pc::Message>(*event)) count_delivery(*run);
  }
}

asio::awaitable<void> publish(pc::AsyncClient* publisher, std::shared_ptr<Run> run) {
  const std::string payload(run->options.size, 'x');
  const std::size_t batch =
      std::max<std::size_t>(1, run->options.batch_bytes / (payload.size() + 32));
  const auto until = run->start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(run->options.seconds));
  while (Clock::now() < until) {
    const std::uint64_t room = run->window() - std::min(run->window(), run->in_flight());
    if (room == 0) {
      run->publisher_waiting = true;
      run->gate->expires_after(std::chrono::milliseconds(20));
      co_await run->gate->async_wait(paperboy::bench::use_nothrow);
      continue;
    }
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(room, batch); ++i) {
      try {
        publisher->publish(run->channel, payload);
        ++run->sent;
      } catch (const pc::Error& e) {
        if (!e.buffer_full()) throw;
        ++run->buffer_full;  // the broker holds us back: let the writer catch up
        break;
      }
    }
    co_await publisher->flush(std::chrono::seconds(30));
  }
  run->publishing_done = true;
}

asio::awaitable<void> bench(std::shared_ptr<Run> run) {
  const auto executor = co_await asio::this_coro::executor;
  run->gate = std::make_unique<asio::steady_timer>(executor);
  std::vector<std::unique_ptr<pc::AsyncClient>> subscribers;
  for (std::size_t i = 0; i < run->options.subs; ++i) {
    auto client = std::make_unique<pc::AsyncClient>(executor);
    auto options = connect_options(run->options, "async-bench-sub-" + std::to_string(i));
    co_await client->connect(run->options.host, run->options.port, std::move(options));
    if (run->options.consume == "view") {
      co_await client->subscribe_views(
          run->channel, {}, [run = run.get()](const pc::MessageView&) { count_delivery(*run); });
    } else {
      auto subscription = co_await client->subscribe(run->channel);
      asio::co_spawn(executor, consume_stream(subscription, run), asio::detached);
    }
    subscribers.push_back(std::move(client));
  }
  pc::AsyncClient publisher(executor);
  auto options = connect_options(run->options, "async-bench-pub");
  co_await publisher.connect(run->options.host, run->options.port, std::move(options));

  run->start = Clock::now();
  run->last_arrival = run->start;
  co_await publish(&publisher, run);
  // Wait for what is in flight: everything, or nothing new for `drain` seconds.
  asio::steady_timer timer(executor);
  std::uint64_t seen = run->received;
  auto quiet_since = Clock::now();
  while (run->received < run->expected()) {
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
    if (run->received != seen) {
      seen = run->received;
      quiet_since = Clock::now();
      run->last_arrival = quiet_since;
    } else if (Clock::now() - quiet_since > std::chrono::duration<double>(run->options.drain)) {
      break;
    }
  }
  publisher.close();
  for (auto& client : subscribers) client->close();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paperboy-async-bench: AsyncClient throughput (fan-out, queue) against paperboyd"};
  Options o;
  app.add_option("workload", o.workload, "fanout (1 publisher, N topic subscribers) or queue")
      ->check(CLI::IsMember({"fanout", "queue"}))
      ->capture_default_str();
  app.add_option("--host", o.host, "Broker address")->capture_default_str();
  app.add_option("--port", o.port, "Broker port")->capture_default_str();
  app.add_option("--size", o.size, "Payload bytes")->capture_default_str();
  app.add_option("--subs", o.subs, "Subscribers (fanout) or consumers (queue)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", o.seconds, "Publish for this long")->capture_default_str();
  app.add_option("--drain", o.drain, "After publishing, stop once nothing arrived for this long")
      ->capture_default_str();
  app.add_option("--batch-bytes", o.batch_bytes, "Bytes published between flushes")
      ->capture_default_str();
  app.add_option("--window-bytes", o.window_bytes, "Bytes sent but not yet delivered, at most")
      ->capture_default_str();
  app.add_option("--consume", o.consume,
                 "view: subscribe_views (messages seen in place); stream: Subscription::next()")
      ->check(CLI::IsMember({"view", "stream"}))
      ->capture_default_str();
  app.add_flag("--json", o.json, "One JSON object, as paperboy-bench --json prints");
  app.add_flag("--tls", o.tls, "Connect every client with TLS (to paperboyd's --tls-port)");
  app.add_option("--ca", o.ca,
                 "PEM file of the CAs that sign the broker's certificate (implies "
                 "--tls; default: the system's)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  auto run = std::make_shared<Run>();
  run->options = o;
  run->queue = o.workload == "queue";
  run->channel = std::string(run->queue ? "/queue/" : "/topic/") + "async-bench." + o.workload;
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, bench(run), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "paperboy-async-bench: %s\n", e.what());
      return 1;
    }
  }
  const double seconds = std::chrono::duration<double>(run->last_arrival - run->start).count();
  const double rate = seconds > 0 ? static_cast<double>(run->received) / seconds : 0;
  const std::uint64_t lost = run->expected() > run->received ? run->expected() - run->received : 0;
  if (o.json) {
    std::printf(
        "{\"client\":\"async-%s\",\"workload\":\"%s\",\"size\":%zu,\"subs\":%zu,\"published\":%llu,"
        "\"delivered\":%llu,\"lost\":%llu,\"buffer_full\":%llu,\"seconds\":%.3f,"
        "\"msgs_per_sec\":%.0f}\n",
        o.consume.c_str(), o.workload.c_str(), o.size, o.subs,
        static_cast<unsigned long long>(run->sent), static_cast<unsigned long long>(run->received),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(run->buffer_full),
        seconds, rate);
  } else {
    std::printf("%s %zu B x%zu: published %llu delivered %llu lost %llu in %.2f s: %.0f msgs/s\n",
                o.workload.c_str(), o.size, o.subs, static_cast<unsigned long long>(run->sent),
                static_cast<unsigned long long>(run->received),
                static_cast<unsigned long long>(lost), seconds, rate);
  }
  return lost == 0 ? 0 : 1;
}
