// Liveness: the handshake deadline, the broker's PINGs of a silent PB1 client (and the close of
// one that stops answering), the PB0 idle timeout, the write deadline and TCP keepalive. Every
// wait is for a condition with a generous deadline: nothing here asserts how fast.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

// Far longer than any deadline these tests set, so a loaded machine only makes them slower.
constexpr Duration generous = 20s;

// Reads (and passes over) what arrives until the daemon has sent `count` PINGs in all; fails if
// anything else arrives, or if the daemon closes the connection.
void await_probes(Conn& c, std::size_t count) {
  const Deadline deadline(generous);
  while (c.probes_seen() < count) {
    REQUIRE_MESSAGE(!deadline.expired(),
                    c.name() << ": no PING from the daemon within " << generous.count() << " ms");
    const auto m = c.poll_message(50ms);
    REQUIRE_MESSAGE(!m.has_value(), c.name() << ": expected only PINGs, got " << describe(**m));
  }
}

// The local port of a connected socket.
std::uint16_t local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return ntohs(address.sin_port);
}

// The timer of the daemon's end of the connection 127.0.0.1:client_port -> :daemon_port, as
// /proc/net/tcp shows it: "tr" (2: keepalive or another timer, 0: none) and "tm->when" in
// clock ticks (USER_HZ, 100 a second). nullopt when the socket is not listed.
struct SocketTimer {
  int kind = 0;
  long ticks = 0;
};
std::optional<SocketTimer> daemon_side_timer(std::uint16_t daemon_port, std::uint16_t client_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  char local[64];
  char remote[64];
  const auto hex_port = [](std::uint16_t port) {
    char text[8];
    std::snprintf(text, sizeof text, ":%04X", port);
    return std::string(text);
  };
  const std::string want_local = hex_port(daemon_port);
  const std::string want_remote = hex_port(client_port);
  while (std::getline(table, line)) {
    unsigned state = 0;
    unsigned kind = 0;
    unsigned long ticks = 0;
    if (std::sscanf(line.c_str(), "%*d: %63s %63s %x %*x:%*x %x:%lx", local, remote, &state, &kind,
                    &ticks) != 5) {
      continue;
    }
    const std::string l(local);
    const std::string r(remote);
    if (l.ends_with(want_local) && r.ends_with(want_remote)) {
      return SocketTimer{static_cast<int>(kind), static_cast<long>(ticks)};
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("liveness: a connection that sends nothing is closed after --handshake-timeout") {
  Daemon daemon({"--handshake-timeout", "0.3"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());  // welcomed before: unaffected
  {
    Conn silent(daemon.port(), "silent");  // never sends a byte
    silent.expect_closed(generous);        // unknown dialect: no ERR, just the close
  }
  {
    // A PB1 peer that began its HELLO can be told why.
    Conn half(daemon.port(), "half-hello");
    const std::string hello = p::encode_frame(p::Hello{});
    half.send_raw(hello.substr(0, hello.size() - 2));
    half.expect_err_and_close(0, 1, generous);
  }
  REQUIRE(wait_until([&] { return daemon.log_count("session.handshake_timeout ") >= 1; }));
  CHECK(daemon.log_count("reason=\"no complete first frame in time\"") >= 1);
  bystander.check();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("liveness: a PB0 client that never sends its channel is closed after the deadline") {
  Daemon daemon({"--handshake-timeout", "0.3"});
  INFO(daemon.log_tail());
  Conn pb0(daemon.port(), "pb0-to-be");
  pb0.send_raw(std::string("\0\0\0\x10/topic", 10));  // a PB0 channel frame, never finished
  pb0.expect_closed(generous);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE(
    "liveness: a silent PB1 client is PINGed after --ping-interval and stays while it answers") {
  // Closed after 3 s of silence (two PINGs missed); the client is silent for longer than that in
  // all, answering each PING.
  Daemon daemon({"--ping-interval", "1", "--ping-max-missed", "2"});
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "answers");
  c.hello();
  c.subscribe("/topic/quiet");
  for (std::size_t answered = 1; answered <= 4; ++answered) {
    await_probes(c, answered);
    c.send(p::Pong{answered});
  }
  c.ping_pong();  // still open
  CHECK(daemon.log_count("stale connection") == 0);
  expect_clean_exit(daemon);
}

TEST_CASE(
    "liveness: a client that stops answering PINGs is closed after --ping-max-missed, and its "
    "unacked jobs go to another worker, redelivered") {
  Daemon daemon({"--ping-interval", "1", "--ping-max-missed", "2"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/liveness-jobs";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  Conn vanishing(daemon.port(), "vanishing-worker");
  vanishing.hello();
  vanishing.subscribe_manual(channel, 10);
  for (std::size_t i = 0; i < 3; ++i) publisher.publish(channel, job(i));
  for (std::size_t i = 0; i < 3; ++i) vanishing.expect_delivery(channel, job(i), false);
  // It reads its PINGs but answers none, acks nothing: as a host that vanished looks.
  vanishing.expect_closed(generous);
  CHECK(vanishing.probes_seen() >= 1);
  REQUIRE(wait_until([&] { return daemon.log_count("reason=\"stale connection\"") >= 1; }));

  Conn worker(daemon.port(), "other-worker");
  worker.hello();
  worker.subscribe_manual(channel, 10);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto m = worker.expect_delivery(channel, job(i), true, generous);
    worker.ack(m->delivery);
  }
  worker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("liveness: an idle PB0 client is closed after --idle-timeout; PB1 clients are not") {
  Daemon daemon({"--idle-timeout", "0.3"});
  INFO(daemon.log_tail());
  Conn pb1(daemon.port(), "pb1");
  pb1.hello();
  pb1.subscribe("/topic/idle");
  Pb0Conn pb0(daemon.port(), "/topic/idle", "idle-pb0");
  pb0.expect_closed(generous);
  REQUIRE(wait_until([&] { return daemon.log_count("reason=\"idle timeout\"") == 1; }));
  pb1.expect_nothing(1s);  // idle for three idle timeouts: PB1 has PINGs instead
  pb1.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "liveness: a subscriber whose full send queue moves for --write-deadline is closed with "
    "ERR 8 where it can be sent, while a healthy subscriber keeps receiving") {
  constexpr std::size_t size = 4096;
  constexpr std::size_t batch = 16;
  const std::string channel = "/topic/deadline";
  Daemon daemon({"--client-queue-bytes", "262144", "--write-deadline", "0.5"});
  INFO(daemon.log_tail());
  Conn stuck(daemon.port(), "stuck", SocketOptions{4096});
  Conn healthy(daemon.port(), "healthy");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&stuck, &healthy, &publisher}) c->hello();
  for (Conn* c : {&stuck, &healthy}) c->subscribe(channel);

  // Publish until the daemon gives up on the stuck one; the healthy one reads every batch.
  std::size_t sent = 0;
  const Deadline deadline(generous);
  while (daemon.log_count("code=8 ") == 0) {
    REQUIRE_MESSAGE(!deadline.expired(), "no write-deadline close after " << sent << " messages");
    for (std::size_t i = sent; i < sent + batch; ++i) {
      publisher.pub(channel, numbered_payload(i, size), static_cast<std::uint32_t>(i + 1));
    }
    for (std::size_t i = sent; i < sent + batch; ++i) {
      publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
    }
    for (std::size_t i = sent; i < sent + batch; ++i) {
      healthy.expect_msg(channel, numbered_payload(i, size));
    }
    sent += batch;
  }
  CHECK(daemon.log_count("nothing written for 500 ms") == 1);

  // What reached the stuck one is the stream (with GAPs), and at most ERR 8 after it.
  const auto frames = stuck.read_until_closed(generous);
  for (std::size_t k = 0; k < frames.size(); ++k) {
    const auto m = p::decode(frames[k]);
    REQUIRE(m.ok());
    if (std::holds_alternative<p::Msg>(*m) || std::holds_alternative<p::Gap>(*m)) continue;
    const auto* err = std::get_if<p::Err>(&*m);
    CHECK_MESSAGE((err != nullptr && err->code == 8 && k + 1 == frames.size()),
                  "frame " << k << ": " << describe_pb1_frame(frames[k]));
  }
  publisher.pub(channel, numbered_payload(sent, size), 1'000'000);
  publisher.expect_ok(1'000'000);
  healthy.expect_msg(channel, numbered_payload(sent, size));
  healthy.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("liveness: the daemon's end of a connection has TCP keepalive, probing after 30 s") {
  // The daemon's socket options cannot be read from here, but its timer shows in /proc/net/tcp:
  // an idle established socket has none unless keepalive is on (timer 2, due in the keepalive
  // idle time; the kernel's default idle time would be two hours).
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "kept-alive");
  c.hello();
  const std::uint16_t client_port = local_port(c.socket().fd());
  std::optional<SocketTimer> timer;
  // A delayed ACK is a timer of the same kind, due in under a second: wait for it to pass.
  const bool keepalive = wait_until(
      [&] {
        timer = daemon_side_timer(daemon.port(), client_port);
        return timer && timer->kind == 2 && timer->ticks > 100;
      },
      generous, 20ms);
  REQUIRE_MESSAGE(keepalive, "no keepalive timer on the daemon's socket: "
                                 << (timer ? std::to_string(timer->kind) + " due in " +
                                                 std::to_string(timer->ticks) + " ticks"
                                           : std::string("socket not found")));
  CHECK(timer->ticks <= 30 * 100);
  c.ping_pong();
  expect_clean_exit(daemon);
}
