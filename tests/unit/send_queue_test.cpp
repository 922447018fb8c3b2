// SendQueue: a connection's FIFO of deliveries (ring order, byte and slot counts, extraction).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "memory_gauge.hpp"
#include "send_queue.hpp"

using namespace paperboy::broker;

namespace {

// A delivery of `size` bytes of its own allocation, told apart by `id`.
Delivery numbered(std::uint64_t id, std::uint32_t size = 10, std::uint8_t prefix = 0) {
  Delivery d;
  d.buffer = SharedBuffer::allocate(size).compacted();
  d.size = size;
  d.prefix_size = prefix;
  d.delivery_id = id;
  return d;
}

std::vector<std::uint64_t> ids(const SendQueue& queue) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < queue.size(); ++i) out.push_back(queue.at(i).delivery_id);
  return out;
}

}  // namespace

TEST_CASE("SendQueue: first in, first out across wrap-around and growth") {
  SendQueue queue(1 << 20);
  for (std::uint64_t id = 1; id <= 3; ++id) queue.push(numbered(id));
  queue.pop(2);  // the head moves on, so the ring wraps before it grows
  for (std::uint64_t id = 4; id <= 20; ++id) queue.push(numbered(id));
  std::vector<std::uint64_t> expected;
  for (std::uint64_t id = 3; id <= 20; ++id) expected.push_back(id);
  CHECK(ids(queue) == expected);
  CHECK(queue.front().delivery_id == 3);
  queue.pop(5);
  CHECK(queue.front().delivery_id == 8);
  CHECK(queue.size() == 13);
}

TEST_CASE("SendQueue: counts the wire bytes of what it holds, prefixes included") {
  SendQueue queue(1 << 20);
  CHECK(queue.empty());
  queue.push(numbered(1, 100));
  queue.push(numbered(2, 50, 20));
  CHECK(queue.bytes() == 170);
  CHECK(queue.charged() == 170 + 2 * SendQueue::slot_size);
  queue.pop(1);
  CHECK(queue.bytes() == 70);
  queue.pop(10);  // more than it holds: empties it, nothing else
  CHECK(queue.empty());
  CHECK(queue.bytes() == 0);
  CHECK(queue.charged() == 0);
}

TEST_CASE("SendQueue: push_with fills the next slot in place and counts it like push") {
  SendQueue queue(1 << 20);
  queue.push(numbered(1));
  queue.push_with([](Delivery& d) { d = numbered(2, 30, 4); });
  CHECK(ids(queue) == std::vector<std::uint64_t>{1, 2});
  CHECK(queue.bytes() == 10 + 34);
}

TEST_CASE("SendQueue: footprint_after_push foresees the ring doubling") {
  SendQueue queue(1 << 20);
  // Empty: the first push makes a ring of four slots.
  CHECK(queue.footprint_after_push() == 4 * SendQueue::slot_size);
  for (std::uint64_t id = 1; id <= 3; ++id) queue.push(numbered(id));
  CHECK(queue.footprint_after_push() == 30 + 4 * SendQueue::slot_size);  // one slot still free
  queue.push(numbered(4));
  CHECK(queue.footprint_after_push() == 40 + 8 * SendQueue::slot_size);  // full: it would double
}

TEST_CASE("SendQueue: trim gives the ring back only when the queue is empty") {
  (void)numbered(0);  // the message allocator's own slab, which stays, is there before we count
  const std::size_t before = MemoryGauge::held();
  {
    SendQueue queue(1 << 20);
    for (std::uint64_t id = 1; id <= 100; ++id) queue.push(numbered(id));
    const std::size_t busy = MemoryGauge::held();
    CHECK(busy >= before + 100 * SendQueue::slot_size);
    queue.trim();  // not empty: nothing changes
    CHECK(MemoryGauge::held() == busy);
    CHECK(queue.size() == 100);
    queue.pop(100);
    queue.trim();
    CHECK(MemoryGauge::held() == before);
    queue.push(numbered(101));  // still usable after trimming
    CHECK(ids(queue) == std::vector<std::uint64_t>{101});
  }
  CHECK(MemoryGauge::held() == before);
}

TEST_CASE("SendQueue: extract hands over what it takes in order and keeps the rest in order") {
  SendQueue queue(1 << 20);
  queue.push(numbered(1, 10));
  queue.pop(1);  // start off the ring's first slot
  for (std::uint64_t id = 2; id <= 12; ++id) queue.push(numbered(id, 10));
  std::vector<std::uint64_t> taken;
  // From the second entry on (the first is being written), every even id.
  queue.extract(
      1, [](const Delivery& d) { return d.delivery_id % 2 == 0; },
      [&](Delivery&& d) { taken.push_back(d.delivery_id); });
  CHECK(taken == std::vector<std::uint64_t>{4, 6, 8, 10, 12});
  CHECK(ids(queue) == std::vector<std::uint64_t>{2, 3, 5, 7, 9, 11});
  CHECK(queue.bytes() == 60);
  // The entry being written stays even when it would be taken.
  queue.extract(
      1, [](const Delivery&) { return true; }, [](Delivery&&) {});
  CHECK(ids(queue) == std::vector<std::uint64_t>{2});
  queue.push(numbered(13));
  CHECK(ids(queue) == std::vector<std::uint64_t>{2, 13});
}
