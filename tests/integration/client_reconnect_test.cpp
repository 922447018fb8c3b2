// The blocking Client and the `paperboy` CLI built on it, while the broker under them is killed
// with SIGKILL and started again on the same port: the Client's next() tells of the loss and the
// return and then delivers again; `paperboy listen` keeps printing, with a note on stderr for
// each; and both give up at once when told not to reconnect.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "command.hpp"
#include "paperboy/client/client.hpp"
#include "restartable_daemon.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

constexpr Duration reconnect_timeout = 20s;

pc::ConnectOptions fast_reconnect(bool enabled = true) {
  pc::ConnectOptions options;
  options.reconnect.enabled = enabled;
  options.reconnect.initial_delay = 20ms;
  options.reconnect.max_delay = 200ms;
  return options;
}

// Publishes `payload` to `channel` once someone subscribes there: the broker refuses a publish
// that requires a subscriber while nobody is, so the one that succeeds is the only one delivered.
void publish_once_subscribed(std::uint16_t port, const std::string& channel,
                             const std::string& payload) {
  pc::Client publisher;
  publisher.connect("127.0.0.1", port);
  pc::PublishOptions options;
  options.require_subscriber = true;
  const bool delivered = wait_until(
      [&] {
        try {
          publisher.publish_confirmed(channel, payload, options);
          return true;
        } catch (const pc::Error& e) {
          if (!e.no_responders()) throw;
          return false;
        }
      },
      reconnect_timeout);
  REQUIRE_MESSAGE(delivered, "nobody subscribed to " << channel);
  publisher.close();
}

// The next event within `timeout` (skipping nothing), which must be of kind T.
template <class T>
T expect_event(pc::Client& client, Duration timeout = reconnect_timeout) {
  auto event = client.next(timeout);
  REQUIRE_MESSAGE(event.has_value(), "no event within " << timeout.count() << " ms");
  const auto* value = std::get_if<T>(&*event);
  REQUIRE_MESSAGE(value != nullptr, "another event (index " << event->index() << ")");
  return *value;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE(
    "client reconnect: the blocking Client survives kill -9 and a restart: Disconnected, "
    "Reconnected, then messages again on the same subscription") {
  RestartableDaemon broker;
  INFO(broker.log_tail());
  pc::Client listener;
  listener.connect("127.0.0.1", broker.port(), fast_reconnect());
  listener.subscribe("/queue/blocking");
  publish_once_subscribed(broker.port(), "/queue/blocking", "before");
  CHECK(expect_event<pc::Message>(listener).payload == "before");

  broker.kill();
  const auto lost = expect_event<pc::Disconnected>(listener);
  CHECK_FALSE(lost.reason.empty());
  broker.start();
  const auto back = expect_event<pc::Reconnected>(listener);
  CHECK(back.server == "127.0.0.1:" + std::to_string(broker.port()));
  CHECK(listener.connected());
  publish_once_subscribed(broker.port(), "/queue/blocking", "after");
  CHECK(expect_event<pc::Message>(listener).payload == "after");
  listener.close();
}

TEST_CASE("client reconnect: with reconnect.enabled=false next() throws connection_lost()") {
  RestartableDaemon broker;
  INFO(broker.log_tail());
  pc::Client listener;
  listener.connect("127.0.0.1", broker.port(), fast_reconnect(false));
  listener.subscribe("/topic/no-reconnect");
  broker.kill();
  std::optional<pc::Error> lost;
  try {
    while (listener.next(reconnect_timeout)) {
    }
  } catch (const pc::Error& e) {
    lost = e;
  }
  REQUIRE_MESSAGE(lost.has_value(), "next() did not throw once the broker was gone");
  CHECK(lost->connection_lost());
  CHECK_FALSE(listener.connected());
}

TEST_CASE(
    "client reconnect: paperboy listen survives kill -9 of the broker and its restart on the "
    "same port, with a note on stderr for each") {
  RestartableDaemon broker;
  INFO(broker.log_tail());
  const std::string port = std::to_string(broker.port());
  Command listen({PAPERBOY_CLI_PATH, "listen", "--port", port, "-c", "/topic/cli-survives"});
  INFO("listen's stderr: " << listen.err());
  publish_once_subscribed(broker.port(), "/topic/cli-survives", "before");
  CHECK(wait_until([&] { return listen.out() == "before\n"; }));

  broker.kill();
  CHECK(wait_until([&] { return lines(listen.err()) >= 1; }, reconnect_timeout));
  broker.start();
  publish_once_subscribed(broker.port(), "/topic/cli-survives", "after the restart");
  CHECK(wait_until([&] { return listen.out() == "before\nafter the restart\n"; }));
  const std::string notes = listen.err();
  CHECK(lines(notes) >= 2);
  CHECK(lower(notes).find("reconnect") != std::string::npos);
}

TEST_CASE("client reconnect: paperboy listen --no-reconnect exits non-zero when the broker dies") {
  RestartableDaemon broker;
  INFO(broker.log_tail());
  const std::string port = std::to_string(broker.port());
  Command listen(
      {PAPERBOY_CLI_PATH, "listen", "--port", port, "-c", "/topic/cli-gives-up", "--no-reconnect"});
  INFO("listen's stderr: " << listen.err());
  publish_once_subscribed(broker.port(), "/topic/cli-gives-up", "before");
  CHECK(wait_until([&] { return listen.out() == "before\n"; }));
  broker.kill();
  const auto status = listen.finish();
  CHECK(status.exited());
  CHECK(status.code() != 0);
  CHECK_FALSE(listen.err().empty());
}
