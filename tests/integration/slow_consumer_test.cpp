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

// One subscriber that reads nothing (tiny receive buffer, so the kernel holds little for it)
// next to two that read everything, and a publisher.
struct Firehose {
  explicit Firehose(std::uint16_t port)
      : slow(port, "slow", SocketOptions{4096}), publisher(port, "publisher") {
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

TEST_CASE("slow consumer: with --slow-consumer disconnect it gets ERR 8 and close, others go on") {
  constexpr std::size_t n = 3000;
  Daemon daemon({"--client-queue-bytes", std::string(queue_bytes), "--slow-consumer", "disconnect",
                 "--shutdown-grace", "2"});
  INFO(daemon.log_tail());
  Firehose f(daemon.port());
  f.publish(0, n);

  const auto frames = f.slow.read_until_closed(std::chrono::seconds(30));
  REQUIRE_FALSE(frames.empty());
  for (std::size_t k = 0; k + 1 < frames.size(); ++k) {
    const auto m = p::decode(frames[k]);
    const auto* msg = m ? std::get_if<p::Msg>(&*m) : nullptr;
    REQUIRE_MESSAGE(msg != nullptr, "frame " << k << ": " << describe_pb1_frame(frames[k]));
    REQUIRE_MESSAGE(payload_index(msg->payload) == k,
                    "frame " << k << " carries " << printable(msg->payload));
  }
  const auto last = p::decode(frames.back());
  const auto* err = last ? std::get_if<p::Err>(&*last) : nullptr;
  CHECK_MESSAGE((err != nullptr && err->req == 0 && err->code == 8),
                "last frame before the close: " << describe_pb1_frame(frames.back()));
  CHECK(frames.size() - 1 < n);
  MESSAGE("slow subscriber received " << frames.size() - 1 << " messages before the close");

  // The others are served on, and nothing is held for the one that was cut off.
  f.publish(n, n + 100);
  for (auto& c : f.fast) c.ping_pong();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
