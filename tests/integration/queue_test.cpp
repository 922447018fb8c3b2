// /queue channels: each message to exactly one consumer, round-robin; a bounded backlog that
// holds messages for late consumers and pushes back on publishers; nothing lost.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto long_timeout = std::chrono::seconds(30);

// The index of a numbered queue message, or the test fails.
std::size_t msg_index(const Conn& c, const p::Msg& msg) {
  const auto i = payload_index(msg.payload);
  if (!i) FAIL(c.name() << ": unexpected or damaged payload " << printable(msg.payload));
  return *i;
}

std::string pub_frame(std::string_view channel, std::size_t index, std::size_t size) {
  const std::string payload = numbered_payload(index, size);
  return p::encode_frame(p::Pub{static_cast<std::uint32_t>(index + 1), channel, "", payload});
}

// The index of the message in an incomplete MSG frame (length prefix included), if enough of
// its payload arrived to tell.
std::optional<std::size_t> index_in_partial_msg(std::string_view frame, std::string_view channel) {
  const std::size_t offset = p::frame_header_size + p::msg_payload_offset(channel, "");
  if (frame.size() <= offset) return std::nullopt;
  const std::string_view payload = frame.substr(offset);
  const auto hash = payload.find('#');
  const auto bar = payload.find('|');
  if (hash == std::string_view::npos || bar == std::string_view::npos || bar < hash) {
    return std::nullopt;
  }
  return std::stoul(std::string(payload.substr(hash + 1, bar - hash - 1)));
}

}  // namespace

TEST_CASE("queue: with three consumers message i goes to consumer i mod 3") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/rr";
  std::vector<Conn> consumers;
  for (int i = 0; i < 3; ++i) consumers.emplace_back(daemon.port(), "consumer" + std::to_string(i));
  for (auto& c : consumers) {
    c.hello();
    c.subscribe(channel);
  }
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  constexpr std::size_t n = 90;
  for (std::size_t i = 0; i < n; ++i)
    publisher.pub(channel, numbered_payload(i, 200), static_cast<std::uint32_t>(i + 1));
  for (std::size_t i = 0; i < n; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));

  for (std::size_t c = 0; c < consumers.size(); ++c) {
    for (std::size_t i = c; i < n; i += consumers.size()) {
      const auto msg = consumers[c].expect_msg(channel, numbered_payload(i, 200));
      CHECK(msg->flags == 0);
    }
    consumers[c].ping_pong();  // exactly its share, no more
  }
  expect_clean_exit(daemon);
}

TEST_CASE(
    "queue: messages published with no consumer wait and all reach a late consumer in order") {
  Daemon daemon({"--channel-backlog", "1000"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/backlog";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  constexpr std::size_t n = 500;
  for (std::size_t i = 0; i < n; ++i)
    publisher.pub(channel, numbered_payload(i, 300), static_cast<std::uint32_t>(i + 1));
  for (std::size_t i = 0; i < n; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));

  Conn consumer(daemon.port(), "late-consumer");
  consumer.hello();
  consumer.subscribe(channel);
  for (std::size_t i = 0; i < n; ++i) consumer.expect_msg(channel, numbered_payload(i, 300));
  consumer.ping_pong();

  // The backlog is empty now: a second late consumer finds nothing.
  Conn second(daemon.port(), "second-consumer");
  second.hello();
  second.subscribe(channel);
  second.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("queue: an unsubscribed consumer gets no more messages and the rest get them all") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/unsub";
  Conn stays(daemon.port(), "stays");
  Conn leaves(daemon.port(), "leaves");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&stays, &leaves, &publisher}) c->hello();
  stays.subscribe(channel);
  leaves.subscribe(channel);
  leaves.unsubscribe(channel);
  for (std::size_t i = 0; i < 20; ++i) publisher.publish(channel, numbered_payload(i));
  for (std::size_t i = 0; i < 20; ++i) stays.expect_msg(channel, numbered_payload(i));
  stays.ping_pong();
  leaves.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "queue: a full backlog parks PUBs while PING ACK NACK and UNSUB behind them are answered") {
  constexpr std::size_t backlog = 4;
  Daemon daemon({"--channel-backlog", std::to_string(backlog), "--max-read-ahead", "65536"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/parked";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();

  constexpr std::size_t n = 40;
  std::string bytes;
  for (std::size_t i = 0; i < n; ++i) bytes += pub_frame(channel, i, 100);
  p::append_frame(bytes, p::Ping{1234});
  p::append_frame(bytes, p::Ack{99});
  p::append_frame(bytes, p::Nack{98});
  p::append_frame(bytes, p::Unsub{static_cast<std::uint32_t>(n + 1), "/queue/elsewhere"});
  publisher.send_raw(bytes);  // a few KiB: well inside --max-read-ahead

  for (std::size_t i = 0; i < backlog; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
  CHECK(publisher.expect<p::Pong>()->token == 1234);
  publisher.expect_err(0, 5);  // ACK of an unknown delivery
  publisher.expect_err(0, 5);  // NACK of an unknown delivery
  publisher.expect_ok(static_cast<std::uint32_t>(n + 1));
  publisher.expect_nothing();  // the parked PUBs stay unconfirmed
  publisher.ping_pong();

  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  for (std::size_t i = 0; i < n; ++i) consumer.expect_msg(channel, numbered_payload(i, 100));
  consumer.ping_pong();
  for (std::size_t i = backlog; i < n; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
  publisher.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("queue: a full backlog blocks the publisher over TCP and loses nothing once drained") {
  constexpr std::size_t backlog = 4;
  constexpr std::size_t size = 1024;
  Daemon daemon({"--channel-backlog", std::to_string(backlog), "--max-read-ahead", "65536"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/blocked";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();

  // Publish until the socket takes nothing for a while: the daemon stopped reading it. The cap
  // is far above what the kernel buffers on both ends can hold.
  constexpr std::size_t cap_bytes = 64 * 1024 * 1024;
  std::string pending;
  std::size_t generated = 0;
  std::size_t written = 0;
  bool blocked = false;
  while (!blocked && written < cap_bytes) {
    while (pending.size() < 256 * 1024) pending += pub_frame(channel, generated++, size);
    int error = 0;
    const std::size_t n =
        publisher.socket().send_some(pending, std::chrono::milliseconds(300), error);
    REQUIRE_MESSAGE(error == 0, "publish failed: " << std::strerror(error));
    pending.erase(0, n);
    written += n;
    blocked = n == 0;
  }
  REQUIRE_MESSAGE(blocked, "the daemon took "
                               << written << " bytes of PUBs to a full queue without pushing back");
  MESSAGE("publisher blocked after " << written << " bytes (" << generated << " PUBs generated)");

  // Only what fit in the backlog is confirmed so far.
  for (std::size_t i = 0; i < backlog; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
  publisher.expect_nothing();

  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  std::size_t next_msg = 0;
  std::size_t next_ok = backlog;
  const Deadline deadline(long_timeout);
  while (next_msg < generated || next_ok < generated) {
    REQUIRE_MESSAGE(!deadline.expired(), "after draining: " << next_msg << " of " << generated
                                                            << " delivered, " << next_ok
                                                            << " confirmed");
    if (!pending.empty()) {
      int error = 0;
      pending.erase(0, publisher.socket().send_some(pending, Duration::zero(), error));
      REQUIRE(error == 0);
    }
    while (auto m = consumer.poll_message(std::chrono::milliseconds(1))) {
      const auto* msg = std::get_if<p::Msg>(&**m);
      REQUIRE_MESSAGE(msg != nullptr, "consumer got " << describe(**m));
      const std::size_t i = msg_index(consumer, *msg);
      REQUIRE_MESSAGE(i == next_msg, "message " << i << " arrived when " << next_msg << " was due");
      ++next_msg;
    }
    while (auto m = publisher.poll_message(Duration::zero())) {
      const auto* ok = std::get_if<p::Ok>(&**m);
      REQUIRE_MESSAGE((ok != nullptr && ok->req == next_ok + 1),
                      "expected OK(req=" << next_ok + 1 << "), got " << describe(**m));
      ++next_ok;
    }
  }
  consumer.ping_pong();
  publisher.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("queue: one connection that publishes to and consumes its own queue does not deadlock") {
  Daemon daemon(
      {"--channel-backlog", "4", "--client-queue-bytes", "16384", "--max-read-ahead", "65536"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/self";
  Conn c(daemon.port(), "self");
  c.hello();
  c.subscribe(channel);
  constexpr std::size_t n = 3000;
  std::string pending;
  for (std::size_t i = 0; i < n; ++i) pending += pub_frame(channel, i, 1024);
  std::size_t next_msg = 0;
  std::size_t next_ok = 0;
  const Deadline deadline(long_timeout);
  while (next_msg < n || next_ok < n) {
    REQUIRE_MESSAGE(!deadline.expired(),
                    next_msg << " of " << n << " delivered, " << next_ok << " confirmed");
    if (!pending.empty()) {
      int error = 0;
      pending.erase(0, c.socket().send_some(pending, Duration::zero(), error));
      REQUIRE(error == 0);
    }
    while (auto m = c.poll_message(std::chrono::milliseconds(1))) {
      if (const auto* msg = std::get_if<p::Msg>(&**m)) {
        const std::size_t i = msg_index(c, *msg);
        REQUIRE_MESSAGE(i == next_msg,
                        "message " << i << " arrived when " << next_msg << " was due");
        ++next_msg;
      } else if (const auto* ok = std::get_if<p::Ok>(&**m);
                 ok != nullptr && ok->req == next_ok + 1) {
        ++next_ok;
      } else {
        FAIL("expected MSG " << next_msg << " or OK(req=" << next_ok + 1 << "), got "
                             << describe(**m));
      }
    }
  }
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("queue: a consumer that leaves hands its unwritten messages back to the others") {
  // The leaving consumer never reads and has a tiny receive buffer, so once the kernel buffers
  // between it and the daemon are full its messages pile up in its send queue. When it leaves
  // (half-close: it can still read what the daemon had already written to its socket), those
  // must go to the other consumer: every message ends up with exactly one of the two.
  constexpr std::size_t size = 4096;
  constexpr std::size_t n = 3000;  // 12 MiB: well beyond what the kernel buffers hold
  Daemon daemon({"--client-queue-bytes", "65536", "--channel-backlog", "100000",
                 "--channel-backlog-bytes", "134217728"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/leaver";
  Conn leaver(daemon.port(), "leaver", SocketOptions{4096});
  Conn stayer(daemon.port(), "stayer");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&leaver, &stayer, &publisher}) c->hello();
  leaver.subscribe(channel);
  stayer.subscribe(channel);

  std::vector<std::size_t> stayer_got;
  const auto drain_stayer = [&](Duration wait) {
    while (auto m = stayer.poll_message(wait)) {
      const auto* msg = std::get_if<p::Msg>(&**m);
      REQUIRE_MESSAGE(msg != nullptr, "stayer got " << describe(**m));
      stayer_got.push_back(msg_index(stayer, *msg));
    }
  };
  constexpr std::size_t batch = 50;
  for (std::size_t start = 0; start < n; start += batch) {
    for (std::size_t i = start; i < start + batch; ++i) {
      publisher.pub(channel, numbered_payload(i, size), static_cast<std::uint32_t>(i + 1));
    }
    for (std::size_t i = start; i < start + batch; ++i)
      publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
    drain_stayer(Duration::zero());
  }

  leaver.socket().shutdown_write();
  std::vector<std::size_t> leaver_got;
  const Deadline deadline(long_timeout);
  while (!leaver.stream().closed() || leaver_got.size() + stayer_got.size() < n) {
    REQUIRE_MESSAGE(!deadline.expired(),
                    "leaver read " << leaver_got.size() << ", stayer " << stayer_got.size()
                                   << " of " << n
                                   << (leaver.stream().closed() ? "" : "; leaver not closed"));
    if (!leaver.stream().closed()) {
      while (auto body = leaver.stream().next_frame(std::chrono::milliseconds(1))) {
        const auto decoded = p::decode(*body);
        const auto* msg = decoded ? std::get_if<p::Msg>(&*decoded) : nullptr;
        REQUIRE_MESSAGE(msg != nullptr, "leaver got " << describe_pb1_frame(*body));
        leaver_got.push_back(msg_index(leaver, *msg));
      }
    }
    drain_stayer(std::chrono::milliseconds(1));
    // A partly written last MSG is where the leaver's stream ends; it is accounted for below.
    if (leaver.stream().closed() && leaver.stream().partial_bytes() > 0 &&
        leaver_got.size() + stayer_got.size() + 1 >= n) {
      break;
    }
  }
  drain_stayer(quiet_period);

  std::vector<int> seen(n, 0);
  for (auto i : leaver_got) ++seen.at(i);
  for (auto i : stayer_got) ++seen.at(i);
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK_MESSAGE(seen[i] <= 1, "message " << i << " delivered " << seen[i] << " times");
    if (seen[i] == 0) missing.push_back(i);
  }
  if (!missing.empty()) {
    // The one message the daemon had started writing to the leaver's socket when it left may
    // be lost with it; nothing else may be.
    const auto partial = index_in_partial_msg(leaver.stream().partial_frame(), channel);
    CHECK_MESSAGE((missing.size() == 1 && partial && *partial == missing.front()),
                  missing.size() << " messages lost, first " << missing.front()
                                 << "; the leaver's stream ended "
                                 << leaver.stream().partial_bytes() << " bytes into a frame");
  }
  // The hand-back really happened: the stayer got some message after a newer one.
  CHECK_MESSAGE(!std::is_sorted(stayer_got.begin(), stayer_got.end()),
                "no message went back from the leaver to the stayer (leaver read "
                    << leaver_got.size() << ", stayer " << stayer_got.size() << ")");
  MESSAGE("leaver read " << leaver_got.size() << ", stayer " << stayer_got.size());
  stayer.ping_pong();
  expect_clean_exit(daemon);
}
