// The publish gate: a connection's PUBs routed, parked in order behind a full queue channel or
// the memory alarm, and the read-ahead bound, with a real Router and channels and no socket.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ack_ledger.hpp"
#include "memory_budget.hpp"
#include "memory_gauge.hpp"
#include "outbox.hpp"
#include "publish_gate.hpp"
#include "queue_consumer.hpp"
#include "router.hpp"
#include "traffic.hpp"

using namespace paperboy::broker;

namespace {

// One publishing connection's gate on a broker of its own, counting the times it asks to be
// retried.
struct Publisher {
  explicit Publisher(Config config, std::size_t memory_limit = 0)
      : config_(std::move(config)),
        router(config_, io.get_executor()),
        memory(memory_limit),
        gate(router, memory, config_.max_read_ahead, [this] { ++ready_calls; }) {}

  std::optional<PublishGate::Settled> publish(std::string_view channel, std::uint32_t req,
                                              std::string_view payload = "payload") {
    return gate.publish(Publication(channel, {}, payload, 0), req);
  }

  // The reqs of every parked PUB that can go now, in the order they went.
  std::vector<std::uint32_t> retry_all() {
    std::vector<std::uint32_t> reqs;
    while (const auto settled = gate.retry_next()) {
      CHECK(settled->refusal == Router::Refusal::none);
      reqs.push_back(settled->req);
    }
    return reqs;
  }

  std::size_t backlog(std::string_view queue) {
    std::size_t size = 0;
    router.for_each_queue([&](const QueueChannel& channel) {
      if (channel.name() == queue) size = channel.backlog_size();
    });
    return size;
  }

  Config config_;
  asio::io_context io;  ///< the router's bulk work would run here; these tests give back nothing
  Router router;
  MemoryBudget memory;
  PublishGate gate;
  int ready_calls = 0;
};

// A consumer connection that takes what a queue channel hands it (room in its send queue).
struct Consumer {
  explicit Consumer(const Config& config)
      : outbox(io.get_executor(), config, traffic),
        consumer(outbox, ledger, false, 64, config.max_unacked_bytes) {}

  asio::io_context io;
  Traffic traffic;
  Outbox outbox;
  AckLedger ledger;
  QueueConsumer consumer;
};

Config backlog_of(std::size_t messages) {
  Config config;
  config.channel_backlog_messages = messages;
  return config;
}

}  // namespace

TEST_CASE("PublishGate: a PUB a channel takes is settled at once and nothing parks") {
  Publisher p(backlog_of(10));
  const auto queued = p.publish("/queue/jobs", 7);
  REQUIRE(queued);
  CHECK(queued->req == 7);
  CHECK(queued->refusal == Router::Refusal::none);
  const auto topic = p.publish("/topic/nobody", 8);  // no subscriber: taken and dropped
  REQUIRE(topic);
  CHECK(topic->req == 8);
  CHECK(p.gate.empty());
  CHECK(p.gate.parked_bytes() == 0);
  CHECK(p.backlog("/queue/jobs") == 1);
  CHECK(p.gate.routed_last("/topic/nobody"));
  CHECK_FALSE(p.gate.routed_last("/queue/jobs"));
}

TEST_CASE("PublishGate: a new queue past --max-queues is refused, not parked") {
  Config config;
  config.max_queues = 1;
  Publisher p(config);
  REQUIRE(p.publish("/queue/a", 1));
  const auto refused = p.publish("/queue/b", 2);
  REQUIRE(refused);
  CHECK(refused->req == 2);
  CHECK(refused->refusal == Router::Refusal::queue_limit);
  CHECK(p.gate.empty());
  CHECK(p.router.queue_count() == 1);
}

TEST_CASE(
    "PublishGate: a full queue parks the PUB and every later one, which go in order once "
    "there is room") {
  Publisher p(backlog_of(2));
  REQUIRE(p.publish("/queue/jobs", 1));
  REQUIRE(p.publish("/queue/jobs", 2));
  CHECK_FALSE(p.publish("/queue/jobs", 3));
  // A topic PUB would be taken at once, but it waits behind the parked one: per-publisher order.
  CHECK_FALSE(p.publish("/topic/news", 4));
  CHECK_FALSE(p.publish("/queue/jobs", 5));
  CHECK(p.gate.parked() == 3);
  CHECK(p.gate.parked_bytes() > 0);
  CHECK(p.retry_all().empty());  // the channel is still full
  CHECK(p.ready_calls == 0);

  // A consumer arrives and takes the backlog: the channel has room and tells the gate once.
  Consumer c(p.config_);
  REQUIRE(p.router.subscribe(c.consumer, "/queue/jobs"));
  CHECK(p.backlog("/queue/jobs") == 0);
  CHECK(p.ready_calls == 1);
  CHECK(p.retry_all() == std::vector<std::uint32_t>{3, 4, 5});
  CHECK(p.gate.empty());
  CHECK(p.gate.parked_bytes() == 0);
  p.router.unsubscribe(c.consumer, "/queue/jobs");
}

TEST_CASE("PublishGate: parked bytes past the read-ahead say stop reading") {
  Config config = backlog_of(1);
  const std::string payload(600, 'x');
  config.max_read_ahead = 1000;  // one parked PUB of a 600-byte payload fits, two do not
  Publisher p(config);
  REQUIRE(p.publish("/queue/jobs", 1, payload));
  CHECK_FALSE(p.publish("/queue/jobs", 2, payload));
  CHECK(p.gate.parked_bytes() > 600);  // its frame, its allocation and its list entry
  CHECK(p.gate.parked_bytes() <= 1000);
  CHECK_FALSE(p.gate.over_read_ahead());
  CHECK_FALSE(p.publish("/queue/jobs", 3, payload));
  CHECK(p.gate.parked_bytes() > 1000);
  CHECK(p.gate.over_read_ahead());

  // Closing drops what is parked and stops waiting: room later retries nothing.
  CHECK(p.gate.abandon() == 2);
  CHECK(p.gate.empty());
  CHECK(p.gate.parked_bytes() == 0);
  CHECK_FALSE(p.gate.over_read_ahead());
  Consumer c(p.config_);
  REQUIRE(p.router.subscribe(c.consumer, "/queue/jobs"));
  CHECK(p.backlog("/queue/jobs") == 0);
  CHECK(p.ready_calls == 0);
  CHECK(p.retry_all().empty());
  p.router.unsubscribe(c.consumer, "/queue/jobs");
}

TEST_CASE("PublishGate: the memory alarm parks PUBs until it clears") {
  SharedBuffer hog = SharedBuffer::allocate(std::size_t{16} << 20);
  // A budget the broker already holds: the alarm goes off at the first PUB.
  Publisher p(backlog_of(10), MemoryGauge::held() - (std::size_t{8} << 20));
  CHECK_FALSE(p.publish("/topic/news", 1));
  CHECK_FALSE(p.publish("/queue/jobs", 2));
  CHECK(p.gate.parked() == 2);
  CHECK(p.memory.alarmed());
  CHECK(p.retry_all().empty());

  hog = SharedBuffer();  // the broker's holdings fall well under 7/8 of the budget
  REQUIRE(p.memory.relieved());
  p.gate.on_memory_relieved();
  CHECK(p.ready_calls == 1);
  p.gate.on_memory_relieved();  // not waiting any more: no second wake-up
  CHECK(p.ready_calls == 1);
  CHECK(p.retry_all() == std::vector<std::uint32_t>{1, 2});
  CHECK(p.backlog("/queue/jobs") == 1);
}

TEST_CASE("Publication: a parked PUB's frame leaves its shared slab, its fields intact") {
  // Parked one-byte PUBs cut from slabs full of other messages would each keep 64 KiB alive
  // while the read-ahead counted a few dozen bytes.
  Publication message("/queue/jobs", "/topic/_reply/1", "p", 0);
  REQUIRE(message.v2_frame().in_shared_slab());
  const std::string before(message.v2_frame().view());
  message.detach();
  CHECK_FALSE(message.v2_frame().in_shared_slab());
  CHECK(message.v2_frame().view() == before);
  CHECK(message.channel() == "/queue/jobs");
  CHECK(message.v2_frame().footprint() < 1024);
}
