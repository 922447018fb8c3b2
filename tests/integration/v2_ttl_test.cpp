// Version 2 message TTL on queues: a message still waiting when its TTL runs out (in the backlog,
// given back by a NACK, or by a consumer that left) is discarded, never delivered, and counted.
// Like RabbitMQ's per-message TTL, the daemon drops an expired message when it reaches the head
// of the queue, so each test then makes the queue look at its head (a consumer asking, a
// give-back, a publish) before it counts.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr std::uint32_t short_ttl_ms = 200;
// Far longer than any test here runs: a message with it must be delivered.
constexpr std::uint32_t long_ttl_ms = 600'000;

// Waits for the wall clock to pass `confirmed` (when the OK of the PUB arrived, so after the
// daemon took it) plus the TTL and a margin for a coarse clock. The passing of the TTL is the
// condition itself: there is no event to wait on.
void wait_past_ttl(Clock::time_point confirmed, std::uint32_t ttl_ms) {
  const auto expired_at = confirmed + std::chrono::milliseconds(ttl_ms + 50);
  REQUIRE(wait_until([&] { return Clock::now() >= expired_at; },
                     std::chrono::milliseconds(ttl_ms) + default_timeout));
}

// The daemon's count of expired messages on `channel` shows in its log: the rate-limited line
// names the channel at once; the total is in the summary at shutdown.
void expect_expired_count(Daemon& daemon, const std::string& channel, std::size_t expired) {
  const std::string line = "queue.expired channel=\"" + channel + "\"";
  CHECK_MESSAGE(wait_until([&] { return daemon.log_count(line) >= 1; }),
                "no " << line << " in the log");
  expect_clean_exit(daemon);
  CHECK_MESSAGE(daemon.log_count(" messages_expired=" + std::to_string(expired)) == 1,
                "no shutdown count of " << expired << " expired messages");
}

}  // namespace

TEST_CASE("v2 ttl: a message whose TTL runs out in the backlog is never delivered, and counted") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/ttl-backlog";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  publish_v2(publisher, channel, job(0), {}, short_ttl_ms);
  publish_v2(publisher, channel, job(1));  // no TTL
  publish_v2(publisher, channel, job(2), {}, short_ttl_ms);
  publish_v2(publisher, channel, job(3), {}, long_ttl_ms);
  const auto confirmed = Clock::now();
  // A version 1 publish has no TTL: it waits as long as it takes.
  Conn old(daemon.port(), "v1-publisher");
  old.hello();
  old.publish(channel, job(4));
  wait_past_ttl(confirmed, short_ttl_ms);

  Conn consumer(daemon.port(), "consumer");
  hello_v2(consumer);
  consumer.subscribe(channel);
  for (const std::size_t i : {1u, 3u, 4u}) consumer.expect_msg(channel, job(i));
  consumer.ping_pong();  // and nothing else
  expect_expired_count(daemon, channel, 2);
}

TEST_CASE("v2 ttl: a message NACKed back after its TTL ran out is discarded, not redelivered") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/ttl-nack";
  Conn worker(daemon.port(), "worker");
  Conn publisher(daemon.port(), "publisher");
  hello_v2(worker);
  hello_v2(publisher);
  worker.subscribe_manual(channel, 1);
  publish_v2(publisher, channel, job(0), {}, short_ttl_ms);
  const auto confirmed = Clock::now();
  const auto held = worker.expect_delivery(channel, job(0), false);  // fresh: delivered
  wait_past_ttl(confirmed, short_ttl_ms);
  worker.nack(held->delivery);
  worker.ping_pong();  // the give-back was handled, and nothing came back
  worker.expect_nothing();

  // The queue goes on: the next job is the next delivery.
  publish_v2(publisher, channel, job(1), {}, long_ttl_ms);
  worker.ack(worker.expect_delivery(channel, job(1), false)->delivery);
  worker.ping_pong();
  expect_expired_count(daemon, channel, 1);
}

TEST_CASE("v2 ttl: a message a leaving consumer gives back after its TTL is discarded") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/ttl-leaver";
  Conn leaver(daemon.port(), "leaver");
  Conn publisher(daemon.port(), "publisher");
  hello_v2(leaver);
  hello_v2(publisher);
  leaver.subscribe_manual(channel, 1);
  publish_v2(publisher, channel, job(0), {}, short_ttl_ms);
  const auto confirmed = Clock::now();
  leaver.expect_delivery(channel, job(0), false);
  wait_past_ttl(confirmed, short_ttl_ms);
  leaver.socket().close();

  // Whether the daemon sees the close before or after this SUB, the expired job is not handed
  // to the new consumer; the next one is.
  Conn stayer(daemon.port(), "stayer");
  hello_v2(stayer);
  stayer.subscribe_manual(channel, 1);
  stayer.expect_nothing();
  publish_v2(publisher, channel, job(1));
  stayer.ack(stayer.expect_delivery(channel, job(1), false)->delivery);
  stayer.ping_pong();
  expect_expired_count(daemon, channel, 1);
}

TEST_CASE("v2 ttl: a TTL does not apply to topics, and unexpired queue messages are not counted") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn subscriber(daemon.port(), "subscriber");
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&subscriber, &consumer, &publisher}) hello_v2(*c);
  subscriber.subscribe("/topic/ttl");
  consumer.subscribe_manual("/queue/ttl-fresh", 4);
  // A topic message is handed out at once; it is read here long after its 1 ms.
  publish_v2(publisher, "/topic/ttl", job(0), {}, 1);
  publish_v2(publisher, "/queue/ttl-fresh", job(1), {}, long_ttl_ms);
  wait_past_ttl(Clock::now(), 1);
  subscriber.expect_msg("/topic/ttl", job(0));
  consumer.ack(consumer.expect_delivery("/queue/ttl-fresh", job(1), false)->delivery);
  consumer.ping_pong();
  subscriber.ping_pong();
  expect_clean_exit(daemon);
  CHECK(daemon.log_count(" messages_expired=0") == 1);
}

TEST_CASE("v2 ttl: a flood of expired messages is counted exactly and logged a line a second") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/ttl-flood";
  constexpr std::size_t n = 2000;
  const auto start = Clock::now();
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  std::string pubs;
  for (std::size_t i = 0; i < n; ++i) {
    p::append_frame(pubs, p::Pub{0, channel, {}, job(i), 0, short_ttl_ms}, p::pb1_version_2);
  }
  publisher.send_raw(pubs);
  publisher.ping_pong();  // all taken
  const auto confirmed = Clock::now();
  publish_v2(publisher, channel, job(n));  // behind them, without a TTL
  wait_past_ttl(confirmed, short_ttl_ms);

  Conn consumer(daemon.port(), "consumer");
  hello_v2(consumer);
  consumer.subscribe(channel);
  consumer.expect_msg(channel, job(n));
  consumer.ping_pong();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start);
  expect_expired_count(daemon, channel, n);
  CHECK(daemon.log_count("queue.expired") <= static_cast<std::size_t>(seconds.count()) + 2);
}
