// Publisher confirms: a PUB with req != 0 gets OK(req) once the broker has taken the message (a
// queue: in its backlog or handed to a consumer; a topic: fanned out, or dropped for want of
// subscribers), ERR(req, 3) when refused for a bad channel or reply-to, and under back-pressure
// the OK comes late, never early and never not at all.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "conn_set.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto long_timeout = std::chrono::seconds(30);

}  // namespace

TEST_CASE(
    "confirms: every accepted PUB is confirmed in order, to queues and topics with and without "
    "receivers") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string heard = "/topic/heard";
  const std::string unheard = "/topic/unheard";
  const std::string consumed = "/queue/consumed";
  const std::string waiting = "/queue/waiting";
  Conn listener(daemon.port(), "listener");
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&listener, &consumer, &publisher}) c->hello();
  listener.subscribe(heard);
  consumer.subscribe_manual(consumed, 0);

  constexpr std::size_t rounds = 25;
  const std::vector<std::string> channels = {heard, unheard, consumed, waiting};
  std::string bytes;
  std::uint32_t req = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    for (const auto& channel : channels) {
      p::append_frame(bytes, p::Pub{++req, channel, i % 2 == 0 ? "" : "/topic/_reply/c/1", job(i)});
    }
  }
  publisher.send_raw(bytes);
  for (std::uint32_t r = 1; r <= req; ++r) publisher.expect_ok(r);
  publisher.ping_pong();  // one OK each, nothing else

  const auto reply_to = [](std::size_t i) { return i % 2 == 0 ? "" : "/topic/_reply/c/1"; };
  for (std::size_t i = 0; i < rounds; ++i) {
    CHECK(listener.expect_msg(heard, job(i))->reply_to == reply_to(i));
    const auto msg = consumer.expect_delivery(consumed, job(i), false);
    CHECK(msg->reply_to == reply_to(i));
    consumer.ack(msg->delivery);
  }
  listener.ping_pong();
  consumer.ping_pong();
  Conn late(daemon.port(), "late");
  late.hello();
  late.subscribe(waiting);
  for (std::size_t i = 0; i < rounds; ++i) {
    CHECK(late.expect_msg(waiting, job(i))->reply_to == reply_to(i));
  }
  late.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "confirms: a bad channel or reply-to gets ERR(req 3), is delivered nowhere, and the PUBs "
    "around it are confirmed") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/refusals";
  Conn consumer(daemon.port(), "consumer");
  Conn publisher(daemon.port(), "publisher");
  consumer.hello();
  publisher.hello();
  consumer.subscribe_manual(channel, 100);

  const std::vector<p::Pub> pubs = {
      {1, channel, "", "good 1"},
      {2, "/queue/", "", "bad channel"},
      {3, channel, "/topic/_reply/ok/3", "good 3"},
      {4, channel, "no-slash", "bad reply-to"},
      {5, "/topic/a b", "", "bad topic"},
      {6, channel, "/queue/a\x01", "bad reply-to"},
      {7, channel, "", "good 7"},
  };
  std::string bytes;
  for (const auto& pub : pubs) p::append_frame(bytes, pub);
  publisher.send_raw(bytes);
  publisher.expect_ok(1);
  publisher.expect_err(2, 3);
  publisher.expect_ok(3);
  publisher.expect_err(4, 3);
  publisher.expect_err(5, 3);
  publisher.expect_err(6, 3);
  publisher.expect_ok(7);
  publisher.ping_pong();

  consumer.ack(consumer.expect_delivery(channel, "good 1", false)->delivery);
  CHECK(consumer.expect_delivery(channel, "good 3", false)->reply_to == "/topic/_reply/ok/3");
  consumer.expect_delivery(channel, "good 7", false);
  consumer.ping_pong();
  publisher.publish(channel, "still confirmed");
  consumer.expect_delivery(channel, "still confirmed", false);
  expect_clean_exit(daemon);
}

TEST_CASE(
    "confirms: while the backlog is full OKs stop, then come one per freed slot, in order, all of "
    "them") {
  constexpr std::size_t backlog = 4;
  constexpr std::uint16_t prefetch = 2;
  constexpr std::size_t n = 30;
  Daemon daemon({"--channel-backlog", std::to_string(backlog)});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/full";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  std::string bytes;
  for (std::size_t i = 0; i < n; ++i) {
    p::append_frame(bytes, p::Pub{static_cast<std::uint32_t>(i + 1), channel, "", job(i)});
  }
  publisher.send_raw(bytes);  // about 3 KiB: well inside the default read-ahead

  // Only what the backlog holds is confirmed; the rest is parked, unconfirmed, not refused.
  for (std::size_t i = 0; i < backlog; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
  publisher.expect_nothing();
  publisher.ping_pong();

  // A consumer with credit for 2 takes 2 from the backlog: exactly 2 more PUBs fit and are
  // confirmed, no more, because nothing else left the backlog.
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe_manual(channel, prefetch);
  std::vector<std::uint64_t> held;
  for (std::size_t i = 0; i < prefetch; ++i) {
    held.push_back(consumer.expect_delivery(channel, job(i), false)->delivery);
  }
  std::size_t confirmed = backlog;
  for (std::size_t i = 0; i < prefetch; ++i)
    publisher.expect_ok(static_cast<std::uint32_t>(++confirmed));
  publisher.ping_pong();

  // Each ACK moves one job out of the backlog and so lets exactly one parked PUB in.
  std::size_t next_job = prefetch;
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    consumer.ack(held.front());
    held.erase(held.begin());
    held.push_back(consumer.expect_delivery(channel, job(next_job++), false)->delivery);
    publisher.expect_ok(static_cast<std::uint32_t>(++confirmed));
    publisher.ping_pong();
  }

  // Drained at full speed, every job arrives once and in order and every PUB is confirmed.
  for (auto id : held) consumer.ack(id);
  std::size_t confirmed_all = confirmed;
  const std::vector<Conn*> conns = {&consumer, &publisher};
  pump_until(
      conns,
      [&](std::size_t k, Decoded<p::Message> frame) {
        if (k == 1) {
          const auto* ok = std::get_if<p::Ok>(&*frame);
          REQUIRE_MESSAGE(
              (ok != nullptr && ok->req == confirmed_all + 1),
              "publisher: expected OK(req=" << confirmed_all + 1 << "), got " << describe(*frame));
          ++confirmed_all;
          return;
        }
        const auto* msg = std::get_if<p::Msg>(&*frame);
        REQUIRE_MESSAGE(msg != nullptr, "consumer got " << describe(*frame));
        REQUIRE_MESSAGE(
            (msg->delivery != 0 && !msg->redelivered() && job_index(consumer, *msg) == next_job),
            "expected job " << next_job << ", got " << describe(*msg));
        ++next_job;
        consumer.ack(msg->delivery);
      },
      [&] { return next_job == n && confirmed_all == n; }, long_timeout,
      [&] {
        return std::to_string(next_job) + " of " + std::to_string(n) + " jobs delivered, " +
               std::to_string(confirmed_all) + " confirmed";
      });
  consumer.ping_pong();
  publisher.ping_pong();
  expect_clean_exit(daemon);
}
