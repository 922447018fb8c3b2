// Wildcard subscriptions on /topic, for version 1, version 2 and PB0 subscribers: a segment that
// is exactly `*` matches one segment, a last segment `>` one or more. A connection whose
// subscriptions overlap gets each message once; MSG and GAP name the channel it was published
// on. Wildcards anywhere else are refused with ERR 3.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto bad_channel = static_cast<std::uint16_t>(p::Errc::bad_channel);

}  // namespace

TEST_CASE("v2 wildcard: each pattern gets exactly the channels it matches, in publish order") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // pattern -> the published channels it must receive, in order.
  const std::vector<std::string> published = {
      "/topic/news",        "/topic/news/sports", "/topic/news/a/b", "/topic/weather/sports",
      "/topic/news/sports", "/topic/ne*ws",       "/topic/sports"};
  const std::map<std::string, std::vector<std::size_t>> expected = {
      {"/topic/news/*", {1, 4}},
      {"/topic/news/>", {1, 2, 4}},
      {"/topic/>", {0, 1, 2, 3, 4, 5, 6}},
      {"/topic/*", {0, 5, 6}},
      {"/topic/*/sports", {1, 3, 4}},
      {"/topic/*/*/b", {2}},
      {"/topic/ne*ws", {5}},  // `*` inside a segment is a literal character
      {"/topic/news/sports/>", {}},
  };
  std::vector<Conn> subscribers;
  std::size_t n = 0;
  for (const auto& entry : expected) {
    subscribers.emplace_back(daemon.port(), "sub" + std::to_string(n++) + " " + entry.first);
  }
  auto sub = subscribers.begin();
  for (const auto& [pattern, _] : expected) {
    // Version 2 and version 1 subscribers alternate: the rule is the same for both.
    if ((sub - subscribers.begin()) % 2 == 0) {
      hello_v2(*sub);
    } else {
      sub->hello();
    }
    sub->subscribe(pattern);
    ++sub;
  }
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  for (std::size_t i = 0; i < published.size(); ++i) {
    publisher.publish(published[i], numbered_payload(i, 40));
  }
  sub = subscribers.begin();
  for (const auto& entry : expected) {
    CAPTURE(entry.first);  // not a structured binding: clang 14 cannot capture one
    for (std::size_t i : entry.second) sub->expect_msg(published[i], numbered_payload(i, 40));
    sub->ping_pong();  // and nothing else
    ++sub;
  }
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: overlapping subscriptions of one connection deliver each message once") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/topic/news/sports";
  const std::vector<std::string> overlapping = {channel, "/topic/news/*", "/topic/news/>",
                                                "/topic/>", "/topic/*/sports"};
  Conn v2(daemon.port(), "v2-subscriber");
  Conn v1(daemon.port(), "v1-subscriber");
  hello_v2(v2);
  v1.hello();
  for (const auto& s : overlapping) {
    v2.subscribe(s);
    v1.subscribe(s);
  }
  v1.subscribe("/topic/news/*");  // again: idempotent
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);

  // Leave the subscriptions one by one: while any one matches, one copy; then none.
  std::size_t i = 0;
  for (const auto& leaving : overlapping) {
    CAPTURE(leaving);
    const auto before = unix_now_ns();
    publish_v2(publisher, channel, numbered_payload(i, 64));
    const auto msg = v2.expect_msg(channel, numbered_payload(i, 64));
    check_published_at(v2, *msg, before, unix_now_ns());
    v1.expect_msg(channel, numbered_payload(i, 64));
    v2.ping_pong();
    v1.ping_pong();
    v2.unsubscribe(leaving);
    v1.unsubscribe(leaving);
    ++i;
  }
  publish_v2(publisher, channel, numbered_payload(i, 64));
  v2.ping_pong();
  v1.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: no pattern reaches a reply channel, and none may be subscribed there") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn snoop(daemon.port(), "snoop");
  Conn requester(daemon.port(), "requester");
  hello_v2(snoop);
  requester.hello();
  snoop.subscribe("/topic/>");
  snoop.subscribe("/topic/*/inbox7/*");
  for (const std::string_view pattern : {"/topic/_reply/*", "/topic/_reply/inbox7/>"}) {
    CAPTURE(pattern);
    const auto req = snoop.next_req();
    snoop.sub(pattern, req);
    snoop.expect_err(req, 3);
  }
  requester.subscribe("/topic/_reply/inbox7");
  Conn responder(daemon.port(), "responder");
  hello_v2(responder);
  publish_v2(responder, "/topic/_reply/inbox7/1", "the answer");
  requester.expect_msg("/topic/_reply/inbox7/1", "the answer");
  // A topic outside the replies still reaches the snoop: its patterns work, they skip replies.
  publish_v2(responder, "/topic/news", "public");
  snoop.expect_msg("/topic/news", "public");
  snoop.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: a PB0 client subscribes to a pattern") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  Pb0Conn listener(daemon.port(), "/topic/news/*", "pb0-listener");
  await_topic_subscription(
      listener, [&](std::string_view payload) { publisher.publish("/topic/news/probe", payload); });
  publisher.publish("/topic/news", "not matched");
  publisher.publish("/topic/news/a/b", "not matched either");
  publisher.publish("/topic/news/sports", "matched");
  listener.expect_data_eq("matched");
  listener.expect_nothing();

  // And a PB0 publisher reaches a PB1 pattern.
  Conn subscriber(daemon.port(), "pb1-subscriber");
  subscriber.hello();
  subscriber.subscribe("/topic/pb0/>");
  Pb0Conn sender(daemon.port(), "/null", "pb0-sender");
  sender.publish("/topic/pb0/a/b", "from pb0");
  subscriber.expect_msg("/topic/pb0/a/b", "from pb0");
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: a GAP for a pattern subscriber names the channel published on") {
  constexpr std::size_t size = 4096;
  constexpr std::size_t n = 3072;  // 12 MiB: far more than the kernel buffers and the queue hold
  Daemon daemon({"--client-queue-bytes", "262144", "--slow-consumer", "drop"});
  INFO(daemon.log_tail());
  const std::string channel = "/topic/firehose/main";
  Conn slow(daemon.port(), "slow", SocketOptions{4096});
  Conn publisher(daemon.port(), "publisher");
  hello_v2(slow);
  publisher.hello();
  slow.subscribe("/topic/firehose/*");
  constexpr std::size_t batch = 64;
  for (std::size_t start = 0; start < n; start += batch) {
    for (std::size_t i = start; i < start + batch; ++i) {
      publisher.pub(channel, numbered_payload(i, size), static_cast<std::uint32_t>(i + 1));
    }
    for (std::size_t i = start; i < start + batch; ++i) {
      publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
    }
  }

  std::size_t gaps = 0;
  std::size_t messages = 0;
  slow.ping(1);
  for (;;) {
    const auto m = slow.expect_message(std::chrono::seconds(30));
    if (std::holds_alternative<p::Pong>(*m)) break;
    if (const auto* gap = std::get_if<p::Gap>(&*m)) {
      CHECK_MESSAGE(gap->channel == channel, describe(*gap));
      ++gaps;
    } else if (const auto* msg = std::get_if<p::Msg>(&*m)) {
      CHECK_MESSAGE(msg->channel == channel, describe(*msg));
      ++messages;
    } else {
      FAIL("slow subscriber got " << describe(*m));
    }
  }
  // A GAP is sent before the next MSG after a loss; publish that MSG.
  publisher.publish(channel, "after the loss");
  for (;;) {
    const auto m = slow.expect_message();
    if (const auto* gap = std::get_if<p::Gap>(&*m)) {
      CHECK_MESSAGE(gap->channel == channel, describe(*gap));
      ++gaps;
      continue;
    }
    REQUIRE(std::holds_alternative<p::Msg>(*m));
    if (std::get<p::Msg>(*m).payload == "after the loss") break;
  }
  MESSAGE("slow pattern subscriber: " << messages << " received, " << gaps << " gaps");
  CHECK(gaps >= 1);
  CHECK(messages < n);
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: wildcard PUBs and wildcard SUBs on /queue get ERR 3 and the client stays") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "misuser");
  hello_v2(c);
  Bystander bystander(daemon.port());
  for (const std::string bad : {"/topic/news/*", "/topic/news/>", "/topic/*", "/topic/>",
                                "/topic/*/x", "/queue/jobs/*", "/queue/>"}) {
    CAPTURE(bad);
    const auto req = c.next_req();
    c.send(p::Pub{req, bad, {}, "nope"});
    c.expect_err(req, bad_channel);
  }
  for (const std::string bad :
       {"/queue/jobs/*", "/queue/>", "/queue/*/x", "/topic/news/>/x", "/topic/>/>"}) {
    CAPTURE(bad);
    const auto req = c.next_req();
    c.sub(bad, req);
    c.expect_err(req, bad_channel);
  }
  // The same connection goes on: a fine pattern, a fine PUB.
  c.subscribe("/topic/fine/>");
  c.send(p::Pub{0, "/topic/fine/yes", {}, "ok"});
  c.expect_msg("/topic/fine/yes", "ok");
  bystander.check();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("v2 wildcard: patterns count against --max-subscriptions and still deliver once") {
  constexpr std::size_t limit = 100;
  Daemon daemon({"--max-subscriptions", std::to_string(limit)});
  INFO(daemon.log_tail());
  Conn greedy(daemon.port(), "greedy");
  hello_v2(greedy);
  for (std::size_t i = 0; i + 2 < limit; ++i)
    greedy.subscribe("/topic/p" + std::to_string(i) + "/*");
  greedy.subscribe("/topic/a/*/x");
  greedy.subscribe("/topic/>");
  const auto req = greedy.next_req();
  greedy.sub("/topic/one/too/many/*", req);
  greedy.expect_err(req, static_cast<std::uint16_t>(p::Errc::not_authorized));

  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.publish("/topic/a/b/x", "matched by two");
  greedy.expect_msg("/topic/a/b/x", "matched by two");
  greedy.ping_pong();  // once
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
