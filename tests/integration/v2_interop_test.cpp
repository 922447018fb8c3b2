// PB1 version 2 negotiation, and the interop matrix: version 1, version 2 and PB0 clients share
// every channel, and each receives in its own dialect whatever any of the others published.
// Version 1 subscribers see today's frames byte for byte; version 2 subscribers see the broker's
// timestamp, and headers only where a version 2 publisher wrote some.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// One message each publisher dialect sends, and what a receiver must see of it.
struct Sent {
  std::string payload;
  std::string reply_to;  // PB0 has none
  std::string headers;   // only a version 2 publisher has any
  std::uint64_t before_ns = 0;
};

// The three publishers of the matrix.
struct Publishers {
  explicit Publishers(std::uint16_t port)
      : v1(port, "v1-publisher"), v2(port, "v2-publisher"), pb0(port, "/null", "pb0-publisher") {
    v1.hello();
    hello_v2(v2);
  }

  // Publishes one message from each, in the order v1, v2, PB0. The PB1 ones are confirmed before
  // the next is sent; PB0 has no confirmation, so a test receives a round before the next one.
  std::vector<Sent> publish_each(const std::string& channel, std::size_t round) {
    std::vector<Sent> sent;
    sent.push_back({numbered_payload(round, 300, "v1"), "/queue/replies-v1", {}, unix_now_ns()});
    v1.publish(channel, sent.back().payload, sent.back().reply_to);
    const std::string headers = header_block({{"content-type", "application/octet-stream"},
                                              {"trace", std::string("\x00\xff\x01 binary", 10)},
                                              {"trace", "repeated"}});
    sent.push_back(
        {numbered_payload(round, 300, "v2"), "/topic/replies-v2", headers, unix_now_ns()});
    publish_v2(v2, channel, sent.back().payload, headers, 0, 0, sent.back().reply_to);
    sent.push_back({numbered_payload(round, 300, "pb0"), "", {}, unix_now_ns()});
    pb0.publish(channel, sent.back().payload);
    return sent;
  }

  Conn v1;
  Conn v2;
  Pb0Conn pb0;
};

void expect_v1_receives(Conn& c, const std::string& channel, const Sent& m) {
  const auto msg = c.expect_msg(channel, m.payload);
  CHECK_MESSAGE(msg->reply_to == m.reply_to, c.name() << ": " << describe(*msg));
  check_v1_msg_bytes(c, msg);
}

void expect_v2_receives(Conn& c, const std::string& channel, const Sent& m) {
  const auto msg = c.expect_msg(channel, m.payload);
  const std::uint64_t after = unix_now_ns();
  CHECK_MESSAGE(msg->reply_to == m.reply_to, c.name() << ": " << describe(*msg));
  CHECK_MESSAGE(msg->headers == m.headers, c.name() << ": headers " << printable(msg->headers)
                                                    << ", published " << printable(m.headers));
  CHECK_MESSAGE(msg->published_at != 0, c.name() << ": no timestamp on " << describe(*msg));
  check_published_at(c, *msg, m.before_ns, after);
}

}  // namespace

TEST_CASE("v2 interop: HELLO version 2 is answered with WELCOME version 2 and the server version") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "v2-client");
  const auto welcome = c.hello("v2-client", p::pb1_version_2);
  CHECK(welcome->version == p::pb1_version_2);
  CHECK(c.version() == p::pb1_version_2);
  CHECK(welcome->max_payload > 0);
  CHECK_MESSAGE(!welcome->server_version.empty(), describe(*welcome));
  CHECK_MESSAGE(welcome->server_version.find('.') != std::string_view::npos, describe(*welcome));
  c.ping_pong();

  // A version 1 client gets today's WELCOME, byte for byte: no server version after the id.
  Conn old(daemon.port(), "v1-client");
  const auto v1_welcome = old.hello("v1-client");
  CHECK(v1_welcome->version == p::pb1_version);
  const p::Welcome today{p::pb1_version, v1_welcome->max_payload, v1_welcome->server_id};
  CHECK(v1_welcome.body() == p::encode_frame(today).substr(p::frame_header_size));
  old.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 interop: a HELLO above version 2 is answered with the version the broker speaks") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "v3-client");
  // Version 3 lays out its name and token as version 2 does here; the broker reads only the
  // version byte to choose min(client, server).
  c.send_raw(frame_of(std::string("\x00PB\x03\x00\x02v3\x00\x00", 10)));
  const auto welcome = c.expect<p::Welcome>();
  CHECK(welcome->version == p::pb1_version_2);
  c.ping_pong();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("v2 interop: --max-protocol-version 1 refuses HELLO version 2 like an older broker") {
  Daemon daemon({"--max-protocol-version", "1"});
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "v2-client");
  c.send_hello("v2-client", p::pb1_version_2);
  c.expect_err_and_close(0, static_cast<std::uint16_t>(p::Errc::unsupported_version));
  // The fallback a version 2 client makes: a new connection with version 1.
  Conn again(daemon.port(), "v1-again");
  CHECK(again.hello("v1-again")->version == p::pb1_version);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("v2 interop: a topic message from v1, v2 and PB0 reaches v1, v2 and PB0 subscribers") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/interop";
  Publishers pubs(daemon.port());
  Pb0Conn pb0_sub(daemon.port(), channel, "pb0-subscriber");
  await_topic_subscription(pb0_sub,
                           [&](std::string_view payload) { pubs.v1.publish(channel, payload); });
  // The PB1 subscribers come after the probes that made sure of the PB0 one.
  Conn v1_sub(daemon.port(), "v1-subscriber");
  Conn v2_sub(daemon.port(), "v2-subscriber");
  v1_sub.hello();
  hello_v2(v2_sub);
  v1_sub.subscribe(channel);
  v2_sub.subscribe(channel);

  for (std::size_t round = 0; round < 3; ++round) {
    CAPTURE(round);
    const auto sent = pubs.publish_each(channel, round);
    for (const auto& m : sent) expect_v1_receives(v1_sub, channel, m);
    for (const auto& m : sent) expect_v2_receives(v2_sub, channel, m);
    for (const auto& m : sent) pb0_sub.expect_data_eq(m.payload);  // payload only
  }
  v1_sub.ping_pong();
  v2_sub.ping_pong();
  pb0_sub.expect_nothing();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 interop: a queue message from v1, v2 and PB0 reaches a v1, a v2 and a PB0 consumer") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Publishers pubs(daemon.port());

  // Each consumer dialect in turn, alone on its queue: the three messages wait in the backlog
  // until it comes (so a v2 consumer sees the timestamp of the PUB, not of the delivery).
  SUBCASE("a version 1 consumer") {
    const std::string channel = "/queue/interop-v1";
    const auto sent = pubs.publish_each(channel, 0);
    Conn consumer(daemon.port(), "v1-consumer");
    consumer.hello();
    consumer.subscribe(channel);
    for (const auto& m : sent) expect_v1_receives(consumer, channel, m);
    consumer.ping_pong();
  }
  SUBCASE("a version 2 consumer, manual ack") {
    const std::string channel = "/queue/interop-v2";
    const auto sent = pubs.publish_each(channel, 0);
    Conn consumer(daemon.port(), "v2-consumer");
    hello_v2(consumer);
    consumer.subscribe_manual(channel, 8);
    for (const auto& m : sent) {
      const auto msg = consumer.expect_delivery(channel, m.payload, false);
      CHECK_MESSAGE(msg->headers == m.headers, consumer.name() << ": " << describe(*msg));
      CHECK(msg->reply_to == m.reply_to);
      check_published_at(consumer, *msg, m.before_ns, unix_now_ns());
      consumer.ack(msg->delivery);
    }
    consumer.ping_pong();
  }
  SUBCASE("a PB0 consumer") {
    const std::string channel = "/queue/interop-pb0";
    const auto sent = pubs.publish_each(channel, 0);
    Pb0Conn consumer(daemon.port(), channel, "pb0-consumer");
    for (const auto& m : sent) consumer.expect_data_eq(m.payload);
    consumer.expect_nothing();
  }
  pubs.v1.ping_pong();
  pubs.v2.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 interop: a version 2 connection publishes to and consumes its own queue and topic") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "v2-both");
  hello_v2(c);
  for (const std::string channel : {"/topic/self", "/queue/self"}) {
    CAPTURE(channel);
    c.subscribe(channel);
    const std::string headers = header_block({{"k", "v"}});
    const auto before = unix_now_ns();
    c.send(p::Pub{0, channel, {}, "to myself", 0, 0, headers});
    const auto msg = c.expect_msg(channel, "to myself");
    CHECK(msg->headers == headers);
    check_published_at(c, *msg, before, unix_now_ns());
    c.unsubscribe(channel);
  }
  c.ping_pong();
  expect_clean_exit(daemon);
}
