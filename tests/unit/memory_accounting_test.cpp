// The broker's memory accounting: slabs counted in MemoryGauge, held messages pinning at most a
// budget of shared slabs (SlabPins, SendQueue), and send-queue slots charged against the caps.
#include <doctest/doctest.h>

#include <string_view>
#include <vector>

#include "ack_ledger.hpp"
#include "memory_gauge.hpp"
#include "send_queue.hpp"
#include "shared_buffer.hpp"
#include "slab_pins.hpp"

using namespace paperboy::broker;

namespace {

// A message of `size` bytes cut from the current shared slab.
SharedBuffer small(std::size_t size = 1) {
  return SharedBuffer::allocate(size);
}

// Moves the allocator on to a shared slab no held message is in: nine 8000-byte messages never
// fit in one (a slab nothing holds any more is started over, which is such a slab too).
void fill_current_slab() {
  for (int i = 0; i < 9; ++i) (void)SharedBuffer::allocate(8000);
}

Delivery delivery_of(SharedBuffer buffer) {
  Delivery d;
  d.size = static_cast<std::uint32_t>(buffer.size());
  d.buffer = std::move(buffer);
  return d;
}

}  // namespace

TEST_CASE("MemoryGauge counts every slab while it lives") {
  const std::size_t before = MemoryGauge::held();
  {
    const SharedBuffer own = SharedBuffer::allocate(100'000);
    CHECK(MemoryGauge::held() >= before + 100'000);
  }
  CHECK(MemoryGauge::held() == before);
}

TEST_CASE("Arena: buffers cut one after another lie back to back, whatever other arenas cut") {
  // Two consumers' arenas, served in turn as round robin serves them.
  SharedBuffer::Arena first;
  SharedBuffer::Arena second;
  std::vector<SharedBuffer> firsts;
  std::vector<SharedBuffer> seconds;
  for (int i = 0; i < 100; ++i) {
    firsts.push_back(first.allocate(150));
    seconds.push_back(second.allocate(150));
    (void)small(150);  // and the thread's arena, for a topic message
  }
  // Within a slab each buffer starts where the one before ends; 15,000 bytes take slabs of 4, 8
  // and 16 KiB (they grow as they fill).
  const auto slabs_of_a_run = [](const std::vector<SharedBuffer>& run) {
    std::size_t slabs = 1;
    for (std::size_t i = 1; i < run.size(); ++i) {
      if (run[i].slab() != run[i - 1].slab()) {
        ++slabs;
        continue;
      }
      CHECK(run[i].data() == run[i - 1].data() + 150);
    }
    return slabs;
  };
  CHECK(slabs_of_a_run(firsts) <= 3);
  CHECK(slabs_of_a_run(seconds) <= 3);
  CHECK(firsts.back().slab() != seconds.back().slab());
}

TEST_CASE("Arena: a slab nothing holds any more is started over, released, it is freed") {
  const std::size_t before = MemoryGauge::held();
  {
    SharedBuffer::Arena arena;
    const char* start = nullptr;
    {
      const SharedBuffer a = arena.allocate(100);
      const SharedBuffer b = arena.allocate(100);
      start = a.data();
      CHECK(b.data() == start + 100);
    }
    const SharedBuffer again = arena.allocate(100);
    CHECK(again.data() == start);
    CHECK(MemoryGauge::held() > before);
    // Released while a buffer still holds its slab: the buffer keeps it, then frees it.
    arena.release();
    CHECK(again.view().size() == 100);
    CHECK(MemoryGauge::held() > before);
  }
  CHECK(MemoryGauge::held() == before);
}

TEST_CASE("compacted() gives a shared-slab message an allocation of its own") {
  const SharedBuffer shared = small(10);
  REQUIRE(shared.in_shared_slab());
  const SharedBuffer own = shared.compacted();
  CHECK_FALSE(own.in_shared_slab());
  CHECK(own.size() == 10);
  CHECK(own.slab() != shared.slab());
}

TEST_CASE("SlabPins: a run from one slab pins it once, past the budget messages are copied") {
  fill_current_slab();
  SlabPins pins(2 * SharedBuffer::slab_size);
  std::vector<SharedBuffer> held;
  std::vector<bool> starts;
  for (int i = 0; i < 100; ++i) {  // one run
    held.push_back(small());
    starts.push_back(pins.join(held.back()));
  }
  CHECK(pins.pinned() == 1);
  CHECK(starts.front());
  // Three more messages, each from a slab of its own: the first fits the budget, the others are
  // copied out.
  for (int i = 0; i < 3; ++i) {
    fill_current_slab();
    held.push_back(small());
    starts.push_back(pins.join(held.back()));
  }
  CHECK(pins.pinned() == 2);
  CHECK(held[100].in_shared_slab());
  CHECK_FALSE(held[101].in_shared_slab());
  CHECK_FALSE(held[102].in_shared_slab());
  // The first run leaves from the front: its flag passes along it, then its slab is unpinned.
  CHECK(pins.leave_front(starts[0], held[0], &held[1]));
  for (std::size_t i = 1; i < 99; ++i) CHECK_FALSE(pins.leave_front(false, held[i], &held[i + 1]));
  CHECK_FALSE(pins.leave_front(true, held[99], &held[100]));
  CHECK(pins.pinned() == 1);
}

TEST_CASE("SendQueue charges a slot per entry and keeps one-byte messages from pinning slabs") {
  const std::size_t budget = 4 * SharedBuffer::slab_size;
  SendQueue queue(budget);
  for (int i = 0; i < 1000; ++i) {
    fill_current_slab();
    queue.push(delivery_of(small()));
  }
  CHECK(queue.bytes() == 1000);
  CHECK(queue.charged() == 1000 + 1000 * SendQueue::slot_size);
  CHECK(queue.pinned_slabs() == 4);
  std::size_t shared = 0;
  for (std::size_t i = 0; i < queue.size(); ++i) shared += queue.at(i).buffer.in_shared_slab();
  CHECK(shared == 4);
  queue.pop(1000);
  CHECK(queue.pinned_slabs() == 0);
  CHECK(queue.charged() == 0);
}

TEST_CASE("SendQueue: extracting entries counts the runs left exactly") {
  SendQueue queue(64 * SharedBuffer::slab_size);
  fill_current_slab();
  for (int i = 0; i < 10; ++i) queue.push(delivery_of(small()));  // one run
  fill_current_slab();
  for (int i = 0; i < 10; ++i) queue.push(delivery_of(small()));  // another
  REQUIRE(queue.pinned_slabs() == 2);
  std::size_t index = 0;
  queue.extract(
      0, [&](const Delivery&) { return index++ < 10; }, [](Delivery&&) {});
  CHECK(queue.size() == 10);
  CHECK(queue.pinned_slabs() == 1);
}

TEST_CASE("AckLedger charges a shared slab whole until compacted") {
  AckLedger ledger;
  fill_current_slab();
  const auto id = ledger.record(small(), 0, ConsumerId{1});
  CHECK(ledger.bytes() > SharedBuffer::slab_size);
  ledger.compact();
  CHECK(ledger.bytes() < 1024);
  CHECK(ledger.take(id).has_value());
  CHECK(ledger.bytes() == 0);
}
