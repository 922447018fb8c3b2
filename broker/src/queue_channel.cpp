#include "queue_channel.hpp"

#include <algorithm>

#include "queue_consumer.hpp"
#include "router.hpp"

namespace paperboy::broker {
namespace {

// Messages at the head of a backlog kept in the slab they arrived in (at most 64 KiB each).
constexpr std::size_t uncompacted_backlog = 1024;

}  // namespace

QueueChannel::QueueChannel(std::string name, const Config& config, Router& router)
    : name_(std::move(name)), config_(config), router_(router) {}

bool QueueChannel::subscribe(QueueConsumer& consumer) {
  if (std::find(consumers_.begin(), consumers_.end(), &consumer) != consumers_.end()) {
    return false;
  }
  consumers_.push_back(&consumer);
  consumer.bind(*this);
  pump();
  return true;
}

bool QueueChannel::unsubscribe(QueueConsumer& consumer) {
  const auto it = std::find(consumers_.begin(), consumers_.end(), &consumer);
  if (it == consumers_.end()) return false;
  const auto index = static_cast<std::size_t>(it - consumers_.begin());
  consumers_.erase(it);
  if (index < next_) --next_;
  if (next_ >= consumers_.size()) next_ = 0;
  give_back(consumer.surrender(*this));
  return true;
}

bool QueueChannel::publish(const SharedBuffer& message) {
  if (backlog_.empty()) {
    if (QueueConsumer* consumer = next_consumer(nullptr)) {
      consumer->take(QueuedMessage{message}, *this);
      return true;
    }
  }
  if (full()) return false;
  enqueue(QueuedMessage{message});
  pump();
  return true;
}

void QueueChannel::give_back(std::vector<QueuedMessage> messages) {
  std::vector<QueuedMessage> requeued;
  for (auto& queued : messages) {
    const bool dead = queued.failures > config_.max_redeliveries && dead_letters_allowed() &&
                      router_.dead_letter(*this, queued.message, queued.failures);
    if (!dead) requeued.push_back(std::move(queued));
  }
  for (auto it = requeued.rbegin(); it != requeued.rend(); ++it) {
    backlog_bytes_ += it->message.size();
    it->message = it->message.compacted();
    backlog_.push_front(std::move(*it));
  }
  pump();
}

bool QueueChannel::dead_letters_allowed() const noexcept {
  const std::string& suffix = config_.dead_letter_suffix;
  return !suffix.empty() && !name_.ends_with(suffix);
}

std::size_t QueueChannel::delivered_before() const noexcept {
  return static_cast<std::size_t>(std::count_if(
      backlog_.begin(), backlog_.end(), [](const QueuedMessage& m) { return m.failures > 0; }));
}

void QueueChannel::pump() {
  while (!backlog_.empty()) {
    QueueConsumer* consumer = next_consumer(backlog_.front().avoid);
    if (!consumer) break;
    QueuedMessage queued = std::move(backlog_.front());
    backlog_.pop_front();
    backlog_bytes_ -= queued.message.size();
    consumer->take(queued, *this);
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
  return backlog_.size() >= config_.channel_backlog_messages ||
         backlog_bytes_ >= config_.channel_backlog_bytes;
}

QueueConsumer* QueueChannel::next_consumer(const void* avoid) noexcept {
  // Round-robin over those that can take a message; the consumer that just gave this message
  // back gets it again only when nobody else can.
  const std::size_t n = consumers_.size();
  QueueConsumer* fallback = nullptr;
  std::size_t fallback_index = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = (next_ + i) % n;
    QueueConsumer* consumer = consumers_[k];
    if (!consumer->can_take()) continue;
    if (consumer == avoid) {
      if (!fallback) {
        fallback = consumer;
        fallback_index = k;
      }
      continue;
    }
    next_ = (k + 1) % n;
    return consumer;
  }
  if (fallback) next_ = (fallback_index + 1) % n;
  return fallback;
}

void QueueChannel::enqueue(QueuedMessage message) {
  // A message deep in a backlog may wait long: it must not pin the slab it was cut from. The
  // first few wait briefly (the usual state of a queue whose consumers are at their prefetch),
  // so they keep their slab and skip the copy; they pin at most a backlog's worth of slabs.
  if (backlog_.size() >= uncompacted_backlog) message.message = message.message.compacted();
  backlog_bytes_ += message.message.size();
  backlog_.push_back(std::move(message));
}

void QueueChannel::wake_waiters() {
  // A woken publisher may publish again and wait again; hand it a fresh list to join.
  auto woken = std::move(waiters_);
  waiters_.clear();
  for (RoomWaiter* waiter : woken) waiter->on_channel_room();
}

}  // namespace paperboy::broker
