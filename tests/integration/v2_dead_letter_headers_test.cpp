// Dead letters say why they died: after the message's own headers come x-death-reason
// (rejected), x-deliveries (how many times it was handed out) and x-original-channel, visible to
// version 2 consumers; a version 1 consumer of the dead-letter queue sees today's MSG.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// NACKs the message on `channel` `attempts` times; each delivery carries the publisher's
// headers, and only those.
void fail_deliveries(Conn& worker, const std::string& channel, const std::string& payload,
                     const std::string& headers, int attempts) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    CAPTURE(attempt);
    const auto msg = worker.expect_delivery(channel, payload, attempt > 0);
    CHECK_MESSAGE(msg->headers == headers, worker.name() << ": " << describe(*msg));
    worker.nack(msg->delivery);
  }
}

std::vector<HeaderEntry> with_death(std::vector<HeaderEntry> own, int deliveries,
                                    const std::string& channel) {
  own.emplace_back("x-death-reason", "rejected");
  own.emplace_back("x-deliveries", std::to_string(deliveries));
  own.emplace_back("x-original-channel", channel);
  return own;
}

}  // namespace

TEST_CASE("v2 dead letter: a letter carries its own headers, then why and where it died") {
  Daemon daemon({"--max-redeliveries", "2"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/dl-headers";
  const std::string dead = channel + ".dead";
  Conn worker(daemon.port(), "worker");
  Conn undertaker(daemon.port(), "v2-undertaker");
  Conn old_undertaker(daemon.port(), "v1-undertaker");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&worker, &undertaker, &publisher}) hello_v2(*c);
  old_undertaker.hello();
  worker.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(dead, 1);

  const std::vector<HeaderEntry> own = {{"content-type", "text/plain"},
                                        {"trace", std::string("\x00\x01", 2)}};
  const std::string headers = header_block({own[0], own[1]});
  publish_v2(publisher, channel, job(0), headers, 0, 0, "/queue/dl-replies");
  fail_deliveries(worker, channel, job(0), headers, 3);
  const auto letter = undertaker.expect_delivery(dead, job(0), false);
  CHECK(letter->reply_to == "/queue/dl-replies");
  CHECK(header_entries(letter->headers) == with_death(own, 3, channel));
  undertaker.ack(letter->delivery);

  // A message published without headers (here by version 1) gets only the three. Taken by a
  // version 1 consumer of the dead-letter queue it is today's MSG, without them.
  undertaker.unsubscribe(dead);
  old_undertaker.subscribe_manual(dead, 1);
  Conn old_publisher(daemon.port(), "v1-publisher");
  old_publisher.hello();
  old_publisher.publish(channel, job(1));
  fail_deliveries(worker, channel, job(1), "", 3);
  const auto old_letter = old_undertaker.expect_delivery(dead, job(1), false);
  check_v1_msg_bytes(old_undertaker, old_letter);
  // It leaves with the letter unacked: back into .dead, where a version 2 consumer reads it.
  old_undertaker.socket().close();
  undertaker.subscribe_manual(dead, 1);
  const auto again = undertaker.expect_delivery(dead, job(1), true);
  CHECK(header_entries(again->headers) == with_death({}, 3, channel));
  undertaker.ack(again->delivery);
  undertaker.ping_pong();
  worker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("v2 dead letter: a consumer leaving with the job counts in x-deliveries") {
  Daemon daemon({"--max-redeliveries", "1"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/dl-crash";
  Conn crasher(daemon.port(), "crasher");
  Conn nacker(daemon.port(), "nacker");
  Conn undertaker(daemon.port(), "undertaker");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&crasher, &nacker, &undertaker, &publisher}) hello_v2(*c);
  crasher.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(channel + ".dead", 1);
  publish_v2(publisher, channel, job(0));
  crasher.expect_delivery(channel, job(0), false);
  nacker.subscribe_manual(channel, 1);
  nacker.ping_pong();
  crasher.socket().close();                                              // handed out once
  nacker.nack(nacker.expect_delivery(channel, job(0), true)->delivery);  // twice: dead
  const auto letter = undertaker.expect_delivery(channel + ".dead", job(0), false);
  CHECK(header_entries(letter->headers) == with_death({}, 2, channel));
  undertaker.ack(letter->delivery);
  undertaker.ping_pong();
  expect_clean_exit(daemon);
}
