#include "send_queue.hpp"

#include <utility>

namespace paperboy::broker {

void SendQueue::push(Delivery d) {
  if (count_ == ring_.size()) grow();
  bytes_ += d.wire_size();
  slot(count_) = std::move(d);
  ++count_;
}

void SendQueue::pop(std::size_t n) noexcept {
  for (std::size_t i = 0; i < n && count_ > 0; ++i) {
    Delivery& d = slot(0);
    bytes_ -= d.wire_size();
    d.buffer = SharedBuffer{};  // the rest of the slot is overwritten when it is reused
    head_ = (head_ + 1) & mask();
    --count_;
  }
  if (count_ == 0) head_ = 0;
}

void SendQueue::grow() {
  std::vector<Delivery> bigger(ring_.empty() ? 4 : ring_.size() * 2);
  for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(slot(i));
  ring_ = std::move(bigger);
  head_ = 0;
}

}  // namespace paperboy::broker
