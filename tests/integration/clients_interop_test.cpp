// Every client of this repository on one channel: the AsyncClient, the blocking Client, the
// `paperboy` CLI and a PB0 client each publish one message, and each of them receives the
// messages of all the others.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <set>
#include <string>
#include <variant>

#include "async_run.hpp"
#include "command.hpp"
#include "daemon.hpp"
#include "paperboy/client/async_client.hpp"
#include "paperboy/client/client.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

const std::string channel = "/topic/interop/all";

// Removes `payload` from `missing` when it is there.
void tick_off(std::set<std::string>& missing, const std::string& payload) {
  missing.erase(payload);
}

asio::awaitable<void> all_clients_meet(std::uint16_t port) {
  const std::string port_text = std::to_string(port);
  // The CLI listens first, alone, so a publish requiring a subscriber proves it subscribed.
  Command listen({PAPERBOY_CLI_PATH, "listen", "--port", port_text, "-c", channel});
  INFO("listen's stderr: " << listen.err());
  pc::Client blocking;
  blocking.connect("127.0.0.1", port);
  pc::PublishOptions required;
  required.require_subscriber = true;
  REQUIRE(wait_until([&] {
    try {
      blocking.publish_confirmed(channel, "probe for the CLI", required);
      return true;
    } catch (const pc::Error& e) {
      if (!e.no_responders()) throw;
      return false;
    }
  }));
  Pb0Conn pb0(port, channel, "pb0");
  await_topic_subscription(pb0, [&](std::string_view payload) {
    blocking.publish(channel, payload);
    blocking.flush();
  });
  blocking.subscribe(channel);
  pc::AsyncClient async(co_await asio::this_coro::executor);
  pc::ConnectOptions options;
  options.client_name = "interop-async";
  co_await async.connect("127.0.0.1", port, std::move(options));
  auto stream = co_await async.subscribe(channel);

  async.publish(channel, "from async");
  co_await async.flush();
  blocking.publish(channel, "from blocking");
  blocking.flush();
  pb0.publish(channel, "from pb0");
  Command send(
      {PAPERBOY_CLI_PATH, "send", "--port", port_text, "--channel", channel, "--data", "from cli"});
  CHECK(send.exit_code() == 0);

  std::set<std::string> blocking_missing{"from async", "from pb0", "from cli"};
  for (const Deadline deadline(default_timeout);
       !blocking_missing.empty() && !deadline.expired();) {
    if (auto event = blocking.next(deadline.remaining())) {
      if (const auto* message = std::get_if<pc::Message>(&*event)) {
        tick_off(blocking_missing, message->payload);
      }
    }
  }
  CHECK_MESSAGE(blocking_missing.empty(),
                "the blocking Client missed " << *blocking_missing.begin());

  std::set<std::string> pb0_missing{"from async", "from blocking", "from cli"};
  for (const Deadline deadline(default_timeout); !pb0_missing.empty() && !deadline.expired();) {
    if (auto data = pb0.next_data(deadline.remaining())) tick_off(pb0_missing, *data);
  }
  CHECK_MESSAGE(pb0_missing.empty(), "the PB0 client missed " << *pb0_missing.begin());

  CHECK(wait_until([&] {
    const std::string out = listen.out();
    return out.find("from async\n") != std::string::npos &&
           out.find("from blocking\n") != std::string::npos &&
           out.find("from pb0\n") != std::string::npos &&
           out.find("from cli\n") != std::string::npos;
  }));

  std::set<std::string> async_missing{"from blocking", "from pb0", "from cli"};
  while (!async_missing.empty()) tick_off(async_missing, co_await next_payload(stream));
  blocking.close();
  co_await async.drain();
}

}  // namespace

TEST_CASE(
    "clients interop: AsyncClient, blocking Client, the CLI and a PB0 client on one channel "
    "each receive what the others published") {
  Daemon daemon;
  INFO(daemon.log_tail());
  asio::io_context io;
  run_async(io, all_clients_meet(daemon.port()), 60s);
}
