// AckLedger: a connection's unacked manual-ack deliveries, indexed per consumer.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ack_ledger.hpp"
#include "delivery.hpp"
#include "drop_log.hpp"
#include "outbox.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "publication.hpp"
#include "queue_consumer.hpp"

using namespace paperboy::broker;

namespace {

SharedBuffer message_frame(std::string_view payload) {
  return Publication("/queue/q", {}, payload).frame();
}

struct Fixture {
  asio::io_context io;
  Config config;
  DropLog drops;
  Outbox outbox{io.get_executor(), config, drops};
  AckLedger ledger;
  QueueConsumer first{outbox, ledger, true, 100, config.max_unacked_bytes};
  QueueConsumer second{outbox, ledger, true, 100, config.max_unacked_bytes};

  std::uint64_t record(const std::string& payload, QueueConsumer& consumer) {
    return ledger.record(message_frame(payload), 0, consumer);
  }
};

std::string payload_of(const AckLedger::Unacked& unacked) {
  const std::string_view frame = unacked.message.view();
  const auto layout = paperboy::protocol::written_msg_layout(frame);
  return std::string(layout.payload_in(frame.substr(paperboy::protocol::frame_header_size)));
}

std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> take_all(AckLedger& ledger,
                                                                   const QueueConsumer& consumer) {
  std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> taken;
  ledger.take_all(consumer, [&](std::uint64_t id, AckLedger::Unacked&& unacked) {
    taken.emplace_back(id, std::move(unacked));
  });
  return taken;
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
  CHECK(taken->consumer == &f.first);
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
  asio::io_context io;
  Config config;
  DropLog drops;
  Outbox outbox{io.get_executor(), config, drops};
  AckLedger ledger;
  std::vector<std::unique_ptr<QueueConsumer>> consumers;
  for (int c = 0; c < 2000; ++c) {
    consumers.push_back(
        std::make_unique<QueueConsumer>(outbox, ledger, true, 100, config.max_unacked_bytes));
  }
  const auto message = message_frame("x");
  for (int round = 0; round < 50; ++round) {
    for (auto& consumer : consumers) ledger.record(message, 0, *consumer);
  }
  std::size_t returned = 0;
  bool in_order = true;
  for (auto& consumer : consumers) {
    const auto taken = take_all(ledger, *consumer);
    CHECK(taken.size() == 50);
    for (std::size_t i = 1; i < taken.size(); ++i) in_order &= taken[i - 1].first < taken[i].first;
    returned += taken.size();
  }
  CHECK(in_order);
  CHECK(returned == 100000);
  CHECK(ledger.size() == 0);
}
