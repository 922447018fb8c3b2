// /topic channels: every current subscriber gets every message, in publish order, intact.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// The next frame must be a plain topic delivery: no delivery id, no flags.
void expect_topic_msg(Conn& c, std::string_view channel, std::string_view payload,
                      std::string_view reply_to = {}) {
  const auto msg = c.expect_msg(channel, payload);
  CHECK_MESSAGE(msg->delivery == 0, c.name() << ": topic MSG with delivery id " << msg->delivery);
  CHECK_MESSAGE(msg->flags == 0, c.name() << ": topic MSG with flags " << unsigned{msg->flags});
  CHECK_MESSAGE(msg->reply_to == reply_to, c.name() << ": reply-to " << printable(msg->reply_to)
                                                    << ", published " << printable(reply_to));
}

}  // namespace

TEST_CASE("topic: three subscribers each get every message in publish order and intact") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/fanout";
  std::vector<Conn> subscribers;
  for (int i = 0; i < 3; ++i) subscribers.emplace_back(daemon.port(), "sub" + std::to_string(i));
  for (auto& s : subscribers) {
    s.hello();
    s.subscribe(channel);
  }
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();

  // Sizes from empty to a few KiB, binary bytes, some with a reply-to; all pipelined.
  struct Sent {
    std::string payload;
    std::string reply_to;
  };
  std::vector<Sent> sent = {
      {"", ""}, {std::string(1, '\0'), ""}, {"\xff\xfe not utf-8", "/topic/r"}};
  for (std::size_t i = 0; i < 200; ++i) {
    sent.push_back({numbered_payload(i, (i * 37) % 5000), i % 7 == 0 ? "/queue/replies" : ""});
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    publisher.pub(channel, sent[i].payload, static_cast<std::uint32_t>(i + 1), sent[i].reply_to);
  }
  for (std::size_t i = 0; i < sent.size(); ++i)
    publisher.expect_ok(static_cast<std::uint32_t>(i + 1));

  for (auto& s : subscribers) {
    for (const auto& m : sent) expect_topic_msg(s, channel, m.payload, m.reply_to);
    s.ping_pong();  // and not one message more
  }
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a payload of exactly max_payload bytes fans out intact") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/big";
  std::vector<Conn> subscribers;
  for (int i = 0; i < 3; ++i) subscribers.emplace_back(daemon.port(), "sub" + std::to_string(i));
  for (auto& s : subscribers) {
    s.hello();
    s.subscribe(channel);
  }
  Conn publisher(daemon.port(), "publisher");
  const auto max_payload = publisher.hello()->max_payload;
  const std::string payload = numbered_payload(1, max_payload);
  publisher.pub(channel, payload, 1);
  // Subscribers and publisher are read one after the other; the daemon must hold the rest.
  for (auto& s : subscribers) expect_topic_msg(s, channel, payload);
  publisher.expect_ok(1);
  expect_clean_exit(daemon);
}

TEST_CASE("topic: two publishers' messages each arrive in their own publish order") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/two-publishers";
  Conn subscriber(daemon.port(), "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Conn a(daemon.port(), "publisher-a");
  Conn b(daemon.port(), "publisher-b");
  a.hello();
  b.hello();
  constexpr std::size_t n = 300;
  for (std::size_t i = 0; i < n; ++i) {
    a.pub(channel, numbered_payload(i, 64, "a"));
    b.pub(channel, numbered_payload(i, 64, "b"));
  }
  a.ping_pong();
  b.ping_pong();
  std::size_t next_a = 0;
  std::size_t next_b = 0;
  for (std::size_t k = 0; k < 2 * n; ++k) {
    const auto msg = subscriber.expect<p::Msg>();
    if (const auto i = payload_index(msg->payload, "a")) {
      REQUIRE_MESSAGE(*i == next_a,
                      "publisher a's message " << *i << " came when " << next_a << " was due");
      ++next_a;
    } else if (const auto j = payload_index(msg->payload, "b")) {
      REQUIRE_MESSAGE(*j == next_b,
                      "publisher b's message " << *j << " came when " << next_b << " was due");
      ++next_b;
    } else {
      FAIL("unexpected or damaged payload " << printable(msg->payload));
    }
  }
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a message with no subscriber is dropped silently and still confirmed") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/nobody";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.publish(channel, "into the void");
  publisher.ping_pong();  // the OK was all: no ERR, nothing else

  Conn late(daemon.port(), "late-subscriber");
  late.hello();
  late.subscribe(channel);
  late.ping_pong();  // a topic keeps nothing for later subscribers
  publisher.publish(channel, "now someone listens");
  late.expect_msg(channel, "now someone listens");
  late.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: UNSUB is confirmed and stops delivery to that subscriber only") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/unsub";
  Conn leaving(daemon.port(), "leaving");
  Conn staying(daemon.port(), "staying");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&leaving, &staying, &publisher}) c->hello();
  leaving.subscribe(channel);
  staying.subscribe(channel);

  publisher.publish(channel, "before");
  leaving.expect_msg(channel, "before");
  staying.expect_msg(channel, "before");

  leaving.unsub(channel, 42);
  leaving.expect_ok(42);
  publisher.publish(channel, "after");
  staying.expect_msg(channel, "after");
  leaving.ping_pong();  // nothing for the one that left

  leaving.subscribe(channel);  // and it can come back
  publisher.publish(channel, "again");
  leaving.expect_msg(channel, "again");
  staying.expect_msg(channel, "again");
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a duplicate SUB is confirmed and still delivers one copy") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/dup";
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.sub(channel, 1);
  subscriber.sub(channel, 2);
  subscriber.expect_ok(1);
  subscriber.expect_ok(2);
  publisher.publish(channel, "once");
  subscriber.expect_msg(channel, "once");
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: UNSUB of a channel not subscribed is confirmed") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  c.hello();
  c.unsub("/topic/never", 7);
  c.expect_ok(7);
  c.subscribe("/topic/once");
  c.unsubscribe("/topic/once");
  c.unsub("/topic/once", 8);  // already gone
  c.expect_ok(8);
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: PUB with req 0 is delivered and not confirmed") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/fire-and-forget";
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.subscribe(channel);
  publisher.pub(channel, "no reply wanted", 0);
  publisher.ping_pong();  // PONG comes next: no OK for req 0
  subscriber.expect_msg(channel, "no reply wanted");
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a publisher subscribed to its own channel gets its own message") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/echo";
  Conn c(daemon.port());
  c.hello();
  c.subscribe(channel);
  c.pub(channel, "to myself", 9);
  bool got_ok = false;
  bool got_msg = false;
  for (int i = 0; i < 2; ++i) {
    const auto m = c.expect_message();
    if (const auto* ok = std::get_if<p::Ok>(&*m); ok != nullptr && ok->req == 9 && !got_ok) {
      got_ok = true;
    } else if (const auto* msg = std::get_if<p::Msg>(&*m);
               msg != nullptr && msg->payload == "to myself" && !got_msg) {
      got_msg = true;
    } else {
      FAIL("expected OK(req=9) and MSG(\"to myself\"), got " << describe(*m));
    }
  }
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: channels are separate and names are matched exactly") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.subscribe("/topic/a");
  for (const char* other : {"/topic/b", "/topic/ab", "/topic/a/b", "/topic/A", "/queue/a"}) {
    publisher.publish(other, other);
  }
  publisher.publish("/topic/a", "mine");
  subscriber.expect_msg("/topic/a", "mine");
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a manual-ack SUB on a topic is accepted and delivers plain messages") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/manual";
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.sub(channel, 3, p::sub_flag_manual_ack, 10);
  subscriber.expect_ok(3);
  publisher.publish(channel, "no ack needed");
  expect_topic_msg(subscriber, channel, "no ack needed");
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("topic: a subscriber that disconnects is forgotten and the others keep receiving") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/leavers";
  Conn staying(daemon.port(), "staying");
  Conn publisher(daemon.port(), "publisher");
  staying.hello();
  publisher.hello();
  staying.subscribe(channel);
  for (int round = 0; round < 20; ++round) {
    {
      Conn leaver(daemon.port(), "leaver");
      leaver.hello();
      leaver.subscribe(channel);
      publisher.publish(channel, "while connected " + std::to_string(round));
      leaver.expect_msg(channel, "while connected " + std::to_string(round));
      if (round % 2 == 1) leaver.socket().abort();  // RST instead of FIN, half the time
    }
    publisher.publish(channel, "after " + std::to_string(round));
  }
  for (int round = 0; round < 20; ++round) {
    staying.expect_msg(channel, "while connected " + std::to_string(round));
    staying.expect_msg(channel, "after " + std::to_string(round));
  }
  staying.ping_pong();
  expect_clean_exit(daemon);
}
