#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "delivery.hpp"
#include "paperboy/broker/config.hpp"
#include "publication.hpp"
#include "slab_pins.hpp"

namespace paperboy::broker {

class QueueConsumer;
class Router;

/// Someone waiting for a full queue channel to have room again (a blocked publisher).
class RoomWaiter {
 public:
  virtual void on_channel_room() = 0;

 protected:
  ~RoomWaiter() = default;
};

/// A /queue channel: each message goes to exactly one consumer, round-robin over the consumers
/// that can take it (room in their send queue, credit for manual ack); the rest wait in a bounded
/// backlog. A full backlog refuses the publish and the publisher waits for room (the one place
/// the broker stops reading a socket). Messages given back (NACK, a consumer leaving) go to the
/// head, or to the dead-letter channel once they have failed too often.
class QueueChannel {
 public:
  QueueChannel(std::string name, const Config& config, Router& router);
  ~QueueChannel();
  QueueChannel(const QueueChannel&) = delete;
  QueueChannel& operator=(const QueueChannel&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// Adds a consumer and hands it what is waiting; false if it already was one.
  bool subscribe(QueueConsumer& consumer);
  /// Removes a consumer; what it held goes back to the head of the backlog, in order. False if
  /// it was not a consumer.
  bool unsubscribe(QueueConsumer& consumer);

  /// Takes a message, or returns false when the backlog is full (call wait_for_room). Encodes
  /// it (once) where it goes.
  bool publish(Publication& message);

  /// Puts given-back messages at the head, in the order given (dead-lettering those that have
  /// failed too often), and hands them on.
  void give_back(std::vector<QueuedMessage> messages);

  /// Moves waiting messages to consumers that can take them.
  void pump();

  void wait_for_room(RoomWaiter& waiter);
  void cancel_wait(RoomWaiter& waiter) noexcept;

  /// No consumers, no backlog, nobody waiting: the router may drop it.
  bool idle() const noexcept { return consumers_.empty() && backlog_.empty() && waiters_.empty(); }
  std::size_t backlog_size() const noexcept { return backlog_.size(); }
  std::size_t backlog_bytes() const noexcept { return backlog_bytes_; }
  /// Waiting messages that a consumer was given before and did not ack (a count, O(backlog)).
  std::size_t delivered_before() const noexcept;
  std::size_t consumer_count() const noexcept { return consumers_.size(); }

 private:
  bool full() const noexcept;
  bool dead_letters_allowed() const noexcept;
  QueueConsumer* next_consumer(const void* avoid) noexcept;
  void enqueue(QueuedMessage message);
  QueuedMessage dequeue();
  void wake_waiters();

  std::string name_;
  const Config& config_;
  Router& router_;
  std::deque<QueuedMessage> backlog_;
  std::size_t backlog_bytes_ = 0;
  SlabPins backlog_pins_;
  std::vector<QueueConsumer*> consumers_;
  std::size_t next_ = 0;
  std::vector<RoomWaiter*> waiters_;
};

}  // namespace paperboy::broker
