// Issue 7, "no client can stall the event loop" and "closed peers linger": work a client can
// make proportional to its own state must not freeze the daemon for everyone else, and a blocked
// publisher whose peer has gone must not keep its session and socket.
#include <doctest/doctest.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "frame_stream.hpp"
#include "paperboy/protocol/messages.hpp"
#include "process_memory.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

/// A fresh client's connect + HELLO + PING round trip, in milliseconds.
double round_trip_ms(std::uint16_t port) {
  const auto start = Clock::now();
  Conn c(port, "bystander");
  c.hello();
  c.ping_pong();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

/// The typical round trip with no attack going on, on this machine at this moment. The bounds
/// below are the figures plus twice this, so a loaded CI machine (where connecting alone
/// can take tens of milliseconds) does not fail them while a stall still does: the stalls they
/// guard against cost hundreds of milliseconds to seconds.
double quiet_round_trip_ms(std::uint16_t port) {
  std::vector<double> trips;
  for (int i = 0; i < 10; ++i) trips.push_back(round_trip_ms(port));
  return median(trips);
}

/// Sends the same bytes over and over from a thread until destroyed (a client flooding the
/// daemon with frames that have no answer).
class Flood {
 public:
  Flood(Conn& conn, std::string bytes)
      : thread_([this, &conn, bytes = std::move(bytes)] {
          while (!stop_) conn.send_raw(bytes, 30s);
        }) {}
  ~Flood() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

/// Another client's median round trip while `held` subscriptions' owner floods UNSUBs for a
/// name it does not hold.
double round_trip_during_unsub_flood(std::uint16_t port, int held) {
  Conn attacker(port, "attacker");
  attacker.hello();
  std::string subs;
  for (int i = 0; i < held; ++i) {
    subs += p::encode_frame(p::Sub{0, 0, 0, "/topic/held-" + std::to_string(i)});
  }
  attacker.send_raw(subs);
  attacker.ping_pong();  // all are in place
  std::string unsubs;
  while (unsubs.size() < 256 * 1024) unsubs += p::encode_frame(p::Unsub{0, "/topic/not-held"});
  std::vector<double> trips;
  {
    Flood flood(attacker, unsubs);
    for (int i = 0; i < 30; ++i) trips.push_back(round_trip_ms(port));
  }
  attacker.ping_pong();  // the attacker is served too, and in order
  return median(trips);
}

TEST_CASE("fairness: an UNSUB flood from a client holding 10,000 subscriptions stalls nobody") {
  Daemon daemon;
  // The same flood from a client holding one subscription is the yardstick: what an UNSUB
  // costs here must not grow with what the client holds. Before the hash map every UNSUB scanned
  // the 10,000 names and the median was 700+ ms on the release build.
  const double holding_one = round_trip_during_unsub_flood(daemon.port(), 1);
  const double holding_many = round_trip_during_unsub_flood(daemon.port(), 10'000);
  MESSAGE("median round trip during the flood: " << holding_many << " ms from a client holding "
                                                 << "10,000, " << holding_one
                                                 << " ms from one holding 1");
  // Issue 7: under 100 ms (release, quiet machine); plus twice the yardstick so a debug or
  // sanitizer build on a loaded machine passes while a scan per UNSUB still fails.
  CHECK(holding_many < 100.0 + 2 * holding_one);
  expect_clean_exit(daemon);
}

TEST_CASE(
    "fairness: a consumer with 20,000 unacked across 1,000 queues leaves, all redelivered "
    "once, nobody stalled") {
  constexpr int queues = 1'000;
  constexpr int per_queue = 20;
  Daemon daemon;
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  Conn leaver(daemon.port(), "leaver");
  leaver.hello();
  std::string subs;
  for (int q = 0; q < queues; ++q) {
    subs += p::encode_frame(
        p::Sub{0, p::sub_flag_manual_ack, per_queue, "/queue/job-" + std::to_string(q)});
  }
  leaver.send_raw(subs);
  leaver.ping_pong();
  std::string pubs;
  for (int i = 0; i < per_queue; ++i) {
    for (int q = 0; q < queues; ++q) {
      pubs += p::encode_frame(p::Pub{
          0, "/queue/job-" + std::to_string(q), {}, std::to_string(q) + ":" + std::to_string(i)});
    }
  }
  publisher.send_raw(pubs, 30s);
  publisher.ping_pong();
  for (int n = 0; n < queues * per_queue; ++n) leaver.expect<p::Msg>(30s);  // held, unacked

  Conn taker(daemon.port(), "taker");
  taker.hello();
  subs.clear();
  for (int q = 0; q < queues; ++q)
    subs += p::encode_frame(p::Sub{0, 0, 0, "/queue/job-" + std::to_string(q)});
  taker.send_raw(subs);
  taker.ping_pong();  // subscribed, and nothing to take yet: the leaver holds it all

  const double quiet = quiet_round_trip_ms(daemon.port());
  leaver.socket().close();
  std::vector<double> trips;
  for (int i = 0; i < 10; ++i) trips.push_back(round_trip_ms(daemon.port()));

  std::vector<int> next(queues, 0);
  for (int n = 0; n < queues * per_queue; ++n) {
    auto msg = taker.expect<p::Msg>(30s);
    CHECK((msg->flags & p::msg_flag_redelivered) != 0);
    const std::string payload(msg->payload);
    const auto q = static_cast<std::size_t>(std::stoi(payload));
    // Each queue's messages come back exactly once and in their original order.
    CHECK(payload == std::to_string(q) + ":" + std::to_string(next[q]));
    ++next[q];
  }
  taker.ping_pong();  // and nothing more
  const double worst = *std::max_element(trips.begin(), trips.end());
  MESSAGE("round trip while the leaver's deliveries went back: median "
          << median(trips) << " ms, max " << worst << " ms; without it " << quiet << " ms");
  CHECK(worst < 200.0 + 2 * quiet);
  expect_clean_exit(daemon);
}

TEST_CASE("fairness: 100 publishers that close while blocked on a full queue are reaped") {
  Daemon daemon({"--channel-backlog", "1", "--max-read-ahead", "262144", "--shutdown-grace", "1"});
  const std::size_t fds_before = daemon.open_fds();
  const std::size_t rss_before = rss_bytes(daemon.pid()) / 1024;
  const std::string payload(16 * 1024, 'p');
  std::string pubs;
  while (pubs.size() < 512 * 1024) pubs += p::encode_frame(p::Pub{0, "/queue/full", {}, payload});
  std::vector<std::unique_ptr<Conn>> publishers;
  for (int i = 0; i < 100; ++i) {
    publishers.push_back(std::make_unique<Conn>(daemon.port(), "blocked-" + std::to_string(i)));
    publishers.back()->hello();
    publishers.back()->send_raw(pubs);
  }
  CHECK(wait_until([&] { return daemon.open_fds() >= fds_before + 100; }, 10s));
  const std::size_t rss_blocked = rss_bytes(daemon.pid()) / 1024;
  // Each closes: a FIN, or a reset if a probe PING from the daemon reached it unread.
  publishers.clear();

  // The sweep sees each peer finished (its PUBs get the 1 s grace to move, then it is reaped)
  // or gone (reaped at once).
  const bool reaped = wait_until([&] { return daemon.open_fds() <= fds_before; }, 15s);
  CHECK_MESSAGE(reaped, "fds before " << fds_before << ", now " << daemon.open_fds());
  const std::size_t rss_after = rss_bytes(daemon.pid()) / 1024;
  MESSAGE("VmRSS KiB: before " << rss_before << ", blocked " << rss_blocked << ", reaped "
                               << rss_after);
  // Each session closed once, whichever sign showed first (the sweep's "peer finished/gone while
  // blocked", or the write of a probe meeting the reset).
  CHECK(daemon.log_count("session.close") == 100);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("fairness: publishers that close with PUBs still in their own send buffer are reaped") {
  // The daemon stopped reading them (a full queue, past the read-ahead), so each one's FIN waits
  // behind bytes the daemon will never read: nothing shows it closed until its kernel gives up
  // on the zero window, minutes later. The daemon's probe (a PING, which a closed socket answers
  // with a reset) must show it within a few sweeps; a live publisher parked alike stays.
  constexpr int closing = 20;
  // --frame-timeout 2: a sweep every 0.5 s.
  Daemon daemon({"--channel-backlog", "1", "--max-read-ahead", "262144", "--frame-timeout", "2"});
  const std::size_t fds_before = daemon.open_fds();
  const std::string payload(16 * 1024, 'p');
  std::string pubs;
  // More than the daemon reads ahead plus both sockets' buffers (a few MiB each).
  while (pubs.size() < 16 * 1024 * 1024)
    pubs += p::encode_frame(p::Pub{0, "/queue/full", {}, payload});
  auto parked_publisher = [&](const std::string& name) {
    auto publisher = std::make_unique<Conn>(daemon.port(), name);
    publisher->hello();
    int error = 0;
    const std::size_t sent = publisher->socket().send_some(pubs, 300ms, error);
    REQUIRE_MESSAGE(error == 0, name << ": " << std::strerror(error));
    REQUIRE_MESSAGE(sent < pubs.size(), name << ": the daemon read everything it was sent");
    return publisher;
  };
  std::vector<std::unique_ptr<Conn>> publishers;
  for (int i = 0; i < closing; ++i)
    publishers.push_back(parked_publisher("closing-" + std::to_string(i)));
  const auto live = parked_publisher("live");
  CHECK(wait_until([&] { return daemon.open_fds() >= fds_before + closing + 1; }, 10s));
  for (const auto& publisher : publishers) {
    int unsent = 0;
    REQUIRE(::ioctl(publisher->socket().fd(), SIOCOUTQNSD, &unsent) == 0);
    // The precondition of the attack: its FIN will queue behind these.
    REQUIRE_MESSAGE(unsent > 0, publisher->name() << " has nothing left unsent");
  }
  publishers.clear();  // a FIN, queued behind the unsent PUBs

  const bool reaped = wait_until([&] { return daemon.open_fds() <= fds_before + 1; }, 10s);
  CHECK_MESSAGE(reaped, "fds before " << fds_before << " (+1 live publisher), now "
                                      << daemon.open_fds() << "\n"
                                      << daemon.log_tail());
  // Each closed once: seen gone by the sweep, or by the write of a probe meeting the reset.
  CHECK(daemon.log_count("session.close") == closing);
  // The live one was probed too, and is still connected.
  CHECK(wait_until(
      [&] {
        live->expect_nothing(std::chrono::milliseconds(100));
        return live->probes_seen() > 0;
      },
      10s));
  CHECK(daemon.open_fds() == fds_before + 1);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
