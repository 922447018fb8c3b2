// QueueConsumer: when a subscription can take a queue message (send-queue room, prefetch credit,
// the connection's unacked bound) and what it gives back when it leaves.
#include <doctest/doctest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <string>
#include <vector>

#include "queue_peer.hpp"
#include "returned_messages.hpp"

using namespace paperboy::broker;
using namespace paperboy::broker::test;
using Strings = std::vector<std::string>;
using Fixture = ChannelFixture;

/// What a consumer surrendered, first to last.
std::vector<QueuedMessage> in_order(ReturnedMessages back) {
  std::vector<QueuedMessage> messages;
  while (!back.empty()) messages.push_back(back.take_back());
  std::reverse(messages.begin(), messages.end());
  return messages;
}

TEST_CASE("QueueConsumer: auto ack takes while its send queue has room, and again once drained") {
  Config config;
  // Room for four MSGs as a version-1 peer gets them.
  const std::size_t delivered = paperboy::protocol::msg_layout("/queue/q", {}, 2).frame_size();
  config.client_queue_bytes = 4 * (delivered + SendQueue::slot_size);
  Fixture f(config);
  QueuePeer c(f.io, f.config, false, 0);
  REQUIRE(f.channel.subscribe(c.consumer));
  for (int i = 0; i < 10; ++i) f.publish(std::string("m").append(std::to_string(i)));
  // It took what fits under its cap; the rest waits in the channel, not in its send queue.
  CHECK_FALSE(c.consumer.can_take());
  CHECK(f.channel.backlog_size() == 6);
  CHECK(c.receive().size() == 4);
  CHECK(c.consumer.can_take());
  f.channel.pump();  // what the writer does when its flush regained room
  CHECK(c.receive().size() == 4);
  f.channel.pump();
  const Strings last = payloads(c.receive());
  CHECK(last == Strings{"m8", "m9"});
  CHECK(c.consumer.unacked() == 0);  // auto ack holds nothing
}

TEST_CASE("QueueConsumer: manual ack takes up to its prefetch; settling gives the credit back") {
  Fixture f;
  QueuePeer c(f.io, f.config, true, 3);
  REQUIRE(f.channel.subscribe(c.consumer));
  for (int i = 0; i < 5; ++i) f.publish(std::string("m").append(std::to_string(i)));
  CHECK(c.consumer.unacked() == 3);
  CHECK(c.ledger.size() == 3);
  CHECK_FALSE(c.consumer.can_take());
  const auto got = c.receive();
  REQUIRE(got.size() == 3);
  CHECK_FALSE(c.consumer.can_take());  // written is not settled
  REQUIRE(c.ledger.take(got[0].delivery));
  c.consumer.settled();
  CHECK(c.consumer.unacked() == 2);
  CHECK(c.consumer.can_take());
}

TEST_CASE("QueueConsumer: the connection's unacked bytes stop it before its prefetch does") {
  Config config;
  config.max_unacked_bytes = 2048;
  Fixture f(config);
  QueuePeer c(f.io, f.config, true, 1000);
  REQUIRE(f.channel.subscribe(c.consumer));
  const std::string payload(500, 'x');
  for (int i = 0; i < 10; ++i) f.publish(payload);
  // It stopped at the byte bound, far below its prefetch, with one message at most past it: at
  // the bound the ledger holds its messages in allocations of their own, not whole slabs.
  const std::uint32_t held = c.consumer.unacked();
  CHECK(held >= 2);
  CHECK(held < 10);
  CHECK(c.ledger.bytes() >= config.max_unacked_bytes);
  CHECK(c.ledger.bytes() < config.max_unacked_bytes + 1024);
  CHECK_FALSE(c.consumer.can_take());
  CHECK(f.channel.backlog_size() == 10 - held);
  const auto got = c.receive();
  REQUIRE(got.size() == held);
  c.ack(got[0].delivery);
  CHECK(c.consumer.unacked() == held);  // one more went out at once
  CHECK(f.channel.backlog_size() == 10 - held - 1);
}

TEST_CASE("QueueConsumer: leaving surrenders written-unacked first, counted failed, then unsent") {
  Fixture f;
  QueuePeer c(f.io, f.config, true, 10);
  REQUIRE(f.channel.subscribe(c.consumer));
  f.publish("written-0");
  f.publish("written-1");
  const auto written = c.receive();
  REQUIRE(written.size() == 2);
  c.ack(written[0].delivery);  // settled: not given back
  f.publish("unsent-0");
  f.publish("unsent-1");
  // The channel gives these back itself when the consumer leaves it; here we look at them.
  const auto back = in_order(c.consumer.surrender(f.channel));
  REQUIRE(back.size() == 3);
  CHECK(payload_of(back[0].message) == "written-1");
  CHECK(back[0].failures == 1);
  CHECK(payload_of(back[1].message) == "unsent-0");
  CHECK(back[1].failures == 0);
  CHECK(payload_of(back[2].message) == "unsent-1");
  CHECK(back[2].failures == 0);
  CHECK(c.consumer.unacked() == 0);
  CHECK(c.ledger.size() == 0);
  CHECK(c.receive().empty());  // nothing of them is still on its way to the peer
  REQUIRE(f.channel.unsubscribe(c.consumer));
}
