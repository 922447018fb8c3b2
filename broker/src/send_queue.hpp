#pragma once

#include <cstddef>
#include <vector>

#include "delivery.hpp"

namespace paperboy::broker {

/// Bounded-by-policy FIFO of deliveries with a byte count; knows nothing about sockets. A ring
/// over a vector that only grows, so steady-state pushes and pops allocate nothing.
class SendQueue {
 public:
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return bytes_; }

  void push(Delivery d);
  /// Appends by filling the next slot in place; `fill` must set every field.
  template <class Fill>
  void push_with(Fill fill) {
    if (count_ == ring_.size()) grow();
    Delivery& d = slot(count_);
    fill(d);
    bytes_ += d.wire_size();
    ++count_;
  }
  /// The i-th entry from the front.
  const Delivery& at(std::size_t i) const noexcept { return ring_[(head_ + i) & mask()]; }
  Delivery& front() noexcept { return slot(0); }
  /// Frees the ring when it is empty (an idle connection keeps no memory from its last burst).
  void trim() noexcept {
    if (count_ == 0) std::vector<Delivery>().swap(ring_);
  }

  /// Drops the first n entries (they were written).
  void pop(std::size_t n) noexcept;

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
  }

 private:
  std::size_t mask() const noexcept { return ring_.size() - 1; }
  Delivery& slot(std::size_t i) noexcept { return ring_[(head_ + i) & mask()]; }
  void grow();

  std::vector<Delivery> ring_;  // size is zero or a power of two
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace paperboy::broker
