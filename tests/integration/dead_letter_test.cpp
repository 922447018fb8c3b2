// Poison messages: every return of a delivery (NACK, or its consumer leaving with it unacked)
// counts as a failure; after --max-redeliveries failed redeliveries the message moves to
// `<channel><suffix>` (default ".dead") as a fresh message with its payload and reply-to. An empty
// suffix turns this off; a channel that already ends in the suffix is never dead-lettered again;
// a name with no room for the suffix keeps its message.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// Takes `attempts` deliveries of the one message in flight on `channel` and NACKs each; the
// first must be a first delivery unless `first_redelivered`, the rest flagged redelivered, each
// with the payload and reply-to the message was published with.
void fail_deliveries(Conn& worker, std::string_view channel, std::string_view payload,
                     std::string_view reply_to, int attempts, bool first_redelivered = false) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    CAPTURE(attempt);
    const auto msg = worker.expect_delivery(channel, payload, first_redelivered || attempt > 0);
    CHECK_MESSAGE(msg->reply_to == reply_to, describe(*msg));
    worker.nack(msg->delivery);
  }
}

// The next frame is the dead letter: MSG on `dead` with the payload and reply-to intact, a first
// delivery (redelivered flag clear). The subscription is manual-ack; the letter is acked.
void expect_dead_letter(Conn& c, std::string_view dead, std::string_view payload,
                        std::string_view reply_to) {
  const auto msg = c.expect_delivery(dead, payload, false);
  CHECK_MESSAGE(msg->reply_to == reply_to, c.name() << ": " << describe(*msg));
  c.ack(msg->delivery);
  c.ping_pong();
}

}  // namespace

TEST_CASE(
    "dead letter: with --max-redeliveries 2 a job that always fails is delivered exactly 3 times, "
    "then moves to .dead intact") {
  Daemon daemon({"--max-redeliveries", "2"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/x";
  const std::string dead = "/queue/x.dead";
  const std::string reply_to = "/topic/_reply/billing/42";
  const std::string poison = numbered_payload(13, 3000, "poison");
  Conn worker(daemon.port(), "worker");
  Conn publisher(daemon.port(), "publisher");
  worker.hello();
  publisher.hello();
  worker.subscribe_manual(channel, 1);
  publisher.publish(channel, poison, reply_to);
  fail_deliveries(worker, channel, poison, reply_to, 3);
  worker.ping_pong();  // no fourth delivery
  worker.expect_nothing();

  // The dead-letter channel is an ordinary queue: the letter waits there for a consumer.
  Conn undertaker(daemon.port(), "undertaker");
  undertaker.hello();
  undertaker.subscribe_manual(dead, 1);
  expect_dead_letter(undertaker, dead, poison, reply_to);

  // A job that fails twice and then succeeds is not dead-lettered, and the queue keeps working.
  publisher.publish(channel, job(1));
  fail_deliveries(worker, channel, job(1), "", 2);
  const auto third = worker.expect_delivery(channel, job(1), true);
  worker.ack(third->delivery);
  worker.ping_pong();
  undertaker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: the default --max-redeliveries is 5, so 6 deliveries in all") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/jobs";
  const std::string dead = "/queue/jobs.dead";
  Conn worker(daemon.port(), "worker");
  Conn undertaker(daemon.port(), "undertaker");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&worker, &undertaker, &publisher}) c->hello();
  worker.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(dead, 1);  // already waiting when the letter comes
  publisher.publish(channel, job(0), "/queue/replies");
  fail_deliveries(worker, channel, job(0), "/queue/replies", 6);
  expect_dead_letter(undertaker, dead, job(0), "/queue/replies");
  worker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: a consumer leaving with the job unacked counts as a failed delivery") {
  Daemon daemon({"--max-redeliveries", "1"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/crashy";
  const std::string dead = "/queue/crashy.dead";
  Conn crasher(daemon.port(), "crasher");
  Conn nacker(daemon.port(), "nacker");
  Conn undertaker(daemon.port(), "undertaker");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&crasher, &nacker, &undertaker, &publisher}) c->hello();
  crasher.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(dead, 1);
  publisher.publish(channel, job(0));
  crasher.expect_delivery(channel, job(0), false);
  nacker.subscribe_manual(channel, 1);
  nacker.ping_pong();
  crasher.socket().close();                               // failure 1
  fail_deliveries(nacker, channel, job(0), "", 1, true);  // failure 2: done
  expect_dead_letter(undertaker, dead, job(0), "");
  nacker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: --dead-letter-suffix '' turns it off and the job keeps coming back") {
  Daemon daemon({"--max-redeliveries", "1", "--dead-letter-suffix", ""});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/forever";
  Conn worker(daemon.port(), "worker");
  Conn watcher(daemon.port(), "watcher");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&worker, &watcher, &publisher}) c->hello();
  worker.subscribe_manual(channel, 1);
  watcher.subscribe(channel + ".dead");
  publisher.publish(channel, job(0), "/topic/_reply/w/1");
  fail_deliveries(worker, channel, job(0), "/topic/_reply/w/1", 8);
  const auto again = worker.expect_delivery(channel, job(0), true);
  worker.ack(again->delivery);
  worker.ping_pong();
  watcher.ping_pong();  // nothing was dead-lettered
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: --dead-letter-suffix names the dead-letter channel") {
  Daemon daemon({"--max-redeliveries", "1", "--dead-letter-suffix", ".dlq"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/custom";
  Conn worker(daemon.port(), "worker");
  Conn undertaker(daemon.port(), "undertaker");
  Conn bystander(daemon.port(), "default-dead");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&worker, &undertaker, &bystander, &publisher}) c->hello();
  worker.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(channel + ".dlq", 1);
  bystander.subscribe(channel + ".dead");
  publisher.publish(channel, job(0));
  fail_deliveries(worker, channel, job(0), "", 2);
  expect_dead_letter(undertaker, channel + ".dlq", job(0), "");
  bystander.ping_pong();
  worker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: a message in a .dead channel is never dead-lettered again") {
  Daemon daemon({"--max-redeliveries", "1"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/twice";
  const std::string dead = "/queue/twice.dead";
  Conn worker(daemon.port(), "worker");
  Conn undertaker(daemon.port(), "undertaker");
  Conn watcher(daemon.port(), "watcher");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&worker, &undertaker, &watcher, &publisher}) c->hello();
  worker.subscribe_manual(channel, 1);
  undertaker.subscribe_manual(dead, 1);
  watcher.subscribe(dead + ".dead");
  publisher.publish(channel, job(0), "/queue/back");
  fail_deliveries(worker, channel, job(0), "/queue/back", 2);  // now in .dead

  // In the dead-letter channel it fails far past the limit and keeps coming back.
  fail_deliveries(undertaker, dead, job(0), "/queue/back", 6);
  const auto still = undertaker.expect_delivery(dead, job(0), true);
  undertaker.ack(still->delivery);
  undertaker.ping_pong();

  // The same holds for a message published straight to a .dead channel.
  publisher.publish(dead, job(1));
  fail_deliveries(undertaker, dead, job(1), "", 4);
  undertaker.ack(undertaker.expect_delivery(dead, job(1), true)->delivery);
  undertaker.ping_pong();
  watcher.ping_pong();  // never a .dead.dead
  worker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("dead letter: a queue whose name has no room for the suffix keeps its failing message") {
  Daemon daemon({"--max-redeliveries", "1"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/" + std::string(248, 'q');  // 255 bytes: no room for .dead
  REQUIRE(channel.size() == p::max_channel_size);
  Conn worker(daemon.port(), "worker");
  Conn publisher(daemon.port(), "publisher");
  worker.hello();
  publisher.hello();
  worker.subscribe_manual(channel, 1);
  publisher.publish(channel, job(0));
  fail_deliveries(worker, channel, job(0), "", 4);  // twice past the limit: never dropped
  const auto kept = worker.expect_delivery(channel, job(0), true);
  worker.ack(kept->delivery);
  worker.ping_pong();
  expect_clean_exit(daemon);
}
