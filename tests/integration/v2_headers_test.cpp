// Version 2 headers: whatever bytes a publisher puts in its header block reach version 2
// receivers exactly, in order and with repeats, on topics and queues; headers plus payload count
// against max_payload together.
#include <doctest/doctest.h>

#include <string>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/headers.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

std::string every_byte() {
  std::string out;
  for (int b = 0; b < 256; ++b) out += static_cast<char>(b);
  return out;
}

// A block that uses everything a header may be: binary values (every byte, NUL first), an empty
// value, repeated keys, the longest key, a key of every allowed punctuation, a large value.
std::string awkward_headers() {
  std::string all_key_bytes;
  for (char c = '!'; c <= '~'; ++c) {
    if (c != ':') all_key_bytes += c;
  }
  return header_block({{"content-type", "application/x-test"},
                       {"bin", every_byte()},
                       {"empty", ""},
                       {"trace", "first"},
                       {std::string(255, 'k'), "longest key"},
                       {all_key_bytes, std::string("\0\0\0", 3)},
                       {"trace", "second"},
                       {"big", numbered_payload(3, 20000, "value")}});
}

}  // namespace

TEST_CASE("v2 headers: binary values, repeats and order reach topic and queue receivers exactly") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string headers = awkward_headers();
  const auto entries = header_entries(headers);
  REQUIRE(entries.size() == 8);
  Conn subscriber(daemon.port(), "topic-subscriber");
  Conn consumer(daemon.port(), "queue-consumer");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&subscriber, &consumer, &publisher}) hello_v2(*c);
  subscriber.subscribe("/topic/headers");
  consumer.subscribe_manual("/queue/headers", 4);

  for (const std::string channel : {"/topic/headers", "/queue/headers"}) {
    CAPTURE(channel);
    Conn& receiver = channel.starts_with("/topic") ? subscriber : consumer;
    for (const std::string& payload : {std::string(), std::string("\0payload\xff", 9)}) {
      publish_v2(publisher, channel, payload, headers);
      const auto msg = receiver.expect_msg(channel, payload);
      CHECK_MESSAGE(msg->headers == headers, receiver.name() << ": " << describe(*msg));
      CHECK(header_entries(msg->headers) == entries);
      if (msg->delivery != 0) receiver.ack(msg->delivery);
    }
  }
  // A message without headers arrives with an empty block, not the last one's.
  publish_v2(publisher, "/topic/headers", "bare");
  CHECK(subscriber.expect_msg("/topic/headers", "bare")->headers.empty());
  subscriber.ping_pong();
  consumer.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 headers: headers plus payload of exactly max_payload are taken and delivered") {
  Daemon daemon({"--max-payload", "4096"});
  INFO(daemon.log_tail());
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  hello_v2(subscriber);
  REQUIRE(hello_v2(publisher)->max_payload == 4096);
  subscriber.subscribe("/topic/full");
  const std::string headers = header_block({{"x", std::string(1000, '\x01')}});
  const std::string payload = numbered_payload(1, 4096 - headers.size());
  publish_v2(publisher, "/topic/full", payload, headers);
  CHECK(subscriber.expect_msg("/topic/full", payload)->headers == headers);
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}
