// A topic subscriber that stops reading: it loses messages (and is told exactly how many with
// GAP) or is disconnected with ERR 8; the publisher and the other subscribers never notice.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr std::size_t size = 4096;
// The daemon appends all deliveries of one read to the subscribers' queues before it writes any
// of them, so even a subscriber that keeps up holds a whole batch for a moment: the batch must
// stay well under --client-queue-bytes, or the fast subscribers overflow too.
constexpr std::size_t batch = 16;
constexpr std::string_view queue_bytes = "262144";
const std::string channel = "/topic/firehose";

// One subscriber that reads nothing (by default with a tiny receive buffer, so the kernel holds
// little for it) next to two that read everything, and a publisher.
struct Firehose {
  explicit Firehose(std::uint16_t port, SocketOptions slow_options = SocketOptions{4096})
      : slow(port, "slow", slow_options), publisher(port, "publisher") {
    fast.emplace_back(port, "fast0");
    fast.emplace_back(port, "fast1");
    for (Conn* c : {&slow, &fast[0], &fast[1], &publisher}) c->hello();
    for (Conn* c : {&slow, &fast[0], &fast[1]}) c->subscribe(channel);
  }

  // Publishes messages [from, to) in batches. Every PUB is confirmed before the fast
  // subscribers read the batch: a publisher held back by the slow subscriber fails here.
  void publish(std::size_t from, std::size_t to) {
    for (std::size_t start = from; start < to; start += batch) {
      const std::size_t end = std::min(to, start + batch);
      for (std::size_t i = start; i < end; ++i) {
        publisher.pub(channel, numbered_payload(i, size), static_cast<std::uint32_t>(i + 1));
      }
      for (std::size_t i = start; i < end; ++i)
        publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
      for (auto& f : fast) {
        for (std::size_t i = start; i < end; ++i) f.expect_msg(channel, numbered_payload(i, size));
      }
    }
  }

  Conn slow;
  std::vector<Conn> fast;
  Conn publisher;
};

// What the slow subscriber saw: MSG indices and GAP counts, in order of arrival.
struct Seen {
  bool gap;
  std::size_t value;  // message index, or dropped count
};

}  // namespace

TEST_CASE("slow consumer: a subscriber that stops reading drops and is told exactly what it lost") {
  constexpr std::size_t n = 3000;  // 12 MiB: far more than the kernel buffers and the queue hold
  Daemon daemon({"--client-queue-bytes", std::string(queue_bytes), "--slow-consumer", "drop"});
  INFO(daemon.log_tail());
  Firehose f(daemon.port());
  f.publish(0, n - 1);

  // Now the slow subscriber reads: everything queued for it, up to the PONG of a PING.
  std::vector<Seen> seen;
  const auto take = [&](const Decoded<p::Message>& m) {
    if (const auto* msg = std::get_if<p::Msg>(&*m)) {
      const auto i = payload_index(msg->payload);
      REQUIRE_MESSAGE(i.has_value(), "damaged payload " << printable(msg->payload));
      REQUIRE(msg->channel == channel);
      seen.push_back({false, *i});
    } else if (const auto* gap = std::get_if<p::Gap>(&*m)) {
      REQUIRE(gap->channel == channel);
      seen.push_back({true, gap->dropped});
    } else {
      FAIL("slow subscriber got " << describe(*m));
    }
  };
  f.slow.ping(1);
  for (;;) {
    auto m = f.slow.expect_message(std::chrono::seconds(30));
    if (std::holds_alternative<p::Pong>(*m)) break;
    take(m);
  }
  // The GAP for what was dropped comes before the next message; publish it.
  f.publish(n - 1, n);
  for (;;) {
    auto m = f.slow.expect_message();
    take(m);
    if (!seen.back().gap && seen.back().value == n - 1) break;
  }
  f.slow.ping_pong();

  std::size_t expected = 0;
  std::size_t received = 0;
  std::size_t dropped = 0;
  std::size_t gaps = 0;
  for (std::size_t k = 0; k < seen.size(); ++k) {
    if (seen[k].gap) {
      ++gaps;
      REQUIRE_MESSAGE(seen[k].value > 0, "GAP of 0 at position " << k);
      REQUIRE_MESSAGE((k + 1 < seen.size() && !seen[k + 1].gap),
                      "GAP at position " << k << " is not followed by a MSG");
      expected += seen[k].value;
      dropped += seen[k].value;
    } else {
      REQUIRE_MESSAGE(seen[k].value == expected,
                      "MSG " << seen[k].value << " at position " << k << " when " << expected
                             << " was due: messages lost without a GAP, or out of order");
      ++expected;
      ++received;
    }
  }
  MESSAGE("slow subscriber: " << received << " received, " << dropped << " dropped in " << gaps
                              << " gaps");
  CHECK(gaps >= 1);
  CHECK(received + dropped == n);
  for (auto& c : f.fast) c.ping_pong();
  f.publisher.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "slow consumer: with --slow-consumer disconnect a subscriber that stops reading is closed "
    "within the grace, having seen its messages in order and at most ERR 8 after them") {
  // The subscriber reads nothing until the daemon has closed it, so the ERR 8 usually cannot be
  // written (the socket is full: that is what made it slow). What the protocol promises then is
  // the close, within --shutdown-grace, and that what did get through is the message stream in
  // order with nothing after it but the ERR. Nothing here depends on how fast the kernel would let
  // a slow reader drain.
  constexpr std::size_t n = 3000;
  Daemon daemon(
      {"--client-queue-bytes", std::string(queue_bytes), "--slow-consumer", "disconnect"});
  INFO(daemon.log_tail());
  Firehose f(daemon.port(), SocketOptions{});
  f.publish(0, n);

  REQUIRE_MESSAGE(wait_until([&] { return daemon.log_count("code=8 ") == 1; }),
                  "the daemon logged no slow-consumer error for the subscriber");
  REQUIRE_MESSAGE(wait_until([&] { return daemon.log_count("reason=\"close timed out\"") == 1; }),
                  "the daemon did not close the stalled subscriber after the grace");
  CHECK(daemon.log_count("session.close ") == 1);  // the others are still connected

  const auto frames = f.slow.read_until_closed();
  std::size_t messages = 0;
  for (; messages < frames.size(); ++messages) {
    const auto m = p::decode(frames[messages]);
    const auto* msg = m ? std::get_if<p::Msg>(&*m) : nullptr;
    if (msg == nullptr) break;
    REQUIRE_MESSAGE(payload_index(msg->payload) == messages,
                    "frame " << messages << " carries " << printable(msg->payload));
  }
  if (messages < frames.size()) {
    const auto last = p::decode(frames[messages]);
    const auto* err = last ? std::get_if<p::Err>(&*last) : nullptr;
    CHECK_MESSAGE((err != nullptr && err->req == 0 && err->code == 8),
                  "after " << messages << " messages: " << describe_pb1_frame(frames[messages]));
    CHECK_MESSAGE(messages + 1 == frames.size(), "frames follow the ERR 8");
  }
  CHECK(messages < n);
  const std::string ending = messages < frames.size() ? "ERR 8 and the close" : "the close";
  MESSAGE("slow subscriber read " << messages << " messages, then " << ending);

  // The others are served on, and nothing is held for the one that was cut off.
  f.publish(n, n + 100);
  for (auto& c : f.fast) c.ping_pong();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
