// SharedBuffer: messages cut from shared slabs, what each one costs, and compaction.
#include <doctest/doctest.h>

#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "memory_gauge.hpp"
#include "shared_buffer.hpp"

using namespace paperboy::broker;

namespace {

SharedBuffer filled(std::string_view bytes) {
  SharedBuffer buffer = SharedBuffer::allocate(bytes.size());
  std::memcpy(buffer.writable_data(), bytes.data(), bytes.size());
  return buffer;
}

// Two small buffers cut one after the other from the same slab (the allocator may move on to a
// fresh slab between any two calls, but never twice for two small ones in a row).
std::pair<SharedBuffer, SharedBuffer> adjacent_pair(std::string_view a, std::string_view b) {
  SharedBuffer first = filled(a);
  SharedBuffer second = filled(b);
  if (second.slab() != first.slab()) {
    first = filled(a);
    second = filled(b);
  }
  return {std::move(first), std::move(second)};
}

}  // namespace

TEST_CASE("SharedBuffer: small messages are cut back to back from one slab") {
  const auto [first, second] = adjacent_pair("hello", "world!");
  REQUIRE(first.slab() == second.slab());
  CHECK(first.in_shared_slab());
  CHECK(second.data() == first.data() + first.size());
  CHECK(first.view() == "hello");
  CHECK(second.view() == "world!");
}

TEST_CASE("SharedBuffer: a message too large to share gets an allocation of its own") {
  const std::size_t large = SharedBuffer::slab_size / 8 + 1;
  const SharedBuffer own = SharedBuffer::allocate(large);
  const SharedBuffer next = SharedBuffer::allocate(large);
  CHECK_FALSE(own.in_shared_slab());
  CHECK(own.size() == large);
  CHECK(own.slab() != next.slab());
  // It alone keeps its allocation: the bytes and the small header before them.
  CHECK(own.footprint() > large);
  CHECK(own.footprint() < large + 64);
  // Even larger than a slab: still one allocation of exactly that size.
  const SharedBuffer huge = SharedBuffer::allocate(3 * SharedBuffer::slab_size);
  CHECK(huge.size() == 3 * SharedBuffer::slab_size);
  CHECK_FALSE(huge.in_shared_slab());
}

TEST_CASE("SharedBuffer: a shared message's footprint is its own bytes; an empty one costs none") {
  const SharedBuffer shared = SharedBuffer::allocate(40);
  REQUIRE(shared.in_shared_slab());
  CHECK(shared.footprint() == 40);
  const SharedBuffer empty;
  CHECK_FALSE(empty);
  CHECK(empty.size() == 0);
  CHECK(empty.data() == nullptr);
  CHECK(empty.footprint() == 0);
}

TEST_CASE("SharedBuffer: copies share the bytes; a moved-from buffer is empty") {
  SharedBuffer original = filled("payload");
  const SharedBuffer copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.data() == original.data());
  CHECK(copy.view() == "payload");
  const SharedBuffer moved = std::move(original);
  CHECK(moved.view() == "payload");
  CHECK_FALSE(original);  // NOLINT(bugprone-use-after-move): the state after a move is the point
  CHECK(original.size() == 0);
  CHECK(copy.view() == "payload");
}

TEST_CASE("SharedBuffer: a slab is freed with the last message cut from it, not before") {
  // Cut messages until the allocator has filled a slab and moved on: then only the messages
  // hold it. Slabs start small and double, so go on until one is full-size.
  const std::size_t size = 1000;
  std::vector<SharedBuffer> run;
  for (int slabs = 0; slabs < 16 && run.size() < 60; ++slabs) {
    run = {SharedBuffer::allocate(size)};
    for (;;) {
      SharedBuffer next = SharedBuffer::allocate(size);
      if (next.slab() != run.front().slab()) break;
      run.push_back(std::move(next));
    }
  }
  REQUIRE(run.size() >= 60);
  const std::size_t held = MemoryGauge::held();
  SharedBuffer last = run.back();
  run.clear();
  CHECK(MemoryGauge::held() == held);  // one message still pins the slab
  last = SharedBuffer{};
  CHECK(MemoryGauge::held() <= held - SharedBuffer::slab_size);
}

TEST_CASE("SharedBuffer: compacted() copies a shared message out, and only a shared one") {
  const SharedBuffer shared = filled("keep me");
  REQUIRE(shared.in_shared_slab());
  const SharedBuffer own = shared.compacted();
  CHECK_FALSE(own.in_shared_slab());
  CHECK(own.view() == "keep me");
  CHECK(own.data() != shared.data());
  CHECK(own.footprint() > own.size());  // it pays its own header now, not a share of a slab
  CHECK(shared.view() == "keep me");    // the original is untouched
  // Already on its own: compacting again is the same allocation, no copy.
  const SharedBuffer again = own.compacted();
  CHECK(again.data() == own.data());
  CHECK_FALSE(SharedBuffer{}.compacted());
}
