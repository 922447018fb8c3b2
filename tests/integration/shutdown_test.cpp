// SIGTERM/SIGINT: stop accepting, tell PB1 clients ERR 6, flush what is queued, close, exit 0.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// How long the daemon may take from the signal to its exit when its clients read promptly.
constexpr auto exit_timeout = std::chrono::seconds(10);

void expect_exit_zero(Daemon& daemon) {
  const auto status = daemon.wait_exit(exit_timeout);
  REQUIRE_MESSAGE(status.has_value(),
                  "paperboyd still runs " << exit_timeout.count() << " s after the signal");
  CHECK_MESSAGE(status->clean(), "paperboyd ended with " << status->describe());
}

}  // namespace

TEST_CASE("shutdown: SIGTERM sends ERR 6 to connected PB1 clients then closes and exits 0") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn subscriber(daemon.port(), "subscriber");
  Conn idle(daemon.port(), "idle");
  subscriber.hello();
  idle.hello();
  subscriber.subscribe("/topic/shutdown");
  daemon.signal(SIGTERM);
  subscriber.expect_err_and_close(0, 6);
  idle.expect_err_and_close(0, 6);
  expect_exit_zero(daemon);
  CHECK_MESSAGE(daemon.stdout_text().empty(),
                "paperboyd wrote to stdout: " << printable(daemon.stdout_text()));
}

TEST_CASE("shutdown: SIGINT shuts down like SIGTERM") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  c.hello();
  daemon.signal(SIGINT);
  c.expect_err_and_close(0, 6);
  expect_exit_zero(daemon);
}

TEST_CASE("shutdown: SIGTERM with no clients exits 0") {
  Daemon daemon;
  INFO(daemon.log_tail());
  check_serves(daemon.port());
  daemon.signal(SIGTERM);
  expect_exit_zero(daemon);
}

TEST_CASE("shutdown: messages queued before SIGTERM are delivered before ERR 6 and the close") {
  // 8 MiB for each subscriber, which does not read until after the signal: most of it is still
  // in the daemon's send queues when SIGTERM arrives and must be flushed, not dropped. The grace
  // is long so a loaded machine reading slowly still gets all of it; the daemon exits as soon as
  // everyone is flushed and closed.
  constexpr std::size_t n = 2000;
  constexpr std::size_t size = 4096;
  Daemon daemon({"--client-queue-bytes", "67108864", "--channel-backlog", "100000",
                 "--channel-backlog-bytes", "67108864", "--shutdown-grace", "30"});
  INFO(daemon.log_tail());
  Conn topic_sub(daemon.port(), "topic-subscriber");
  Conn queue_sub(daemon.port(), "queue-consumer");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&topic_sub, &queue_sub, &publisher}) c->hello();
  topic_sub.subscribe("/topic/last-words");
  queue_sub.subscribe("/queue/last-words");
  Pb0Conn pb0_sub(daemon.port(), "/topic/last-words-pb0", "pb0-subscriber");
  await_topic_subscription(pb0_sub, [&](std::string_view payload) {
    publisher.publish("/topic/last-words-pb0", payload);
  });

  for (std::size_t i = 0; i < n; ++i) {
    const std::string payload = numbered_payload(i, size);
    const auto req = static_cast<std::uint32_t>(3 * i + 1);
    publisher.pub("/topic/last-words", payload, req);
    publisher.pub("/queue/last-words", payload, req + 1);
    publisher.pub("/topic/last-words-pb0", payload, req + 2);
  }
  for (std::uint32_t req = 1; req <= 3 * n; ++req) publisher.expect_ok(req);

  daemon.signal(SIGTERM);
  for (std::size_t i = 0; i < n; ++i) {
    topic_sub.expect_msg("/topic/last-words", numbered_payload(i, size));
    queue_sub.expect_msg("/queue/last-words", numbered_payload(i, size));
    pb0_sub.expect_data_eq(numbered_payload(i, size));
  }
  topic_sub.expect_err_and_close(0, 6);
  queue_sub.expect_err_and_close(0, 6);
  publisher.expect_err_and_close(0, 6);
  pb0_sub.expect_closed();  // PB0 has no ERR: just the close
  // The daemon waits (up to the grace) for each peer to close its side too.
  for (Conn* c : {&topic_sub, &queue_sub, &publisher}) c->socket().close();
  pb0_sub.stream().socket().close();
  expect_exit_zero(daemon);
}

TEST_CASE("shutdown: a subscriber that never reads does not hold up the exit") {
  Daemon daemon({"--client-queue-bytes", "67108864"});
  INFO(daemon.log_tail());
  Conn stuck(daemon.port(), "stuck", SocketOptions{4096});
  Conn publisher(daemon.port(), "publisher");
  stuck.hello();
  publisher.hello();
  stuck.subscribe("/topic/stuck");
  for (std::size_t i = 0; i < 2000; ++i) {
    publisher.pub("/topic/stuck", numbered_payload(i, 4096), static_cast<std::uint32_t>(i + 1));
  }
  for (std::uint32_t req = 1; req <= 2000; ++req) publisher.expect_ok(req);
  daemon.signal(SIGTERM);
  publisher.expect_err_and_close(0, 6);
  expect_exit_zero(daemon);
}

TEST_CASE("shutdown: after SIGTERM the daemon accepts no new connections") {
  Daemon daemon({"--client-queue-bytes", "67108864", "--shutdown-grace", "2"});
  INFO(daemon.log_tail());
  // A stuck subscriber keeps the daemon flushing for a while after the signal.
  Conn stuck(daemon.port(), "stuck", SocketOptions{4096});
  Conn publisher(daemon.port(), "publisher");
  stuck.hello();
  publisher.hello();
  stuck.subscribe("/topic/stuck");
  for (std::size_t i = 0; i < 2000; ++i) publisher.pub("/topic/stuck", numbered_payload(i, 4096));
  publisher.ping_pong();
  daemon.signal(SIGTERM);
  publisher.expect_err_and_close(0, 6);
  // The listener is closed: a new client is refused, or at most closed without a WELCOME.
  bool refused = false;
  try {
    Conn late(daemon.port(), "late");
    int error = 0;  // the daemon may reset it at once: that is fine too
    late.socket().send_some(p::encode_frame(p::Hello{}), default_timeout, error);
    const auto frames = late.read_until_closed();
    for (const auto& f : frames) {
      const auto m = p::decode(f);
      CHECK_MESSAGE(!(m && std::holds_alternative<p::Welcome>(*m)),
                    "a client connecting after SIGTERM was welcomed");
    }
  } catch (const std::system_error&) {
    refused = true;
  }
  MESSAGE("late client " << (refused ? "refused" : "accepted and closed"));
  expect_exit_zero(daemon);
}

TEST_CASE("shutdown: the daemon logs what SIGTERM discards, per queue channel and in total") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn holder(daemon.port(), "holder");
  Conn publisher(daemon.port(), "publisher");
  holder.hello();
  publisher.hello();
  // /queue/left-waiting: 7 messages and nobody to take them.
  for (std::size_t i = 0; i < 7; ++i) publisher.publish("/queue/left-waiting", job(i));
  // /queue/left-held: a worker holds 3 unacked, 4 wait behind them.
  holder.subscribe_manual("/queue/left-held", 3);
  for (std::size_t i = 0; i < 7; ++i) publisher.publish("/queue/left-held", job(i));
  for (std::size_t i = 0; i < 3; ++i) holder.expect_delivery("/queue/left-held", job(i), false);
  // /queue/left-empty: everything was taken and acked, so nothing is discarded there.
  holder.subscribe_manual("/queue/left-empty", 3);
  publisher.publish("/queue/left-empty", job(0));
  holder.ack(holder.expect_delivery("/queue/left-empty", job(0), false)->delivery);
  holder.ping_pong();

  daemon.signal(SIGTERM);
  holder.expect_err_and_close(0, 6);
  publisher.expect_err_and_close(0, 6);
  expect_exit_zero(daemon);
  CHECK(daemon.log_count(
            "server.discarded channel=\"/queue/left-waiting\" messages=7 unacked=0 ") == 1);
  CHECK(daemon.log_count("server.discarded channel=\"/queue/left-held\" messages=7 unacked=3 ") ==
        1);
  CHECK(daemon.log_count("left-empty") == 0);
  CHECK(daemon.log_count("server.discarded_total channels=2 messages=14 unacked=3 ") == 1);
}

TEST_CASE("shutdown: the discard report lists the 20 fullest channels, then the total") {
  constexpr std::size_t channels = 25;
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  // Channel i holds i + 1 messages: the 20 fullest are 5..24.
  for (std::size_t i = 0; i < channels; ++i) {
    for (std::size_t k = 0; k <= i; ++k)
      publisher.publish("/queue/many-" + std::to_string(i), job(k));
  }
  publisher.ping_pong();
  daemon.signal(SIGTERM);
  publisher.expect_err_and_close(0, 6);
  expect_exit_zero(daemon);
  CHECK(daemon.log_count("server.discarded channel=") == 20);
  CHECK(daemon.log_count("server.discarded channel=\"/queue/many-24\" messages=25 ") == 1);
  CHECK(daemon.log_count("server.discarded channel=\"/queue/many-5\" messages=6 ") == 1);
  CHECK(daemon.log_count("server.discarded channel=\"/queue/many-4\"") == 0);
  CHECK(daemon.log_count("server.discarded_total channels=25 messages=325 unacked=0 ") == 1);
}
