// paperboy::client speaking PB1 version 2 against the real daemon: negotiation and the fallback
// to version 1, headers with binary values and the broker's timestamp, wildcard subscriptions,
// request() failing at once when nobody consumes its channel and expiring when nobody waits for
// it any more, and BLOCKED/UNBLOCKED around a full queue backlog.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"
#include "paperboy/protocol/errc.hpp"

#ifndef PAPERBOY_VERSION
#error "PAPERBOY_VERSION must be the project version (the daemon's WELCOME names it)"
#endif

namespace p = paperboy::protocol;
namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

pc::Client connect_client(const Daemon& daemon, const std::string& name,
                          std::uint8_t version = pc::newest_protocol_version) {
  pc::ConnectOptions options;
  options.client_name = name;
  options.protocol_version = version;
  pc::Client client;
  client.connect("127.0.0.1", daemon.port(), options);
  return client;
}

std::uint64_t unix_now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// The next event, which must be a message.
pc::Message next_message(pc::Client& client, pc::Timeout timeout = default_timeout) {
  auto event = client.next(timeout);
  REQUIRE_MESSAGE(event.has_value(), "no event within the timeout");
  const auto* message = std::get_if<pc::Message>(&*event);
  REQUIRE_MESSAGE(message != nullptr,
                  "an event that is not a message (index " << event->index() << ")");
  return *message;
}

// Expects `call` to throw a pc::Error and returns it.
template <class Call>
pc::Error thrown_by(Call&& call) {
  try {
    call();
  } catch (const pc::Error& e) {
    return e;
  }
  FAIL("the call did not throw");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("client v2: version 2 is negotiated and the broker's version read from WELCOME") {
  Daemon daemon;
  INFO(daemon.log_tail());
  auto client = connect_client(daemon, "itest-v2");
  CHECK(client.protocol_version() == 2);
  CHECK(client.server_version() == PAPERBOY_VERSION);
  // Asked for version 1, a version-2 broker speaks version 1.
  auto old = connect_client(daemon, "itest-v1", 1);
  CHECK(old.protocol_version() == 1);
  CHECK(old.server_version().empty());
  client.ping();
  old.ping();
  client.close();
  old.close();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "client v2: against a version-1 broker it reconnects once in version 1 and works as before; "
    "headers or a TTL are refused, not dropped") {
  Daemon daemon({"--max-protocol-version", "1"});
  INFO(daemon.log_tail());
  auto client = connect_client(daemon, "itest-fallback");
  CHECK(client.protocol_version() == 1);
  CHECK(client.server_version().empty());
  CHECK(client.server_id().size() > 0);

  client.subscribe("/topic/fallback");
  client.publish_confirmed("/topic/fallback", "as before");
  const auto message = next_message(client);
  CHECK(message.channel == "/topic/fallback");
  CHECK(message.payload == "as before");
  CHECK(message.headers.empty());
  CHECK(message.published_at == 0);

  pc::PublishOptions with_headers;
  with_headers.headers = {{"trace", "1"}};
  const auto refused = thrown_by([&] { client.publish("/topic/fallback", "x", with_headers); });
  CHECK(refused.code() == p::Errc::unsupported_version);
  CHECK_FALSE(refused.connection_lost());
  CHECK(std::string(refused.what()).find("version 1") != std::string::npos);
  pc::PublishOptions with_ttl;
  with_ttl.ttl = 5s;
  const auto refused_ttl =
      thrown_by([&] { client.publish_confirmed("/queue/fallback", "x", with_ttl); });
  CHECK(refused_ttl.code() == p::Errc::unsupported_version);
  // Nothing of either was sent: the next frame the subscription sees is this one.
  client.publish_confirmed("/topic/fallback", "after");
  CHECK(next_message(client).payload == "after");
  client.ping();
  // One connection was let in (the second HELLO, version 1); the first was refused.
  CHECK(daemon.log_count("dialect=pb1 version=") == 1);
  client.close();
  expect_clean_exit(daemon);
}

TEST_CASE("client v2: headers with binary values and the broker's timestamp round trip") {
  Daemon daemon;
  INFO(daemon.log_tail());
  auto subscriber = connect_client(daemon, "itest-sub");
  auto publisher = connect_client(daemon, "itest-pub");
  subscriber.subscribe("/topic/headers");
  subscriber.subscribe("/queue/headers");

  const pc::Headers headers{{"content-type", "application/octet-stream"},
                            {"bin", std::string("\x00\xff\r\n\x01", 5)},
                            {"trace", "1"},
                            {"empty", ""},
                            {"trace", "2"}};
  const std::string payload("\x00payload\xfe", 9);
  pc::PublishOptions options;
  options.headers = headers;
  options.ttl = 60s;
  const auto before = unix_now_ns();
  publisher.publish_confirmed("/topic/headers", payload, options);
  publisher.publish_confirmed("/queue/headers", payload, options);
  const auto after = unix_now_ns();

  for (const char* channel : {"/topic/headers", "/queue/headers"}) {
    CAPTURE(channel);
    const auto message = next_message(subscriber);
    CHECK(message.channel == channel);
    CHECK(message.payload == payload);
    CHECK(message.headers == headers);
    CHECK(message.published_at >= before);
    CHECK(message.published_at <= after);
  }

  // A version 1 publish reaches a version 2 subscriber with no headers and the broker's stamp.
  auto old = connect_client(daemon, "itest-v1-pub", 1);
  const auto old_before = unix_now_ns();
  old.publish_confirmed("/topic/headers", "from v1");
  const auto from_old = next_message(subscriber);
  CHECK(from_old.payload == "from v1");
  CHECK(from_old.headers.empty());
  CHECK(from_old.published_at >= old_before);
  CHECK(from_old.published_at <= unix_now_ns());

  // A key the protocol refuses is refused by the client, and the connection kept.
  pc::PublishOptions bad_key;
  bad_key.headers = {{"no spaces", "x"}};
  const auto refused = thrown_by([&] { publisher.publish("/topic/headers", "x", bad_key); });
  CHECK(refused.code() == std::errc::invalid_argument);
  CHECK_FALSE(refused.connection_lost());
  // Headers count against max_payload with the payload.
  pc::PublishOptions one_header;
  one_header.headers = {{"k", "v"}};  // 5 bytes: u8 klen, key, u16 vlen, value
  const std::string filling(publisher.server_max_payload() - 4, 'x');
  const auto too_large =
      thrown_by([&] { publisher.publish("/topic/headers", filling, one_header); });
  CHECK(too_large.code() == p::Errc::frame_too_large);
  CHECK_FALSE(too_large.connection_lost());
  publisher.ping();
  subscriber.close();
  publisher.close();
  old.close();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "client v2: overlapping wildcard subscriptions deliver each message once, on its own "
    "channel") {
  Daemon daemon;
  INFO(daemon.log_tail());
  auto subscriber = connect_client(daemon, "itest-wild");
  auto publisher = connect_client(daemon, "itest-pub");
  subscriber.subscribe("/topic/news/*");
  subscriber.subscribe("/topic/news/>");
  subscriber.subscribe("/topic/end");
  for (const char* channel :
       {"/topic/news", "/topic/news/sports", "/topic/other/x", "/topic/news/a/b", "/topic/end"}) {
    publisher.publish(channel, std::string("on ") + channel);
  }
  publisher.flush();
  CHECK(next_message(subscriber).channel == "/topic/news/sports");
  CHECK(next_message(subscriber).channel == "/topic/news/a/b");
  const auto end = next_message(subscriber);
  CHECK(end.channel == "/topic/end");
  CHECK(end.payload == "on /topic/end");
  subscriber.close();
  publisher.close();
  expect_clean_exit(daemon);
}

TEST_CASE("client v2: request() to a channel nobody consumes fails at once with no_responders") {
  Daemon daemon;
  INFO(daemon.log_tail());
  auto client = connect_client(daemon, "itest-requester");
  // Far longer than the test may take: returning at all proves it did not wait for it.
  constexpr auto patience = std::chrono::seconds(600);
  for (const char* channel : {"/queue/nobody", "/topic/nobody"}) {
    CAPTURE(channel);
    const auto started = std::chrono::steady_clock::now();
    const auto e = thrown_by([&] { client.request(channel, "anyone?", patience); });
    CHECK(std::chrono::steady_clock::now() - started < patience);
    CHECK_MESSAGE(e.no_responders(), e.what());
    CHECK(e.code() == p::Errc::no_subscribers);
    CHECK(std::string(e.what()) == std::string("no responders on ") + channel);
    CHECK_FALSE(e.connection_lost());
    CHECK(client.requests_in_flight() == 0);
  }
  // send_request() + wait_reply() the same way.
  const auto token = client.send_request("/queue/nobody", "anyone?", patience);
  const auto e = thrown_by([&] { client.wait_reply(token, patience); });
  CHECK_MESSAGE(e.no_responders(), e.what());
  CHECK(client.requests_in_flight() == 0);
  // A plain publish that requires a subscriber is refused the same way, and nothing else.
  pc::PublishOptions required;
  required.require_subscriber = true;
  const auto refused = thrown_by([&] { client.publish_confirmed("/queue/nobody", "x", required); });
  CHECK(refused.no_responders());
  client.ping();
  CHECK(client.connected());
  client.close();
  expect_clean_exit(daemon);
}

TEST_CASE("client v2: a request that timed out in a queue expires there, never handed out late") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // One consumer with room for one unacked message, busy with the first.
  Conn worker(daemon.port(), "busy-worker");
  worker.hello();
  worker.subscribe_manual("/queue/busy", 1);
  auto client = connect_client(daemon, "itest-requester");
  client.publish_confirmed("/queue/busy", "first job");
  const auto first = worker.expect_delivery("/queue/busy", "first job", false);

  constexpr auto timeout = std::chrono::milliseconds(300);
  const auto e = thrown_by([&] { client.request("/queue/busy", "stale?", timeout); });
  CHECK_MESSAGE(e.timed_out(), e.what());
  CHECK(client.requests_in_flight() == 0);
  // The broker took the request before this PONG; its TTL (the request's timeout) has run out
  // once `timeout` has passed since then.
  client.ping();
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + timeout + 50ms);

  client.publish_confirmed("/queue/busy", "next job");
  worker.ack(first->delivery);
  const auto next = worker.expect_delivery("/queue/busy", "next job", false);
  worker.ack(next->delivery);
  worker.ping_pong();
  // Discarded as expired (not lost some other way): the broker counted it.
  CHECK(wait_until([&] { return daemon.log_count("queue.expired channel=\"/queue/busy\"") == 1; }));
  client.close();
  expect_clean_exit(daemon);
}

TEST_CASE("client v2: BLOCKED and UNBLOCKED events around a full queue backlog") {
  Daemon daemon({"--channel-backlog", "1"});
  INFO(daemon.log_tail());
  auto publisher = connect_client(daemon, "itest-blocked");
  // The backlog holds one; the second is parked, and the broker says so.
  publisher.publish("/queue/full", "one");
  publisher.publish("/queue/full", "two");
  auto blocked = publisher.next(default_timeout);
  REQUIRE(blocked.has_value());
  REQUIRE(std::holds_alternative<pc::Blocked>(*blocked));
  CHECK(std::get<pc::Blocked>(*blocked).channel == "/queue/full");

  // sync() waits for the held-back message to be taken; nobody consumes yet, so it times out.
  const auto waited = thrown_by([&] { publisher.sync(300ms); });
  CHECK_MESSAGE(waited.timed_out(), waited.what());
  CHECK(std::string(waited.what()).find("/queue/full") != std::string::npos);

  auto consumer = connect_client(daemon, "itest-consumer");
  consumer.subscribe("/queue/full");
  CHECK(next_message(consumer).payload == "one");
  CHECK(next_message(consumer).payload == "two");
  auto unblocked = publisher.next(default_timeout);
  REQUIRE(unblocked.has_value());
  REQUIRE(std::holds_alternative<pc::Unblocked>(*unblocked));
  CHECK(std::get<pc::Unblocked>(*unblocked).channel == "/queue/full");
  publisher.sync();
  publisher.close();
  consumer.close();
  expect_clean_exit(daemon);
}
