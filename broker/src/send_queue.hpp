#pragma once

#include <cstddef>
#include <vector>

#include "delivery.hpp"
#include "slab_pins.hpp"

namespace paperboy::broker {

/// Bounded-by-policy FIFO of deliveries with a byte count; knows nothing about sockets. A ring
/// over a vector that only grows (a burst's ring is freed once the queue is empty, by trim()),
/// so steady-state pushes and pops allocate nothing. What it holds is charged as it costs: every
/// entry's slot as well as its bytes, and the shared slabs it keeps alive stay within `pin_budget`
/// bytes (SlabPins).
class SendQueue {
 public:
  explicit SendQueue(std::size_t pin_budget) noexcept : pins_(pin_budget) {}
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  /// The memory one entry costs beside the bytes it sends.
  static constexpr std::size_t slot_size = sizeof(Delivery);

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  /// Wire bytes queued.
  std::size_t bytes() const noexcept { return bytes_; }
  /// Wire bytes plus a slot per entry: what the queue's caps are measured in.
  std::size_t charged() const noexcept { return bytes_ + count_ * slot_size; }
  /// Wire bytes plus the slots the ring will hold after one more push: past a cap on this,
  /// the ring never doubles beyond it.
  std::size_t footprint_after_push() const noexcept;

  void push(Delivery d);
  /// Appends by filling the next slot in place; `fill` must set every field.
  template <class Fill>
  void push_with(Fill fill) {
    if (count_ == ring_.size()) grow();
    Delivery& d = slot(count_);
    fill(d);
    d.starts_run = pins_.join(d.buffer);
    bytes_ += d.wire_size();
    ++count_;
  }
  /// The i-th entry from the front.
  const Delivery& at(std::size_t i) const noexcept { return ring_[(head_ + i) & mask()]; }
  Delivery& front() noexcept { return slot(0); }
  /// Frees the ring when it is empty (an idle connection keeps no memory from its last burst).
  void trim() noexcept {
    if (count_ == 0) resize(0);
  }

  /// Drops the first n entries (they were written).
  void pop(std::size_t n) noexcept;
  /// Entries ever popped: the entry pushed last is number popped() + size() (from 1).
  std::uint64_t popped() const noexcept { return popped_; }

  /// Removes the entries from `first` on that `take` accepts, keeping the others in order, and
  /// hands each removed one to `sink` in order. Entries before `first` (being written) stay.
  template <class Take, class Sink>
  void extract(std::size_t first, Take take, Sink sink) {
    std::size_t kept = first;
    for (std::size_t i = first; i < count_; ++i) {
      Delivery& d = slot(i);
      if (take(d)) {
        bytes_ -= d.wire_size();
        sink(std::move(d));
        d = Delivery{};
      } else {
        if (kept != i) std::swap(slot(kept), d);
        ++kept;
      }
    }
    count_ = kept;
    recount_pins();
  }

  /// Slabs the queued entries keep alive, at most.
  std::size_t pinned_slabs() const noexcept { return pins_.pinned(); }

 private:
  std::size_t mask() const noexcept { return ring_.size() - 1; }
  Delivery& slot(std::size_t i) noexcept { return ring_[(head_ + i) & mask()]; }
  void grow();
  void resize(std::size_t slots);
  void recount_pins() noexcept;

  std::vector<Delivery> ring_;  // size is zero or a power of two
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t popped_ = 0;
  SlabPins pins_;
};

}  // namespace paperboy::broker
