#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "bulk_work.hpp"
#include "delivery.hpp"
#include "paperboy/broker/config.hpp"
#include "paperboy/broker/snapshot.hpp"
#include "publication.hpp"
#include "registry.hpp"
#include "returned_messages.hpp"
#include "slab_pins.hpp"

namespace paperboy::broker {

class MessageStore;
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
///
/// A durable channel never refuses for its bounds: past them a message is paged, kept only in
/// the journal with its id in `paged_` here, behind the backlog in publish order, and read back
/// as the backlog empties (only --max-memory, which counts the paged entries, and a full disk
/// stop its publishers).
///
/// Bulk work is sliced across event-loop turns (BulkWork) so other clients keep their latency:
/// a give-back of more than one message (a consumer leaving with 100,000 unacked) moves to the
/// head a slice per turn, and one pump hands out at most `work_slice` messages before it
/// continues in a later turn. While a give-back is under way nothing is handed out or
/// published past it, so the order is as if it had happened at once.
class QueueChannel {
 public:
  QueueChannel(std::string name, const Config& config, Router& router);
  ~QueueChannel();
  QueueChannel(const QueueChannel&) = delete;
  QueueChannel& operator=(const QueueChannel&) = delete;

  const std::string& name() const noexcept { return name_; }
  QueueId id() const noexcept { return enrollment_.id(); }
  /// Its messages are kept in the journal (--data-dir, a --durable pattern), decided when it is
  /// created.
  bool durable() const noexcept { return durable_; }
  /// Where a durable message's records go (every call does nothing for a message not stored).
  MessageStore& store() const noexcept;

  /// Adds a consumer (findable by its id from now on) and hands it what is waiting; false if it
  /// already was one.
  bool subscribe(QueueConsumer& consumer);
  /// Removes a consumer; what it held goes back to the head of the backlog, in order, and its id
  /// finds nothing any more. False if it was not a consumer.
  bool unsubscribe(QueueConsumer& consumer);

  /// Takes a message, or returns false when the backlog is full (call wait_for_room). Encodes
  /// it (once) where it goes. A durable channel records it in the journal and notes the batch
  /// in the publication (its confirm waits for that batch).
  bool publish(Publication& message);

  /// Puts a message the journal kept back at the tail at start-up: a copy of its frame within
  /// the bounds, only its id past them (paged).
  void restore(storage::MessageId id, std::string_view frame, std::uint32_t failures,
               Deadline expires);

  /// Puts given-back messages at the head, in the order given (dead-lettering those that have
  /// failed too often), and hands them on; ahead of any give-back still under way.
  void give_back(ReturnedMessages messages);
  void give_back(std::vector<QueuedMessage> messages) {
    give_back(ReturnedMessages(std::move(messages)));
  }

  /// Moves waiting messages to consumers that can take them (a slice now, the rest later).
  void pump();
  /// The journal committed a batch this channel waited for (see page_in): pumps again.
  void on_committed();

  /// Most messages one pump hands out before it continues in a later turn.
  static constexpr std::size_t work_slice = BulkWork::per_turn;

  /// What a shutdown discarded from this channel before the report.
  struct Discarded {
    std::size_t messages = 0;
    std::size_t delivered_before = 0;
    std::size_t bytes = 0;
  };
  /// Drops up to `at_most` waiting messages (the broker is shutting down: nobody can take them
  /// any more) and counts them; returns how many it dropped.
  std::size_t discard(std::size_t at_most);
  const Discarded& discarded() const noexcept { return discarded_; }

  void wait_for_room(RoomWaiter& waiter);
  void cancel_wait(RoomWaiter& waiter) noexcept;

  /// No consumers, no backlog, nobody waiting, nothing to report: the router may drop it.
  bool idle() const noexcept {
    return consumers_.empty() && backlog_.empty() && returning_.empty() && paged_.empty() &&
           waiters_.empty() && discarded_.messages == 0;
  }
  /// Waiting messages, given-back ones still on their way to the head and paged ones included.
  std::size_t backlog_size() const noexcept {
    return backlog_.size() + returning_.size() + paged_.size();
  }
  /// Bytes of the backlog proper and of the paged messages (given-back messages count once at
  /// the head).
  std::size_t backlog_bytes() const noexcept { return backlog_bytes_ + paged_bytes_; }
  /// Paged messages: only in the journal until the backlog drains to them.
  std::size_t paged_count() const noexcept { return paged_.size(); }
  std::size_t consumer_count() const noexcept { return consumers_.size(); }
  /// Messages whose TTL ran out before anyone took them.
  std::uint64_t expired_total() const noexcept { return expired_total_; }

  /// What /metrics and /stats show of it (counters since it was created).
  ChannelSnapshot describe() const;
  /// Discards every waiting message (an operator's purge); how many.
  std::uint64_t purge();

 private:
  bool full() const noexcept;
  /// publish() for a durable channel: the same, with the message's ENQUEUE record.
  bool publish_durable(Publication& message);
  /// Discards a message for its TTL: counted, and settled in the journal.
  void drop_expired(const QueuedMessage& message);
  bool dead_letters_allowed() const noexcept;
  /// The next consumer in turn that can take a message, not `avoid` unless nobody else can.
  QueueConsumer* next_consumer(ConsumerId avoid) noexcept;
  QueueConsumer* scan_for_consumer(ConsumerId avoid) noexcept;
  void enqueue(QueuedMessage message);
  QueuedMessage dequeue();
  /// Behind everything else, only in the journal (`failures`: at least this many on the way in).
  void page_out(storage::MessageId id, std::size_t bytes, std::uint32_t failures);
  /// Reads up to `at_most` paged messages back into the backlog while it has room; how many
  /// left `paged_` (expired ones included). Stops at one whose batch is not on disk yet and
  /// asks to be pumped after the next commit.
  std::size_t page_in(std::size_t at_most);
  /// A durable message past the bounds: its frame is only on disk.
  struct Paged {
    storage::MessageId id = 0;
    std::uint32_t bytes = 0;     ///< its frame's
    std::uint32_t failures = 0;  ///< a floor (a recovery after a crash flags every message)
  };
  /// What a paged message costs in memory, counted against --max-memory: its entry here and its
  /// entry in the journal's live index (a hash-map node, about 70 bytes).
  static constexpr std::size_t paged_cost = sizeof(Paged) + 80;
  Paged take_paged_front();
  /// Discards the backlog's expired messages at its head. Like RabbitMQ's per-message TTL, a
  /// message expires when it reaches the head, so nothing scans the whole backlog: one behind a
  /// longer-lived message waits (and counts against the bounds) until that one has gone.
  void drop_expired_head();
  /// Counts a message discarded for its TTL.
  void count_expired();
  /// Hands a message to a consumer, counted.
  template <class Message>
  void hand(QueueConsumer& consumer, Message&& message);
  void wake_waiters();
  /// Moves up to `at_most` given-back messages to the head; how many it moved.
  std::size_t return_slice(std::size_t at_most);
  /// Hands out up to `at_most` messages; `cut` says it stopped with more to hand out.
  std::size_t pump_up_to(std::size_t at_most, bool& cut);
  /// Has continue_work() run in later turns of bulk work until it is done (queued once).
  void continue_later();
  BulkWork::Progress continue_work(std::size_t budget);

  std::string name_;
  const Config& config_;
  Router& router_;
  Enrollment<QueueChannel> enrollment_;
  std::deque<QueuedMessage> backlog_;
  std::size_t backlog_bytes_ = 0;
  std::deque<Paged> paged_;  ///< behind backlog_, in publish order
  std::size_t paged_bytes_ = 0;
  SlabPins backlog_pins_;
  std::vector<QueueConsumer*> consumers_;
  std::size_t next_ = 0;
  std::vector<RoomWaiter*> waiters_;
  /// Given back and not yet at the head, in order; they go to the head from the back, a slice
  /// per turn, and are the logical head of the channel meanwhile.
  ReturnedMessages returning_;
  Discarded discarded_;
  std::uint64_t expired_total_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dead_lettered_ = 0;
  bool scheduled_ = false;        ///< queued in the router's bulk work
  bool awaiting_commit_ = false;  ///< the next paged message waits for its batch to be on disk
  const bool durable_;
};

}  // namespace paperboy::broker
