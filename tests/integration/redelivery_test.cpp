// NACK: the job goes back to the head of its queue and on to the next consumer in rotation that
// has credit (to the NACKer only when nobody else has), flagged redelivered under a fresh
// delivery id; the old id is dead, so a late ACK of it is refused and settles nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

TEST_CASE(
    "redelivery: a NACKed job goes to another consumer with credit, flagged, and a late ACK of "
    "the old id gets ERR(0 5) naming it") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/nack";
  const std::string reply_to = "/topic/_reply/itest/1";
  Conn first(daemon.port(), "first");
  Conn second(daemon.port(), "second");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&first, &second, &publisher}) c->hello();
  first.subscribe_manual(channel, 1);
  publish_jobs(publisher, channel, 0, 1, reply_to);
  const auto original = first.expect_delivery(channel, job(0), false);
  CHECK(original->reply_to == reply_to);
  second.subscribe_manual(channel, 1);
  second.ping_pong();  // the job is first's

  first.nack(original->delivery);
  const auto moved = second.expect_delivery(channel, job(0), true);
  CHECK_MESSAGE(moved->reply_to == reply_to, describe(*moved));
  first.ping_pong();  // the NACKer has credit again, but someone else had it too

  first.ack(original->delivery);  // too late: it was given back
  first.expect_delivery_err(original->delivery);
  first.ping_pong();

  // Both connections go on working: the NACKer takes the next job, the other settles its own.
  publish_jobs(publisher, channel, 1, 2);
  const auto next = first.expect_delivery(channel, job(1), false);
  CHECK(next->delivery > original->delivery);
  first.ack(next->delivery);
  second.ack(moved->delivery);
  first.ping_pong();
  second.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "redelivery: with nobody else holding credit the NACKer gets the job back before the backlog, "
    "under a fresh id the old one cannot ack") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/renack";
  Conn busy(daemon.port(), "busy");
  Conn nacker(daemon.port(), "nacker");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&busy, &nacker, &publisher}) c->hello();
  busy.subscribe_manual(channel, 1);
  publisher.publish(channel, "busy's job");
  const auto busy_job = busy.expect_delivery(channel, "busy's job", false);  // no credit left
  nacker.subscribe_manual(channel, 1);
  publish_jobs(publisher, channel, 0, 3);  // job 0 to the nacker, 1 and 2 wait
  const auto d0 = nacker.expect_delivery(channel, job(0), false)->delivery;
  nacker.ping_pong();

  nacker.nack(d0);
  const auto d0_again = nacker.expect_delivery(channel, job(0), true)->delivery;  // not job 1
  CHECK_MESSAGE(d0_again != d0, "redelivered under the same delivery id " << d0);
  nacker.ping_pong();

  // The old id settles nothing: had it acked the new delivery, job 1 would arrive now.
  nacker.ack(d0);
  nacker.expect_delivery_err(d0);
  nacker.ping_pong();

  nacker.ack(d0_again);  // the new id is the one that counts
  const auto d1 = nacker.expect_delivery(channel, job(1), false)->delivery;
  nacker.ping_pong();
  nacker.ack(d1);
  nacker.expect_delivery(channel, job(2), false);
  nacker.ping_pong();
  busy.ack(busy_job->delivery);
  busy.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("redelivery: repeated NACKs keep payload and reply-to and each gets a new id") {
  Daemon daemon({"--max-redeliveries", "10"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/bounce";
  const std::string reply_to = "/queue/answers";
  const std::string payload = numbered_payload(7, 4000);
  Conn worker(daemon.port(), "worker");
  Conn publisher(daemon.port(), "publisher");
  worker.hello();
  publisher.hello();
  worker.subscribe_manual(channel, 1);
  publisher.publish(channel, payload, reply_to);
  std::uint64_t last = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    CAPTURE(attempt);
    const auto msg = worker.expect_delivery(channel, payload, attempt > 0);
    CHECK(msg->reply_to == reply_to);
    CHECK(msg->delivery > last);
    last = msg->delivery;
    worker.nack(msg->delivery);
  }
  const auto final_try = worker.expect_delivery(channel, payload, true);
  worker.ack(final_try->delivery);
  worker.ping_pong();
  expect_clean_exit(daemon);
}
