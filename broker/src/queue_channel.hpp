#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "paperboy/broker/config.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

class Outbox;

/// Someone waiting for a full queue channel to have room again (a blocked publisher).
class RoomWaiter {
 public:
  virtual void on_channel_room() = 0;

 protected:
  ~RoomWaiter() = default;
};

/// A /queue channel: each message goes to exactly one consumer, round-robin over the consumers
/// that have room; the rest wait in a bounded backlog. A full backlog refuses the publish and the
/// publisher waits for room (the one place the broker stops reading a socket).
class QueueChannel {
 public:
  QueueChannel(std::string name, const Config& config);

  const std::string& name() const noexcept { return name_; }

  /// Adds a consumer and hands it what is waiting; false if it already was one.
  bool subscribe(Outbox& consumer);
  /// Removes a consumer, first taking back what it has queued but not written, so it goes to the
  /// others (at the head of the backlog, in order). False if it was not a consumer.
  bool unsubscribe(Outbox& consumer);

  /// Takes a message, or returns false when the backlog is full (call wait_for_room).
  bool publish(const SharedBuffer& message);

  /// Moves waiting messages to consumers that have room again.
  void pump();

  void wait_for_room(RoomWaiter& waiter);
  void cancel_wait(RoomWaiter& waiter) noexcept;

  /// No consumers, no backlog, nobody waiting: the router may drop it.
  bool idle() const noexcept { return consumers_.empty() && backlog_.empty() && waiters_.empty(); }
  std::size_t backlog_size() const noexcept { return backlog_.size(); }
  std::size_t consumer_count() const noexcept { return consumers_.size(); }

 private:
  bool full() const noexcept;
  Outbox* next_consumer_with_room() noexcept;
  void enqueue(SharedBuffer message);
  void wake_waiters();

  std::string name_;
  std::deque<SharedBuffer> backlog_;
  std::size_t backlog_bytes_ = 0;
  std::size_t max_messages_;
  std::size_t max_bytes_;
  std::vector<Outbox*> consumers_;
  std::size_t next_ = 0;
  std::vector<RoomWaiter*> waiters_;
};

}  // namespace paperboy::broker
