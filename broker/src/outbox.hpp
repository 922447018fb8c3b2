#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "paperboy/broker/config.hpp"
#include "recent_reply_tos.hpp"
#include "registry.hpp"
#include "send_queue.hpp"
#include "traffic.hpp"

namespace paperboy::broker {

class TopicChannel;
class Transport;

/// The outbound half of one connection, as the channels see it: its send queue with the byte
/// cap that makes it "slow", the topic losses it still has to report (GAP), and the wake-up of
/// its writer. Channels hold plain pointers to it; the session unsubscribes it before it dies.
class Outbox {
 public:
  Outbox(const asio::any_io_executor& executor, const Config& config, Traffic& traffic);

  Dialect dialect() const noexcept { return dialect_; }
  void set_dialect(Dialect d) noexcept { dialect_ = d; }

  /// Called once, when this subscriber overflows under SlowConsumerPolicy::disconnect.
  void on_overflow(std::function<void()> handler) { on_overflow_ = std::move(handler); }

  /// True while a queue message handed over now goes out without passing the byte cap.
  bool has_room() const noexcept { return accepting_ && !full(); }

  /// At or over the byte cap (counting each entry's slot): no more messages for this peer, it
  /// is not keeping up.
  bool full() const noexcept { return queue_.charged() >= cap_; }

  /// Messages stop at the cap, so what piles up past it are answers to the peer's own requests
  /// (OK, ERR, PONG) that it does not read: stop reading its requests before the queue, slots
  /// included, would pass twice the cap.
  bool backed_up() const noexcept { return queue_.footprint_after_push() >= 2 * cap_; }

  /// From now on the reply-to of every message queued here is remembered in `into` (which
  /// outlives this outbox's deliveries): with users configured, its peer may answer them.
  void remember_reply_tos(RecentReplyTos* into) noexcept { reply_tos_ = into; }

  /// Queues a frame regardless of the cap (control frames: OK, ERR, PONG, GAP, WELCOME).
  void push(Delivery d);

  /// Queues a queue message for this consumer (the channel checked has_room()), filling the
  /// send-queue slot in place.
  void push_queued(const QueuedMessage& queued, QueueId origin, std::uint64_t delivery_id);
  /// The same for a version-2 auto-ack delivery of a message's first turn: its frame as it is.
  void push_first_delivery(const SharedBuffer& frame, QueueId origin, Deadline expires);

  /// Where a queue message for this connection alone is best encoded: next to its other
  /// deliveries, so a run of them goes out as one writev segment (see SharedBuffer::Arena).
  SharedBuffer::Arena& arena() noexcept { return arena_; }

  /// Fans a topic message out to this subscriber, or applies the slow-consumer policy. A
  /// non-zero `fan_out` already offered (through another matching channel) is skipped.
  void offer_topic(Publication& message, TopicChannel& channel, std::uint64_t fan_out = 0);

  /// Stops taking deliveries: the connection is closing.
  void stop_accepting() noexcept { accepting_ = false; }

  /// Forgets what it owes `channel` (unsubscribed): pending GAPs.
  void forget(TopicId channel) noexcept;

  /// Removes the queue deliveries from `channel` that are not being written, in order.
  std::vector<Delivery> take_unsent(QueueId channel);

  /// The connection is leaving every channel (it stopped accepting): sorts its unsent queue
  /// deliveries by channel in one pass, so each take_unsent after it costs what that channel had
  /// queued instead of a scan of the whole send queue per subscription.
  void set_aside_unsent();

  /// A half-written auto-ack queue delivery whose consumer had already left its channel.
  struct Stranded {
    QueueId origin;
    QueuedMessage message;
  };
  /// The connection is gone: the half-written front entry counts as unsent. If its consumer had
  /// already left its channel (nobody else will give it back), it is handed out here.
  std::optional<Stranded> abandon_partial_write();

  /// Drops every entry not being written (the peer will never read them).
  void discard_unsent();

  // The writer's side.
  bool empty() const noexcept { return queue_.empty(); }
  /// Releases the memory of an empty send queue (housekeeping, for idle connections).
  void trim() noexcept {
    queue_.trim();
    if (queue_.empty()) arena_.release();
  }
  /// Writes what the connection takes (gathered). Error would_block: wait until it is writable.
  std::error_code flush_to(Transport& transport) noexcept;
  /// True once after a flush that gave back room to a queue that had filled up: the caller
  /// then lets its queue channels hand out more. Pending GAPs are queued by then.
  bool take_room_regained() noexcept;
  /// Sleeps until something is queued or wake() is called.
  asio::awaitable<void> wait();
  /// Wakes the writer (queued data, or the connection is stopping).
  void wake() noexcept;

  std::uint64_t dropped_total() const noexcept { return dropped_total_; }
  /// Bytes written to the peer since it opened (the write deadline watches it move).
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }
  /// Messages (topic and queue) queued for it since it opened.
  std::uint64_t messages_out() const noexcept { return messages_out_; }
  /// Entries in its send queue.
  std::size_t size() const noexcept { return queue_.size(); }
  /// What its send queue holds now, slots included (what the byte cap counts).
  std::size_t queued_bytes() const noexcept { return queue_.charged(); }

 private:
  struct PendingGap {
    TopicId channel;
    std::string name;  ///< the GAP names the channel
    std::uint64_t dropped;
  };
  /// Owes a GAP naming `published`, the channel the lost message was published on.
  void owe_gap(TopicChannel& channel, std::string_view published);
  /// Distinct published names a subscriber's pending GAPs may name; past it a loss is reported
  /// under its subscription's name, so a flood of names cannot grow what it holds.
  static constexpr std::size_t max_named_gaps = 256;
  /// Entries from here on have not started to go out.
  std::size_t first_unsent() const noexcept { return front_written_ > 0 ? 1 : 0; }
  void report_gaps();
  /// Remembers the reply-to of a version-2 MSG frame, when asked to (remember_reply_tos).
  void remember_reply_to_of(const SharedBuffer& frame);
  /// Counts the message just queued for the peer, and times every latency_sample_every-th one
  /// from its publish (Unix ns, read only then) to the write that sends it.
  template <class PublishedAt>
  void count_message(PublishedAt&& published_at) noexcept {
    if (messages_out_++ % latency_sample_every == 0 && sampled_position_ == 0) {
      sampled_position_ = queue_.popped() + queue_.size();
      sampled_published_at_ = published_at();
    }
  }
  /// Entries extracted from the middle of the queue: the sample's position no longer holds.
  void forget_sample() noexcept { sampled_position_ = 0; }
  /// After a write: observes the sampled message's publish-to-write time once it has gone out.
  void observe_written() noexcept;
  /// After the queue shrank: once it is back under the cap, owed GAPs go out first and the
  /// writer is told (take_room_regained) so queue channels can hand out more.
  void note_room();

  SendQueue queue_;
  SharedBuffer::Arena arena_;
  asio::steady_timer wake_timer_;
  std::function<void()> on_overflow_;
  Traffic& traffic_;
  std::vector<PendingGap> gaps_;
  std::unordered_map<QueueId, std::vector<Delivery>, IdHash> set_aside_;
  bool set_aside_done_ = false;
  std::size_t cap_;
  std::size_t front_written_ = 0;  ///< bytes of the front entry already sent
  /// The channel of the half-written front, an auto-ack delivery whose consumer has left it.
  QueueId stranded_origin_;
  RecentReplyTos* reply_tos_ = nullptr;
  std::uint64_t dropped_total_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::uint64_t messages_out_ = 0;
  /// The sampled message is the send queue's entry of this number (SendQueue::popped; 0: none).
  std::uint64_t sampled_position_ = 0;
  std::uint64_t sampled_published_at_ = 0;
  std::uint64_t last_fan_out_ = 0;  ///< the last multi-channel fan-out offered here
  SlowConsumerPolicy policy_;
  Dialect dialect_ = Dialect::pb1_v1;
  bool accepting_ = true;
  bool writer_waiting_ = false;
  bool was_full_ = false;
  bool room_regained_ = false;
};

}  // namespace paperboy::broker
