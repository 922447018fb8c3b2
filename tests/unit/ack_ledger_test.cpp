// AckLedger: a connection's unacked manual-ack deliveries, indexed per consumer.
#include <doctest/doctest.h>

#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ack_ledger.hpp"
#include "delivery.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "publication.hpp"
#include "returned_messages.hpp"

using namespace paperboy::broker;

namespace {

SharedBuffer message_frame(std::string_view payload) {
  return Publication("/queue/q", {}, payload, 0).v2_frame();
}

struct Fixture {
  AckLedger ledger;
  const ConsumerId first{1};
  const ConsumerId second{2};

  std::uint64_t record(const std::string& payload, ConsumerId consumer) {
    return ledger.record(message_frame(payload), 0, consumer);
  }
};

std::string payload_of(const AckLedger::Unacked& unacked) {
  const std::string_view frame = unacked.message.view();
  const auto layout = paperboy::protocol::written_msg_v2_layout(frame);
  return std::string(layout.payload_in(frame.substr(paperboy::protocol::frame_header_size)));
}

std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> take_all(AckLedger& ledger,
                                                                   ConsumerId consumer) {
  auto held = ledger.take_all(consumer);
  return {std::make_move_iterator(held.begin()), std::make_move_iterator(held.end())};
}

}  // namespace

TEST_CASE("AckLedger: ids start at 1, only grow, and take settles each exactly once") {
  Fixture f;
  const auto a = f.record("a", f.first);
  const auto b = f.record("b", f.second);
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(f.ledger.size() == 2);
  auto taken = f.ledger.take(a);
  REQUIRE(taken);
  CHECK(payload_of(*taken) == "a");
  CHECK(taken->consumer == f.first);
  CHECK_FALSE(f.ledger.take(a));   // a second ACK of the same id
  CHECK_FALSE(f.ledger.take(99));  // never issued
  CHECK(f.ledger.size() == 1);
  CHECK(f.record("c", f.first) == 3);  // a settled id is never reused
}

TEST_CASE("AckLedger: take_all returns one consumer's deliveries in delivery order") {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.record("first-" + std::to_string(i), i % 2 ? f.first : f.second);
  f.ledger.take(4);  // first-3, settled before the consumer leaves
  const auto taken = take_all(f.ledger, f.first);
  REQUIRE(taken.size() == 4);
  CHECK(taken[0].first == 2);
  CHECK(payload_of(taken[0].second) == "first-1");
  CHECK(payload_of(taken[1].second) == "first-5");
  CHECK(payload_of(taken[2].second) == "first-7");
  CHECK(payload_of(taken[3].second) == "first-9");
  // The other consumer's deliveries are untouched and still settle by id.
  CHECK(f.ledger.size() == 5);
  CHECK_FALSE(f.ledger.take(2));  // handed back with its consumer: a late ACK is refused
  REQUIRE(f.ledger.take(1));
  CHECK(take_all(f.ledger, f.first).empty());
  CHECK(take_all(f.ledger, f.second).size() == 4);
  CHECK(f.ledger.size() == 0);
}

TEST_CASE("AckLedger: leaving costs what the consumer holds, not what the connection holds") {
  // 2,000 consumers x 50 unacked, interleaved: every delivery comes back exactly once, to its
  // own consumer, in order (the old whole-ledger scan took 2,000 x 100,000 steps for this).
  AckLedger ledger;
  std::vector<ConsumerId> consumers;
  for (std::uint64_t c = 1; c <= 2000; ++c) consumers.emplace_back(c);
  const auto message = message_frame("x");
  for (int round = 0; round < 50; ++round) {
    for (const ConsumerId consumer : consumers) ledger.record(message, 0, consumer);
  }
  std::size_t returned = 0;
  bool in_order = true;
  for (const ConsumerId consumer : consumers) {
    const auto taken = take_all(ledger, consumer);
    CHECK(taken.size() == 50);
    for (std::size_t i = 1; i < taken.size(); ++i) in_order &= taken[i - 1].first < taken[i].first;
    returned += taken.size();
  }
  CHECK(in_order);
  CHECK(returned == 100000);
  CHECK(ledger.size() == 0);
}

TEST_CASE("AckLedger: handed-over ids are refused, then forgotten as the connection goes on") {
  Fixture f;
  for (int i = 0; i < 1000; ++i) f.record("held-" + std::to_string(i), f.first);
  const auto kept = f.record("kept", f.second);
  const std::size_t bytes_with_all = f.ledger.bytes();
  auto held = f.ledger.take_all(f.first);
  CHECK(held.size() == 1000);
  CHECK(f.ledger.size() == 1);
  CHECK(f.ledger.bytes() < bytes_with_all / 100);  // only "kept" is counted now
  CHECK_FALSE(f.ledger.take(1));                   // a late ACK of a handed-over delivery
  CHECK_FALSE(f.ledger.take(500));
  // New deliveries for the same consumer are outstanding again, with fresh ids.
  const auto fresh = f.record("fresh", f.first);
  CHECK(fresh > kept);
  REQUIRE(f.ledger.take(fresh));
  REQUIRE(f.ledger.take(kept));
  CHECK(f.ledger.size() == 0);
  CHECK(f.ledger.bytes() == 0);
}

TEST_CASE("ReturnedMessages: batches keep their order, unacked count one more failure") {
  Fixture f;
  f.record("unacked-1", f.first);
  f.record("unacked-2", f.first);
  ReturnedMessages leaving;
  leaving.append(f.ledger.take_all(f.first));
  std::vector<Delivery> unsent(1);
  unsent[0].buffer = message_frame("unsent");
  leaving.append(std::move(unsent));
  std::vector<QueuedMessage> nacked;
  nacked.push_back({message_frame("nacked"), 3});
  ReturnedMessages returning(std::move(nacked));
  returning.prepend(std::move(leaving));  // given back later, so ahead
  REQUIRE(returning.size() == 4);
  std::vector<std::pair<std::string, std::uint32_t>> from_back;
  while (!returning.empty()) {
    const QueuedMessage m = returning.take_back();
    from_back.emplace_back(payload_of({m.message, 0, {}}), m.failures);
  }
  const std::vector<std::pair<std::string, std::uint32_t>> expected{
      {"nacked", 3}, {"unsent", 0}, {"unacked-2", 1}, {"unacked-1", 1}};
  CHECK(from_back == expected);
}
