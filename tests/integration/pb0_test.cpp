// PB0, the prototype's protocol, and its interplay with PB1: one channel space for both.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

Publish via_pb1(Conn& publisher, std::string channel) {
  return [&publisher, channel](std::string_view payload) { publisher.publish(channel, payload); };
}

Publish via_pb0(Pb0Conn& publisher, std::string channel) {
  return [&publisher, channel](std::string_view payload) { publisher.publish(channel, payload); };
}

// Reads from several PB0 consumers until `total` data frames arrived between them; for each
// consumer, the indices of the numbered payloads it got, in arrival order.
std::vector<std::vector<std::size_t>> collect(const std::vector<Pb0Conn*>& consumers,
                                              std::size_t total) {
  std::vector<std::vector<std::size_t>> got(consumers.size());
  std::size_t received = 0;
  const Deadline deadline(default_timeout);
  while (received < total) {
    REQUIRE_MESSAGE(!deadline.expired(), received << " of " << total << " messages arrived");
    for (std::size_t c = 0; c < consumers.size(); ++c) {
      while (auto data = consumers[c]->next_data(std::chrono::milliseconds(1))) {
        const auto i = payload_index(*data);
        REQUIRE_MESSAGE(i.has_value(), consumers[c]->name() << ": got " << printable(*data));
        got[c].push_back(*i);
        ++received;
      }
    }
  }
  for (auto* c : consumers) c->expect_nothing();
  return got;
}

}  // namespace

TEST_CASE("pb0: a PB0 subscriber gets raw data frames from a PB1 publisher") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/news";
  Conn publisher(daemon.port(), "pb1-publisher");
  publisher.hello();
  Pb0Conn listener(daemon.port(), channel, "pb0-listener");
  await_topic_subscription(listener, via_pb1(publisher, channel));

  const std::vector<std::string> payloads = {"", std::string("\0\x01\x02", 3), "hello",
                                             numbered_payload(7, 70000)};
  for (const auto& payload : payloads) publisher.publish(channel, payload, "/topic/replies");
  for (const auto& payload : payloads) listener.expect_data_eq(payload);  // no channel, no reply-to
  listener.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: a PB0 publisher reaches PB1 subscribers as MSG with an empty reply-to") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/news";
  Conn subscriber(daemon.port(), "pb1-subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Pb0Conn sender(daemon.port(), "/null", "pb0-sender");
  for (std::size_t i = 0; i < 100; ++i) sender.publish(channel, numbered_payload(i, i * 10));
  for (std::size_t i = 0; i < 100; ++i) {
    const auto msg = subscriber.expect_msg(channel, numbered_payload(i, i * 10));
    CHECK(msg->reply_to.empty());
    CHECK(msg->delivery == 0);
  }
  subscriber.ping_pong();
  sender.expect_nothing();  // nothing was published to /null
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: the prototype's sender subscribed to /null reaches PB0 listeners") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/prototype";
  Pb0Conn listener_a(daemon.port(), channel, "listener-a");
  Pb0Conn listener_b(daemon.port(), channel, "listener-b");
  Pb0Conn sender(daemon.port(), "/null", "sender");
  await_topic_subscriptions({&listener_a, &listener_b}, via_pb0(sender, channel));

  for (std::size_t i = 0; i < 200; ++i) sender.publish(channel, numbered_payload(i, 100));
  for (std::size_t i = 0; i < 200; ++i) {
    listener_a.expect_data_eq(numbered_payload(i, 100));
    listener_b.expect_data_eq(numbered_payload(i, 100));
  }
  listener_a.expect_nothing();
  listener_b.expect_nothing();
  sender.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: PB0 channels outside /topic and /queue fan out between PB0 clients") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "news";  // the prototype allowed any name
  Pb0Conn a(daemon.port(), channel, "listener-a");
  Pb0Conn b(daemon.port(), channel, "listener-b");
  Pb0Conn sender(daemon.port(), "/null", "sender");
  await_topic_subscriptions({&a, &b}, via_pb0(sender, channel));
  for (std::size_t i = 0; i < 20; ++i) sender.publish(channel, numbered_payload(i));
  for (std::size_t i = 0; i < 20; ++i) {
    a.expect_data_eq(numbered_payload(i));
    b.expect_data_eq(numbered_payload(i));
  }
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: /queue channels hand each message to one PB0 consumer in turn") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/pb0-work";
  Conn publisher(daemon.port(), "pb1-publisher");
  publisher.hello();
  Pb0Conn c0(daemon.port(), channel, "consumer0");
  Pb0Conn c1(daemon.port(), channel, "consumer1");
  Pb0Conn c2(daemon.port(), channel, "consumer2");
  const std::vector<Pb0Conn*> consumers = {&c0, &c1, &c2};
  await_queue_consumers(consumers, via_pb1(publisher, channel));

  constexpr std::size_t n = 60;
  for (std::size_t i = 0; i < n; ++i) publisher.publish(channel, numbered_payload(i));
  const auto got = collect(consumers, n);

  // Round-robin: each gets a third, in publish order, and the turn repeats every 3 messages.
  std::vector<std::size_t> owner(n, consumers.size());
  for (std::size_t c = 0; c < got.size(); ++c) {
    CAPTURE(c);
    CHECK(got[c].size() == n / 3);
    CHECK(std::is_sorted(got[c].begin(), got[c].end()));
    for (auto i : got[c]) {
      REQUIRE(i < n);
      REQUIRE_MESSAGE(owner[i] == consumers.size(), "message " << i << " delivered twice");
      owner[i] = c;
    }
  }
  CHECK(std::set<std::size_t>{owner[0], owner[1], owner[2]}.size() == 3);
  for (std::size_t i = 3; i < n; ++i) CHECK_MESSAGE(owner[i] == owner[i - 3], "message " << i);
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: a PB0 channel that starts with /queue is a queue even without the slash") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queuejobs";
  Pb0Conn a(daemon.port(), channel, "consumer-a");
  Pb0Conn b(daemon.port(), channel, "consumer-b");
  Pb0Conn sender(daemon.port(), "/null", "sender");
  await_queue_consumers({&a, &b}, via_pb0(sender, channel));
  for (std::size_t i = 0; i < 20; ++i) sender.publish(channel, numbered_payload(i));
  const auto got = collect({&a, &b}, 20);
  CHECK(got[0].size() == 10);  // one each, in turn: not a copy to both
  CHECK(got[1].size() == 10);
  std::set<std::size_t> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  CHECK(all.size() == 20);
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: PB0 and PB1 consumers share one queue") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/mixed";
  Conn pb1(daemon.port(), "pb1-consumer");
  Conn publisher(daemon.port(), "publisher");
  pb1.hello();
  publisher.hello();
  pb1.subscribe(channel);
  Pb0Conn pb0(daemon.port(), channel, "pb0-consumer");

  // Probe until the PB0 consumer has one too; every probe goes to exactly one of them.
  std::size_t published = 0;
  std::size_t received = 0;
  bool pb0_has_one = false;
  const Deadline deadline(default_timeout);
  while (!pb0_has_one || received < published) {
    REQUIRE_MESSAGE(!deadline.expired(), "the PB0 consumer never got a probe");
    if (!pb0_has_one) {
      publisher.publish(channel, "probe");
      ++published;
    }
    while (auto data = pb0.next_data(std::chrono::milliseconds(10))) {
      REQUIRE(*data == "probe");
      pb0_has_one = true;
      ++received;
    }
    while (auto m = pb1.poll_message(Duration::zero())) {
      const auto* msg = std::get_if<p::Msg>(&**m);
      REQUIRE_MESSAGE((msg != nullptr && msg->payload == "probe"), describe(**m));
      ++received;
    }
  }

  constexpr std::size_t n = 40;
  for (std::size_t i = 0; i < n; ++i) publisher.publish(channel, numbered_payload(i));
  std::vector<std::size_t> to_pb0;
  std::vector<std::size_t> to_pb1;
  while (to_pb0.size() + to_pb1.size() < n) {
    REQUIRE_MESSAGE(!deadline.expired(), (to_pb0.size() + to_pb1.size()) << " of " << n);
    while (auto data = pb0.next_data(std::chrono::milliseconds(1)))
      to_pb0.push_back(*payload_index(*data));
    while (auto m = pb1.poll_message(std::chrono::milliseconds(1))) {
      const auto* msg = std::get_if<p::Msg>(&**m);
      REQUIRE_MESSAGE(msg != nullptr, describe(**m));
      CHECK(msg->channel == channel);
      to_pb1.push_back(*payload_index(msg->payload));
    }
  }
  CHECK(to_pb0.size() == n / 2);
  CHECK(to_pb1.size() == n / 2);
  CHECK(std::is_sorted(to_pb0.begin(), to_pb0.end()));
  CHECK(std::is_sorted(to_pb1.begin(), to_pb1.end()));
  pb1.ping_pong();
  pb0.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: PB1 messages waiting in a queue backlog go to a PB0 consumer that comes later") {
  Daemon daemon({"--channel-backlog", "1000"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/later";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  for (std::size_t i = 0; i < 100; ++i) publisher.publish(channel, numbered_payload(i, 500));
  Pb0Conn consumer(daemon.port(), channel, "pb0-consumer");
  for (std::size_t i = 0; i < 100; ++i) consumer.expect_data_eq(numbered_payload(i, 500));
  consumer.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("pb0: an empty channel frame ends the session after what was sent before it") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/last";
  Conn subscriber(daemon.port(), "pb1-subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Pb0Conn sender(daemon.port(), "/null", "pb0-sender");
  sender.publish(channel, "one");
  sender.publish(channel, "two");
  sender.publish(channel, "three");
  sender.end_session();
  sender.expect_closed();
  subscriber.expect_msg(channel, "one");
  subscriber.expect_msg(channel, "two");
  subscriber.expect_msg(channel, "three");
  subscriber.ping_pong();

  // A subscriber that ends its session is forgotten: publishing to its channel goes on.
  const std::string other = "/topic/left";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  {
    Pb0Conn leaving(daemon.port(), other, "pb0-leaving");
    await_topic_subscription(leaving, via_pb1(publisher, other));
    leaving.end_session();
    leaving.expect_closed();
  }
  for (int i = 0; i < 5; ++i) publisher.publish(other, "after");
  publisher.ping_pong();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
