// Issue 7, "any unavoidable bulk work sliced across loop turns": a consumer leaving with
// 100,000 unacked deliveries, and SIGTERM with a million messages queued, must not freeze the
// daemon for everyone else, nor overrun the shutdown grace.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "latency_watch.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

// The figures. Under AddressSanitizer every allocation and free costs several times
// more, so the same work is scaled down there rather than the bound loosened: the test is about
// slicing, which the count does not change.
#if defined(__SANITIZE_ADDRESS__)
constexpr int scale = 4;
// LeakSanitizer scans the heap as the process exits, after the daemon's own work is done.
constexpr auto past_grace_allowed = std::chrono::milliseconds(750);
#else
constexpr int scale = 1;
// The daemon keeps a quarter of the grace for its own tear-down: no margin past the grace.
constexpr auto past_grace_allowed = std::chrono::milliseconds(0);
#endif
constexpr int unacked_total = 100'000 / scale;
constexpr int queued_total = 1'000'000 / scale;

std::string queue_name(int q) {
  return "/queue/hoard-" + std::to_string(q);
}

/// PUB frames without request ids, `per_queue` to each of `queues` channels, interleaved.
std::string publications(int queues, int per_queue) {
  std::string pubs;
  for (int i = 0; i < per_queue; ++i) {
    for (int q = 0; q < queues; ++q) {
      pubs += p::encode_frame(
          p::Pub{0, queue_name(q), {}, std::to_string(q) + ":" + std::to_string(i)});
    }
  }
  return pubs;
}

/// SIGTERM, then how long the daemon took to exit; it must exit, with status 0.
Duration terminate_timed(Daemon& daemon, Duration grace, const std::string& holding) {
  const auto start = Clock::now();
  daemon.signal(SIGTERM);
  const auto status = daemon.wait_exit(grace + 10s);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - start);
  REQUIRE_MESSAGE(status, "paperboyd still runs " << took.count() << " ms after SIGTERM");
  CHECK_MESSAGE(status->clean(), status->describe() << "\n" << daemon.log_tail());
  MESSAGE("exit " << took.count() << " ms after SIGTERM with " << holding << " (grace "
                  << grace.count() << " ms)");
  return took;
}

}  // namespace

// No semicolon in a test name: CMake would split the name ctest runs it by.
TEST_CASE(
    "bulk work: a consumer leaving with 100,000 unacked stalls nobody and all come back once, "
    "in order") {
  // Two subscriptions, as one may hold 65,535 at most.
  constexpr int queues = 2;
  constexpr int per_queue = unacked_total / queues;
  Daemon daemon;
  Conn leaver(daemon.port(), "leaver");
  leaver.hello();
  for (int q = 0; q < queues; ++q) leaver.subscribe_manual(queue_name(q), per_queue);
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.send_raw(publications(queues, per_queue), 60s);
  publisher.ping_pong();
  for (int n = 0; n < unacked_total; ++n) leaver.expect<p::Msg>(30s);  // held, unacked

  Conn taker(daemon.port(), "taker");
  taker.hello();
  for (int q = 0; q < queues; ++q) taker.subscribe(queue_name(q));
  taker.ping_pong();  // nothing to take yet: the leaver holds it all

  LatencyWatch watch(daemon.port());
  CHECK(wait_until([&] { return watch.rounds() > 0; }, 10s));
  leaver.socket().close();
  std::vector<int> next(queues, 0);
  int redelivered = 0;
  for (int n = 0; n < unacked_total; ++n) {
    auto msg = taker.expect<p::Msg>(30s);
    if ((msg->flags & p::msg_flag_redelivered) != 0) ++redelivered;
    const std::string payload(msg->payload);
    const auto q = static_cast<std::size_t>(std::stoi(payload));
    REQUIRE_MESSAGE(q < next.size(), payload);
    // Each queue's messages come back exactly once and in their original order.
    if (payload != std::to_string(q) + ":" + std::to_string(next[q])) {
      FAIL("message " << n << " is " << payload << ", expected " << q << ":" << next[q]);
    }
    ++next[q];
  }
  CHECK(redelivered == unacked_total);
  taker.ping_pong();  // and nothing more
  watch.stop();
  CHECK_MESSAGE(watch.failure().empty(), watch.failure());
  MESSAGE("while " << unacked_total << " unacked went back: worst PING " << watch.worst_ping_ms()
                   << " ms, worst connect+HELLO+PING " << watch.worst_connect_ms() << " ms over "
                   << watch.rounds() << " rounds");
  // Issue 7: a leaving consumer with 100,000 unacked stalls nobody more than 200 ms. Unsliced,
  // the give-back froze the release build for 1.2 s.
  CHECK(watch.worst_ping_ms() < 200.0);
  CHECK(watch.worst_connect_ms() < 200.0);
  expect_clean_exit(daemon);
}

TEST_CASE("bulk work: SIGTERM with a million messages queued exits within the grace, status 0") {
  constexpr int queues = 10;
  constexpr int per_queue = queued_total / queues;
  constexpr auto grace = 2s;
  Daemon daemon({"--shutdown-grace", "2"});
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.send_raw(publications(queues, per_queue), 120s);
  // All are queued (nobody consumes) once the PONG comes: taking a million PUBs may take longer
  // than the default deadline under a sanitizer on a loaded machine.
  publisher.ping(1);
  CHECK(publisher.expect<p::Pong>(60s)->token == 1);

  // The publisher stays connected and never closes: the daemon waits the whole grace for it,
  // so whatever it does after the grace shows in the exit time.
  const auto took = terminate_timed(daemon, grace, std::to_string(queued_total) + " queued");
  // Unsliced, freeing the backlogs came after the grace: 2.36 s on the release build.
  CHECK(took < grace + past_grace_allowed);
  CHECK(daemon.log_count("server.discarded_total channels=10 messages=" +
                         std::to_string(queued_total) + " ") == 1);
}

TEST_CASE(
    "bulk work: SIGTERM with a consumer holding 5,000 subscriptions x 20 unacked exits within the "
    "grace and reports them") {
  constexpr int queues = 5'000 / scale;
  constexpr int per_queue = 20;
  constexpr int held = queues * per_queue;
  // A grace of 4 s leaves the daemon 1 s to tear down: the debug build's tear-down of this takes
  // 0.25 s on an idle machine and more than twice that while other tests run.
  constexpr auto grace = 4s;
  Daemon daemon({"--shutdown-grace", "4"});
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  std::string subs;
  for (int q = 0; q < queues; ++q) {
    subs += p::encode_frame(p::Sub{0, p::sub_flag_manual_ack, per_queue, queue_name(q)});
  }
  consumer.send_raw(subs, 60s);
  consumer.ping_pong();
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.send_raw(publications(queues, per_queue), 60s);
  publisher.ping_pong();
  for (int n = 0; n < held; ++n) consumer.expect<p::Msg>(30s);  // written, never acked

  // Both stay connected and never close: the daemon cuts them when the grace runs out, and then
  // has 5,000 channels to leave and 100,000 deliveries to count and free before it may exit.
  const auto took = terminate_timed(daemon, grace, std::to_string(held) + " unacked");
  // Cut at the end of the full grace, the tear-down came after it: 2.13 s on the release build
  // of an idle machine, 2.58 s on a loaded one.
  CHECK(took < grace + past_grace_allowed);
  CHECK(daemon.log_count("server.discarded_total channels=" + std::to_string(queues) +
                         " messages=" + std::to_string(held) + " unacked=" + std::to_string(held) +
                         " ") == 1);
}
