#include "queue_channel.hpp"

#include <algorithm>

#include "outbox.hpp"

namespace paperboy::broker {

QueueChannel::QueueChannel(std::string name, const Config& config)
    : name_(std::move(name)),
      max_messages_(config.channel_backlog_messages),
      max_bytes_(config.channel_backlog_bytes) {}

bool QueueChannel::subscribe(Outbox& consumer) {
  if (std::find(consumers_.begin(), consumers_.end(), &consumer) != consumers_.end()) {
    return false;
  }
  consumers_.push_back(&consumer);
  pump();
  return true;
}

bool QueueChannel::unsubscribe(Outbox& consumer) {
  const auto it = std::find(consumers_.begin(), consumers_.end(), &consumer);
  if (it == consumers_.end()) return false;
  auto unsent = consumer.take_unsent(*this);
  for (auto m = unsent.rbegin(); m != unsent.rend(); ++m) {
    backlog_bytes_ += m->size();
    backlog_.push_front(std::move(*m));
  }
  const auto index = static_cast<std::size_t>(it - consumers_.begin());
  consumers_.erase(it);
  if (index < next_) --next_;
  if (next_ >= consumers_.size()) next_ = 0;
  pump();
  return true;
}

bool QueueChannel::publish(const SharedBuffer& message) {
  if (backlog_.empty()) {
    if (Outbox* consumer = next_consumer_with_room()) {
      consumer->take_queue(message, *this);
      return true;
    }
  }
  if (full()) return false;
  enqueue(message);
  pump();
  return true;
}

void QueueChannel::pump() {
  while (!backlog_.empty()) {
    Outbox* consumer = next_consumer_with_room();
    if (!consumer) break;
    backlog_bytes_ -= backlog_.front().size();
    consumer->take_queue(backlog_.front(), *this);
    backlog_.pop_front();
  }
  if (!full()) wake_waiters();
}

void QueueChannel::wait_for_room(RoomWaiter& waiter) {
  if (std::find(waiters_.begin(), waiters_.end(), &waiter) == waiters_.end()) {
    waiters_.push_back(&waiter);
  }
}

void QueueChannel::cancel_wait(RoomWaiter& waiter) noexcept {
  std::erase(waiters_, &waiter);
}

bool QueueChannel::full() const noexcept {
  return backlog_.size() >= max_messages_ || backlog_bytes_ >= max_bytes_;
}

Outbox* QueueChannel::next_consumer_with_room() noexcept {
  const std::size_t n = consumers_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = (next_ + i) % n;
    if (consumers_[k]->has_room()) {
      next_ = (k + 1) % n;
      return consumers_[k];
    }
  }
  return nullptr;
}

void QueueChannel::enqueue(SharedBuffer message) {
  backlog_bytes_ += message.size();
  backlog_.push_back(std::move(message));
}

void QueueChannel::wake_waiters() {
  // A woken publisher may publish again and wait again; hand it a fresh list to join.
  auto woken = std::move(waiters_);
  waiters_.clear();
  for (RoomWaiter* waiter : woken) waiter->on_channel_room();
}

}  // namespace paperboy::broker
