// QueueChannel: round robin across consumers, the bounded backlog that refuses publishes and
// wakes blocked publishers, and messages given back to the head.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "queue_peer.hpp"

using namespace paperboy::broker;
using namespace paperboy::broker::test;
using Strings = std::vector<std::string>;

namespace {

struct Fixture : ChannelFixture {
  using ChannelFixture::ChannelFixture;
  using ChannelFixture::publish;

  /// A consumer subscribed to the channel.
  QueuePeer& consumer(bool manual_ack = false, std::uint32_t prefetch = 0) {
    peers.push_back(std::make_unique<QueuePeer>(io, config, manual_ack, prefetch));
    REQUIRE(channel.subscribe(peers.back()->consumer));
    return *peers.back();
  }

  /// Publishes "m<first>" .. "m<last>".
  void publish(int first, int last) {
    for (int i = first; i <= last; ++i) publish(name(i));
  }
  static std::string name(int i) { return std::string("m").append(std::to_string(i)); }

  std::vector<std::unique_ptr<QueuePeer>> peers;
};

struct CountingWaiter final : RoomWaiter {
  void on_channel_room() override { ++woken; }
  int woken = 0;
};

Strings names(int first, int last) {
  Strings out;
  for (int i = first; i <= last; ++i) out.push_back(Fixture::name(i));
  return out;
}

}  // namespace

TEST_CASE("QueueChannel: each message goes to exactly one consumer, in turn") {
  Fixture f;
  std::vector<QueuePeer*> consumers{&f.consumer(), &f.consumer(), &f.consumer()};
  f.publish(0, 29);
  std::set<std::string> seen;
  std::set<int> turns;
  for (QueuePeer* c : consumers) {
    const Strings got = payloads(c->receive());
    REQUIRE(got.size() == 10);
    // A consumer's share is every third message, in publish order.
    const int turn = std::stoi(got.front().substr(1));
    CHECK(turn < 3);
    turns.insert(turn);
    for (std::size_t k = 0; k < got.size(); ++k) {
      CHECK(got[k] == Fixture::name(turn + 3 * static_cast<int>(k)));
      seen.insert(got[k]);
    }
  }
  CHECK(turns.size() == 3);
  CHECK(seen.size() == 30);
  CHECK(f.channel.backlog_size() == 0);
}

TEST_CASE("QueueChannel: a consumer out of credit is skipped, the others share its turns") {
  Fixture f;
  QueuePeer& slow = f.consumer(true, 1);
  QueuePeer& a = f.consumer();
  QueuePeer& b = f.consumer();
  f.publish(0, 8);
  CHECK(slow.receive().size() == 1);
  const auto got_a = a.receive();
  const auto got_b = b.receive();
  CHECK(got_a.size() == 4);
  CHECK(got_b.size() == 4);
  CHECK(f.channel.backlog_size() == 0);
}

TEST_CASE("QueueChannel: with no one to take them, messages wait in order for the first consumer") {
  Fixture f;
  f.publish(0, 4);
  CHECK(f.channel.backlog_size() == 5);
  CHECK(f.channel.backlog_bytes() == 5 * queue_message("m0").size());
  QueuePeer& late = f.consumer();
  CHECK(payloads(late.receive()) == names(0, 4));
  CHECK(f.channel.backlog_size() == 0);
  CHECK(f.channel.backlog_bytes() == 0);
}

TEST_CASE("QueueChannel: manual-ack credit is the prefetch; each ACK lets one more through") {
  Fixture f;
  QueuePeer& c = f.consumer(true, 2);
  f.publish(0, 4);
  const auto first = c.receive();
  REQUIRE(payloads(first) == names(0, 1));
  CHECK(first[0].delivery != 0);
  CHECK(first[1].delivery != first[0].delivery);
  CHECK(f.channel.backlog_size() == 3);
  CHECK(c.consumer.unacked() == 2);
  c.ack(first[1].delivery);  // credit back, whichever delivery is settled
  const auto second = c.receive();
  CHECK(payloads(second) == names(2, 2));
  CHECK(f.channel.backlog_size() == 2);
  c.ack(first[0].delivery);
  c.ack(second[0].delivery);
  CHECK(payloads(c.receive()) == names(3, 4));
  CHECK(f.channel.backlog_size() == 0);
}

TEST_CASE("QueueChannel: a full backlog refuses the publish; room wakes the waiting publisher") {
  Config config;
  config.channel_backlog_messages = 3;
  Fixture f(config);
  f.publish(0, 2);
  CHECK_FALSE(f.offer("refused"));
  CHECK(f.channel.backlog_size() == 3);
  CountingWaiter publisher;
  CountingWaiter cancelled;
  f.channel.wait_for_room(publisher);
  f.channel.wait_for_room(publisher);  // waiting twice is waiting once
  f.channel.wait_for_room(cancelled);
  f.channel.cancel_wait(cancelled);
  f.channel.pump();  // nobody to take anything: still full, nobody woken
  CHECK(publisher.woken == 0);
  CHECK_FALSE(f.channel.idle());

  QueuePeer& c = f.consumer(true, 1);  // takes one: room for one more
  CHECK(publisher.woken == 1);
  CHECK(cancelled.woken == 0);
  CHECK(f.offer("m3"));
  CHECK_FALSE(f.offer("refused"));
  f.channel.wait_for_room(publisher);
  // An ACK frees credit, the consumer takes the next message, and the backlog has room again.
  const auto got = c.receive();
  REQUIRE(payloads(got) == names(0, 0));
  c.ack(got[0].delivery);
  CHECK(publisher.woken == 2);
  CHECK(payloads(c.receive()) == names(1, 1));
  CHECK(f.channel.backlog_size() == 2);
}

TEST_CASE("QueueChannel: the backlog's byte bound refuses a publish too") {
  Config config;
  config.channel_backlog_bytes = 2 * queue_message("m0").size();
  Fixture f(config);
  f.publish(0, 1);
  CHECK_FALSE(f.offer("m2"));
  CHECK(f.channel.backlog_size() == 2);
}

TEST_CASE("QueueChannel: a leaving consumer's messages go back to the head, in delivery order") {
  Fixture f;
  QueuePeer& leaving = f.consumer(true, 5);
  f.publish(0, 2);
  CHECK(payloads(leaving.receive()) == names(0, 2));  // written, not acked
  f.publish(3, 4);                                    // queued for it, never written
  f.publish(5, 6);                                    // over its prefetch: in the backlog
  REQUIRE(f.channel.backlog_size() == 2);
  REQUIRE(f.channel.unsubscribe(leaving.consumer));
  CHECK(f.channel.backlog_size() == 7);
  CHECK(leaving.ledger.size() == 0);

  QueuePeer& next = f.consumer();
  f.run_posted();
  const auto got = next.receive();
  CHECK(payloads(got) == names(0, 6));
  REQUIRE(got.size() == 7);
  // Only what reached the socket counts as delivered before.
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].redelivered == (i < 3));
  CHECK_FALSE(f.channel.unsubscribe(leaving.consumer));  // not a consumer any more
}

TEST_CASE("QueueChannel: give_back puts messages at the head in the order given") {
  Fixture f;
  f.publish(0, 1);
  std::vector<QueuedMessage> back(2);
  back[0].message = queue_message("back-0");
  back[0].failures = 1;
  back[1].message = queue_message("back-1");
  back[1].failures = 1;
  f.channel.give_back(std::move(back));
  CHECK(f.channel.backlog_size() == 4);
  QueuePeer& c = f.consumer();
  f.run_posted();
  const auto got = c.receive();
  CHECK(payloads(got) == Strings{"back-0", "back-1", "m0", "m1"});
  REQUIRE(got.size() == 4);
  CHECK(got[0].redelivered);
  CHECK_FALSE(got[2].redelivered);
}

TEST_CASE("QueueChannel: a message given back too often goes to the dead-letter channel") {
  Fixture f;
  std::vector<QueuedMessage> back(1);
  back[0].message = queue_message("poison");
  back[0].failures = f.config.max_redeliveries + 1;
  f.channel.give_back(std::move(back));
  CHECK(f.channel.backlog_size() == 0);
  CHECK(f.router.dead_lettered() == 1);
  // It waits in /queue/q.dead for a consumer there.
  QueuePeer dead(f.io, f.config, false, 0);
  REQUIRE(f.router.subscribe(dead.consumer, "/queue/q.dead"));
  CHECK(payloads(dead.receive()) == Strings{"poison"});
  REQUIRE(f.router.unsubscribe(dead.consumer, "/queue/q.dead"));
}

TEST_CASE("QueueChannel: a half-written delivery whose consumer left goes back if the peer dies") {
  // Larger than the socket pair's buffers: the first write leaves it half written.
  const std::string big(900 << 10, 'b');
  asio::io_context io;
  Config config;
  config.channel_backlog_bytes = 64 << 20;
  Router router(config, io.get_executor());
  Router::RouteCache cache;
  Publication message("/queue/r", {}, big, 0);
  QueuePeer leaves(io, config, false, 0);
  QueuePeer other(io, config, false, 0);
  REQUIRE(router.subscribe(leaves.consumer, "/queue/r"));

  SUBCASE("its channel is still there: back to it, by id") {
    REQUIRE(router.subscribe(other.consumer, "/queue/r"));
    REQUIRE_FALSE(router.publish(message, cache).full);  // leaves' turn
    leaves.write_without_reading();
    REQUIRE(router.unsubscribe(leaves.consumer, "/queue/r"));
    CHECK(other.receive().empty());  // still being written to the leaver
    auto stranded = leaves.outbox.abandon_partial_write();
    REQUIRE(stranded);
    router.give_back(stranded->origin, std::move(stranded->message));
    CHECK(payloads(other.receive_at_least(1)) == Strings{big});
    REQUIRE(router.unsubscribe(other.consumer, "/queue/r"));
  }
  SUBCASE("its channel was dropped meanwhile: to a new one of its name") {
    REQUIRE_FALSE(router.publish(message, cache).full);
    leaves.write_without_reading();
    REQUIRE(router.unsubscribe(leaves.consumer, "/queue/r"));
    CHECK(router.queue_count() == 0);  // no consumer, no backlog: dropped
    auto stranded = leaves.outbox.abandon_partial_write();
    REQUIRE(stranded);
    router.give_back(stranded->origin, std::move(stranded->message));
    CHECK(router.queue_count() == 1);
    REQUIRE(router.subscribe(other.consumer, "/queue/r"));
    CHECK(payloads(other.receive_at_least(1)) == Strings{big});
    REQUIRE(router.unsubscribe(other.consumer, "/queue/r"));
  }
}
