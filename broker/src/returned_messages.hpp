#pragma once

#include <cstddef>
#include <deque>
#include <variant>
#include <vector>

#include "ack_ledger.hpp"
#include "delivery.hpp"

namespace paperboy::broker {

/// Queue messages on their way back to the head of their channel (a NACK, a consumer leaving),
/// in order. Each batch stays in the form it was handed over in, so handing one over costs
/// nothing per message however large it is; the channel takes them one at a time from the
/// back, a slice per loop turn.
class ReturnedMessages {
 public:
  ReturnedMessages() = default;
  explicit ReturnedMessages(std::vector<QueuedMessage> messages) { append(std::move(messages)); }

  void append(std::vector<QueuedMessage> messages);
  /// A leaving consumer's deliveries written and unacked: each counts one more failure.
  void append(AckLedger::Held unacked);
  /// Deliveries that never reached the socket: not really delivered, no failure for those.
  void append(std::vector<Delivery> unsent);
  /// Puts all of `ahead` before these.
  void prepend(ReturnedMessages&& ahead);

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  /// Removes and returns the last message (not empty()).
  QueuedMessage take_back();

 private:
  using Batch = std::variant<std::vector<QueuedMessage>, AckLedger::Held, std::vector<Delivery>>;
  template <class T>
  void append_batch(T batch);

  std::deque<Batch> batches_;
  std::size_t size_ = 0;
};

}  // namespace paperboy::broker
