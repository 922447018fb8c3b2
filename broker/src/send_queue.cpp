#include "send_queue.hpp"

#include <algorithm>
#include <utility>

#include "memory_gauge.hpp"

namespace paperboy::broker {
SendQueue::~SendQueue() {
  MemoryGauge::remove(ring_.size() * slot_size);
}

std::size_t SendQueue::footprint_after_push() const noexcept {
  const std::size_t slots =
      count_ < ring_.size() ? ring_.size() : std::max<std::size_t>(4, ring_.size() * 2);
  return bytes_ + slots * slot_size;
}

void SendQueue::push(Delivery d) {
  if (count_ == ring_.size()) grow();
  d.starts_run = pins_.join(d.buffer);
  bytes_ += d.wire_size();
  slot(count_) = std::move(d);
  ++count_;
}

void SendQueue::pop(std::size_t n) noexcept {
  popped_ += std::min(n, count_);
  for (std::size_t i = 0; i < n && count_ > 0; ++i) {
    Delivery& d = slot(0);
    bytes_ -= d.wire_size();
    Delivery* next = count_ > 1 ? &slot(1) : nullptr;
    if (pins_.leave_front(d.starts_run, d.buffer, next ? &next->buffer : nullptr)) {
      next->starts_run = true;
    }
    d.buffer = SharedBuffer{};  // the rest of the slot is overwritten when it is reused
    head_ = (head_ + 1) & mask();
    --count_;
  }
  if (count_ == 0) head_ = 0;
}

void SendQueue::grow() {
  resize(ring_.empty() ? 4 : ring_.size() * 2);
}

void SendQueue::resize(std::size_t slots) {
  std::vector<Delivery> ring(slots);
  for (std::size_t i = 0; i < count_; ++i) ring[i] = std::move(slot(i));
  MemoryGauge::add(slots * slot_size);
  MemoryGauge::remove(ring_.size() * slot_size);
  ring_ = std::move(ring);
  head_ = 0;
}

void SendQueue::recount_pins() noexcept {
  pins_.reset();
  for (std::size_t i = 0; i < count_; ++i) {
    Delivery& d = slot(i);
    d.starts_run = pins_.count(d.buffer);
  }
}

}  // namespace paperboy::broker
