// Prefetch credit: a manual-ack subscription never holds more than its prefetch of unacked
// deliveries; 0 asks for --default-prefetch, anything above --max-prefetch is clamped; credit is
// counted per subscription; a consumer without credit is skipped, so it cannot hoard the queue.
#include <doctest/doctest.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// Receives jobs [from, to) in order as first deliveries, then proves nothing else was sent
// before the PONG of a PING: exactly those, and no more. Returns their delivery ids.
std::vector<std::uint64_t> expect_exactly(Conn& c, std::string_view channel, std::size_t from,
                                          std::size_t to) {
  std::vector<std::uint64_t> ids;
  for (std::size_t i = from; i < to; ++i)
    ids.push_back(c.expect_delivery(channel, job(i), false)->delivery);
  c.ping_pong();
  return ids;
}

// Publishes 10 * limit jobs to a consumer with no other consumer beside it, and checks it holds
// exactly `limit` unacked: that many arrive, then nothing until it acks one, then exactly one.
void check_credit(Daemon& daemon, std::uint16_t prefetch, std::size_t limit) {
  const std::string channel = "/queue/credit";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe_manual(channel, prefetch);
  const std::size_t n = 10 * limit;
  publish_jobs(publisher, channel, 0, n);

  auto held = expect_exactly(consumer, channel, 0, limit);
  consumer.expect_nothing();  // and not late either
  consumer.ack(held.front());
  const auto more = expect_exactly(consumer, channel, limit, limit + 1);
  consumer.expect_nothing();
  CHECK(more.front() > held.back());
  // Two acks, two more.
  consumer.ack(held[1]);
  consumer.ack(held[2]);
  expect_exactly(consumer, channel, limit + 1, limit + 3);
}

}  // namespace

TEST_CASE(
    "prefetch: a consumer with prefetch N gets exactly N of 10N jobs, then nothing until it acks, "
    "then one per ACK") {
  constexpr std::uint16_t prefetch = 4;
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/prefetch";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe_manual(channel, prefetch);
  constexpr std::size_t n = 10 * prefetch;
  publish_jobs(publisher, channel, 0, n);

  std::deque<std::uint64_t> held;
  for (auto id : expect_exactly(consumer, channel, 0, prefetch)) held.push_back(id);
  consumer.expect_nothing();
  // Each ACK frees exactly one credit: one more job, and nothing after it.
  for (std::size_t next = prefetch; next < n; ++next) {
    CAPTURE(next);
    consumer.ack(held.front());
    held.pop_front();
    held.push_back(expect_exactly(consumer, channel, next, next + 1).front());
  }
  // A NACK gives a credit back too, and the job returns to the one consumer there is.
  consumer.nack(held.front());
  held.pop_front();
  held.push_back(consumer.expect_delivery(channel, job(n - prefetch), true)->delivery);
  consumer.ping_pong();
  for (auto id : held) consumer.ack(id);
  consumer.ping_pong();
  consumer.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: 0 means --default-prefetch") {
  Daemon daemon({"--default-prefetch", "3"});
  INFO(daemon.log_tail());
  check_credit(daemon, 0, 3);
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: 0 means 64 when --default-prefetch is not given") {
  Daemon daemon;
  INFO(daemon.log_tail());
  check_credit(daemon, 0, 64);
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: a prefetch above --max-prefetch is clamped to it") {
  Daemon daemon({"--max-prefetch", "5"});
  INFO(daemon.log_tail());
  check_credit(daemon, 100, 5);
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: the largest prefetch, 65535, is allowed by default") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/wide";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe_manual(channel, 65535);
  publish_jobs(publisher, channel, 0, 300);  // more than the default prefetch of 64
  expect_exactly(consumer, channel, 0, 300);
  expect_clean_exit(daemon);
}

TEST_CASE(
    "prefetch: credit is counted per subscription and delivery ids are unique across a "
    "connection's subscriptions") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string a = "/queue/credit-a";
  const std::string b = "/queue/credit-b";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe_manual(a, 2);
  consumer.subscribe_manual(b, 2);
  publish_jobs(publisher, a, 0, 4);
  const auto from_a = expect_exactly(consumer, a, 0, 2);
  publish_jobs(publisher, b, 0, 4);  // a's credit is used up; b's is not
  const auto from_b = expect_exactly(consumer, b, 0, 2);
  CHECK(from_a == std::vector<std::uint64_t>{1, 2});
  CHECK(from_b == std::vector<std::uint64_t>{3, 4});
  consumer.ack(from_b[0]);  // frees a credit on b only
  const auto next_b = expect_exactly(consumer, b, 2, 3);
  CHECK(next_b.front() == 5);
  consumer.ack(from_a[1]);
  const auto next_a = expect_exactly(consumer, a, 2, 3);
  CHECK(next_a.front() == 6);
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: a consumer without credit is skipped, so a stuck worker cannot hoard jobs") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/hoard";
  Conn stuck(daemon.port(), "stuck");
  Conn fast(daemon.port(), "fast");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&stuck, &fast, &publisher}) c->hello();
  stuck.subscribe_manual(channel, 1);
  publish_jobs(publisher, channel, 0, 1);
  const auto stuck_job = expect_exactly(stuck, channel, 0, 1);  // and it never acks it
  fast.subscribe_manual(channel, 1);
  constexpr std::size_t n = 50;
  publish_jobs(publisher, channel, 1, n);
  for (std::size_t i = 1; i < n; ++i) {
    const auto msg = fast.expect_delivery(channel, job(i), false);
    fast.ack(msg->delivery);
  }
  fast.ping_pong();
  stuck.ping_pong();  // still just the one job
  stuck.ack(stuck_job.front());
  stuck.ping_pong();  // and the queue is empty
  fast.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("prefetch: an auto-ack subscription ignores its prefetch and gets delivery id 0") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/auto";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe(channel, 0, 2);
  publish_jobs(publisher, channel, 0, 20);
  for (std::size_t i = 0; i < 20; ++i) {
    const auto msg = consumer.expect_msg(channel, job(i));
    CHECK_MESSAGE((msg->delivery == 0 && msg->flags == 0), describe(*msg));
  }
  consumer.ping_pong();
  expect_clean_exit(daemon);
}
