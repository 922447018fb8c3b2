// Version 2 PUB flag bit 0, require a subscriber: when nothing would receive the message (a topic
// with no matching subscription, a queue with no consumer) it is refused with ERR(req, 11), also
// for req 0, and the connection stays open. Without the flag nothing changes.
#include <doctest/doctest.h>

#include <string>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto no_subscribers = static_cast<std::uint16_t>(p::Errc::no_subscribers);

// A PUB requiring a subscriber on `channel`, refused: ERR(req, 11) for a non-zero req and
// ERR(0, 11) for req 0, then the connection still answers.
void expect_refused(Conn& publisher, const std::string& channel, std::string_view payload) {
  const auto req = publisher.next_req();
  publisher.send(p::Pub{req, channel, {}, payload, p::pub_flag_require_subscriber});
  publisher.expect_err(req, no_subscribers);
  publisher.send(p::Pub{0, channel, {}, payload, p::pub_flag_require_subscriber});
  publisher.expect_err(0, no_subscribers);
  publisher.ping_pong();
}

void publish_required(Conn& publisher, const std::string& channel, std::string_view payload) {
  publish_v2(publisher, channel, payload, {}, 0, p::pub_flag_require_subscriber);
}

}  // namespace

TEST_CASE("v2 no subscribers: a topic PUB requiring a subscriber is refused until one comes") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/nobody";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  expect_refused(publisher, channel, job(0));
  publish_v2(publisher, channel, job(0));  // without the flag: taken and dropped, as before

  // A subscription elsewhere is no one for this channel; a matching pattern is.
  Conn subscriber(daemon.port(), "subscriber");
  hello_v2(subscriber);
  subscriber.subscribe("/topic/somebody-else");
  subscriber.subscribe("/topic/nobody/*");
  expect_refused(publisher, channel, job(1));
  subscriber.subscribe("/topic/>");
  publish_required(publisher, channel, job(2));
  subscriber.expect_msg(channel, job(2));
  subscriber.unsubscribe("/topic/>");
  subscriber.subscribe(channel);
  publish_required(publisher, channel, job(3));
  subscriber.expect_msg(channel, job(3));

  // Once the last one leaves, it is refused again; nothing refused was ever delivered.
  subscriber.unsubscribe(channel);
  expect_refused(publisher, channel, job(4));
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 no subscribers: a version 1 or PB0 subscriber counts as a subscriber") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/old-ears";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  Pb0Conn pb0(daemon.port(), channel, "pb0-subscriber");
  await_topic_subscription(
      pb0, [&](std::string_view payload) { publish_v2(publisher, channel, payload); });
  publish_required(publisher, channel, job(0));
  pb0.expect_data_eq(job(0));
  pb0.stream().socket().close();
  Conn v1(daemon.port(), "v1-subscriber");
  v1.hello();
  v1.subscribe(channel);
  publish_required(publisher, channel, job(1));
  v1.expect_msg(channel, job(1));
  v1.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 no subscribers: a queue PUB requiring a consumer is refused and not kept") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/nobody";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  expect_refused(publisher, channel, job(0));
  publish_v2(publisher, channel, job(1));  // without the flag: kept in the backlog

  Conn consumer(daemon.port(), "consumer");
  hello_v2(consumer);
  consumer.subscribe_manual(channel, 1);
  const auto kept = consumer.expect_delivery(channel, job(1), false);  // job(0) was never kept
  // A consumer at its prefetch is still a consumer: the message waits for it.
  publish_required(publisher, channel, job(2));
  consumer.ack(kept->delivery);
  consumer.ack(consumer.expect_delivery(channel, job(2), false)->delivery);
  consumer.ping_pong();

  consumer.unsubscribe(channel);
  expect_refused(publisher, channel, job(3));
  Conn late(daemon.port(), "late-consumer");
  late.hello();
  late.subscribe(channel);
  late.ping_pong();  // nothing refused is waiting
  late.expect_nothing();
  expect_clean_exit(daemon);
}
