// Issue 7, "a stress test that combines them for a bounded time under ASan": every attack of the
// issue at once against one daemon, while a well-behaved client keeps doing round trips. The
// daemon's real memory stays within what its caps allow, the good client stays served, the
// attackers' descriptors are released once they leave, and SIGTERM still ends it cleanly.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "latency_watch.hpp"
#include "paperboy/protocol/messages.hpp"
#include "process_memory.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t mib = 1024 * 1024;
// Small caps keep the bound tight and the test fast.
constexpr std::size_t client_queue = mib;
constexpr std::size_t max_unacked = mib;
constexpr std::size_t backlog_bytes = mib;
constexpr std::size_t read_ahead = 256 * 1024;
constexpr auto grace = 1s;
constexpr auto attack_time = 12s;
constexpr std::size_t parked_per_round = 5;
constexpr auto parked_round = 500ms;
// What any connection costs while it is read: its read buffer and the slab its frames are cut
// into.
constexpr std::size_t connection_baseline = 256 * 1024 + 64 * 1024;

/// Runs `step` over and over on a thread until stopped; a failed expectation ends that attacker
/// and is reported, it does not end the test process.
class Attacker {
 public:
  Attacker(std::string name, std::function<void()> step)
      : name_(std::move(name)), thread_([this, step = std::move(step)] {
          try {
            while (!stop_) step();
          } catch (const std::exception& e) {
            failure_ = name_ + ": " + e.what();
          } catch (...) {
            failure_ = name_ + ": failed (see the test's output)";
          }
        }) {}
  ~Attacker() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  /// Read after stop().
  const std::string& failure() const { return failure_; }

 private:
  std::string name_;
  std::atomic<bool> stop_{false};
  std::string failure_;
  std::thread thread_;
};

/// Sends `frames` round and round, as much as the socket takes within a short wait: a client
/// that keeps writing whether or not the daemon reads it.
class Repeater {
 public:
  Repeater(Socket& socket, std::string frames) : socket_(socket), frames_(std::move(frames)) {}
  void step() {
    int error = 0;
    offset_ += socket_.send_some(std::string_view(frames_).substr(offset_), 20ms, error);
    if (offset_ == frames_.size()) offset_ = 0;
    if (error != 0) throw std::runtime_error("the daemon closed the connection");
  }

 private:
  Socket& socket_;
  std::string frames_;
  std::size_t offset_ = 0;
};

std::string repeated(const p::Message& message, std::size_t bytes) {
  const std::string one = p::encode_frame(message);
  std::string out;
  while (out.size() < bytes) out += one;
  return out;
}

std::unique_ptr<Conn> client(std::uint16_t port, std::string name, SocketOptions options = {}) {
  auto conn = std::make_unique<Conn>(port, std::move(name), options);
  conn->hello();
  return conn;
}

}  // namespace

TEST_CASE("stress: every issue 7 attack at once, bounded memory and latency, clean exit") {
  Daemon daemon({"--client-queue-bytes", std::to_string(client_queue), "--max-unacked-bytes",
                 std::to_string(max_unacked), "--channel-backlog-bytes",
                 std::to_string(backlog_bytes), "--max-redeliveries", "1", "--max-read-ahead",
                 std::to_string(read_ahead), "--shutdown-grace", "1"});
  const std::uint16_t port = daemon.port();
  const std::string kib(1024, 'k');
  const std::size_t fds_before = daemon.open_fds();
  Conn probe(port, "probe");
  probe.hello();
  probe.ping_pong();
  const std::size_t rss_before = rss_bytes(daemon.pid());

  // A slow topic subscriber (never reads) under a firehose.
  auto slow = client(port, "slow-subscriber", SocketOptions{4096});
  slow->subscribe("/topic/firehose");
  auto firehose = client(port, "firehose");
  Repeater firehose_pubs(firehose->socket(),
                         repeated(p::Pub{0, "/topic/firehose", {}, kib}, 256 * 1024));
  // A PING flooder that never reads its PONGs.
  auto pinger = client(port, "ping-flooder");
  Repeater pings(pinger->socket(), repeated(p::Ping{7}, 64 * 1024));
  // A consumer that reads everything and acks nothing, fed by a publisher that ends up parked.
  auto hoarder = client(port, "hoarder");
  hoarder->subscribe_manual("/queue/hoard", 65535);
  auto hoard_feed = client(port, "hoard-feed");
  Repeater hoard_pubs(hoard_feed->socket(),
                      repeated(p::Pub{0, "/queue/hoard", {}, kib}, 64 * 1024));
  // A consumer that NACKs everything, filling /queue/nack.dead.
  auto nacker = client(port, "nacker");
  nacker->subscribe_manual("/queue/nack", 100);
  auto nack_feed = client(port, "nack-feed");
  Repeater nack_pubs(nack_feed->socket(), repeated(p::Pub{0, "/queue/nack", {}, kib}, 64 * 1024));
  // 2,000 subscriptions and a flood of UNSUBs for a name it does not hold.
  auto unsubber = client(port, "unsub-flooder");
  std::string subs;
  for (int i = 0; i < 2'000; ++i)
    subs += p::encode_frame(p::Sub{0, 0, 0, "/topic/held-" + std::to_string(i)});
  unsubber->send_raw(subs);
  unsubber->ping_pong();
  Repeater unsubs(unsubber->socket(), repeated(p::Unsub{0, "/topic/not-held"}, 64 * 1024));

  LatencyWatch watch(port);
  std::size_t peak_rss = 0;
  std::atomic<std::size_t> parked_opened{0};
  {
    std::vector<std::unique_ptr<Attacker>> attackers;
    attackers.push_back(std::make_unique<Attacker>("firehose", [&] { firehose_pubs.step(); }));
    attackers.push_back(std::make_unique<Attacker>("ping-flooder", [&] { pings.step(); }));
    attackers.push_back(std::make_unique<Attacker>("hoard-feed", [&] { hoard_pubs.step(); }));
    attackers.push_back(std::make_unique<Attacker>("hoarder", [&] {
      std::vector<char> sink(64 * 1024);
      std::size_t got = 0;
      hoarder->socket().recv_some(sink.data(), sink.size(), 20ms, got);
    }));
    attackers.push_back(std::make_unique<Attacker>("nack-feed", [&] { nack_pubs.step(); }));
    attackers.push_back(std::make_unique<Attacker>("nacker", [&] {
      auto frame = nacker->poll_message(20ms);
      if (!frame) return;
      if (const auto* msg = std::get_if<p::Msg>(&**frame)) nacker->nack(msg->delivery);
    }));
    attackers.push_back(std::make_unique<Attacker>("unsub-flooder", [&] { unsubs.step(); }));
    // Publishers that park on a full queue nobody consumes, then close: a few every half second.
    attackers.push_back(std::make_unique<Attacker>("parked-publishers", [&] {
      std::vector<std::unique_ptr<Conn>> parked;
      const std::string pubs = repeated(p::Pub{0, "/queue/nobody", {}, kib}, 2 * read_ahead);
      for (std::size_t i = 0; i < parked_per_round; ++i) {
        parked.push_back(client(port, "parked"));
        int error = 0;
        parked.back()->socket().send_some(pubs, 10ms, error);
        ++parked_opened;
      }
      std::this_thread::sleep_for(parked_round);
    }));

    const Deadline attack(attack_time);
    while (!attack.expired()) {
      peak_rss = std::max(peak_rss, rss_bytes(daemon.pid()));
      std::this_thread::sleep_for(50ms);
    }
    for (auto& attacker : attackers) {
      attacker->stop();
      CHECK_MESSAGE(attacker->failure().empty(), attacker->failure());
    }
  }
  watch.stop();
  CHECK_MESSAGE(watch.failure().empty(), watch.failure());

  // What the caps allow, at most twice each cap per connection (issue 7): for each of the 8
  // attacking connections that stay, twice its send-queue cap; for each parked publisher alive
  // at once (a round every half second, reaped within the grace and a sweep tick), twice the
  // read-ahead; everyone's read buffer and slab; twice the unacked bound of the hoarder and of
  // the nacker; the four backlogs (hoard, nack, nack.dead, nobody), the hoard one with the
  // hoarder's unacked back in it. Under ASan also its quarantine of freed memory and shadow.
  constexpr std::size_t staying = 8;
  const std::size_t parked_at_once =
      parked_per_round * static_cast<std::size_t>((grace + 1s + parked_round) / parked_round + 1);
  std::size_t allowed = staying * 2 * client_queue + parked_at_once * 2 * read_ahead +
                        (staying + parked_at_once) * connection_baseline + 2 * 2 * max_unacked +
                        4 * backlog_bytes + max_unacked;
#if defined(__SANITIZE_ADDRESS__)
  allowed = allowed * 2 + 256 * mib;
#endif
  MESSAGE("VmRSS before " << rss_before / 1024 << " KiB, peak +" << (peak_rss - rss_before) / 1024
                          << " KiB (allowed +" << allowed / 1024
                          << " KiB); good client: worst PING " << watch.worst_ping_ms()
                          << " ms, worst connect+HELLO+PING " << watch.worst_connect_ms()
                          << " ms over " << watch.rounds() << " rounds; " << parked_opened.load()
                          << " parked publishers");
  CHECK(peak_rss < rss_before + allowed);
  CHECK(watch.rounds() > 10);
  // Issue 7 asks under 100 ms for any single attack (the other tests). Here eight attackers
  // keep the one loop busy at once, each served a read batch (up to 256 KiB of frames) a turn,
  // against a daemon that may run under ASan beside other tests on a shared 2-core machine:
  // the bound says the good client is never starved, not how fast it is.
  CHECK(watch.worst_ping_ms() < 2000.0);
  CHECK(watch.worst_connect_ms() < 2000.0);

  // The attackers leave; their descriptors must follow (parked ones are reaped by the sweep).
  // The two feeds are reset: a publisher the daemon stopped reading cannot be seen to close
  // (its FIN waits behind the PUBs in its socket) until its own kernel gives up, minutes later.
  hoard_feed->socket().abort();
  nack_feed->socket().abort();
  slow.reset();
  firehose.reset();
  pinger.reset();
  hoarder.reset();
  hoard_feed.reset();
  nacker.reset();
  nack_feed.reset();
  unsubber.reset();
  const bool released = wait_until([&] { return daemon.open_fds() <= fds_before + 1; }, 20s);
  CHECK_MESSAGE(released, "fds before " << fds_before << " (+1 probe), now " << daemon.open_fds()
                                        << "; log:\n"
                                        << daemon.log_tail(30));
  probe.ping_pong();
  check_serves(port);
  CHECK(daemon.log_count("queue.dead_letter") > 0);  // the .dead channel was filled
  expect_clean_exit(daemon, 15s);
}
