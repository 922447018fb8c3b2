#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "delivery.hpp"
#include "publication.hpp"
#include "registry.hpp"
#include "returned_messages.hpp"

namespace paperboy::broker {

class AckLedger;
class Outbox;
class QueueChannel;

/// One connection's subscription to one /queue channel: where its deliveries go and, for a
/// manual-ack subscription, its credit (prefetch less what it holds unacked, and no more once
/// the connection's unacked deliveries reach `max_unacked_bytes`).
class QueueConsumer {
 public:
  QueueConsumer(Outbox& outbox, AckLedger& ledger, bool manual_ack, std::uint32_t prefetch,
                std::size_t max_unacked_bytes)
      : outbox_(outbox),
        ledger_(ledger),
        max_unacked_bytes_(max_unacked_bytes),
        prefetch_(prefetch),
        manual_ack_(manual_ack) {}

  /// Room in the send queue and, for manual ack, credit left.
  bool can_take() const noexcept;

  /// Hands it one message (the channel checked can_take()).
  void take(const QueuedMessage& queued, QueueChannel& channel);
  /// Hands it a message just published (the channel checked can_take()), encoding it if that is
  /// still to do.
  void take(Publication& message, QueueChannel& channel);

  /// An ACK or NACK settled one of its deliveries.
  void settled() noexcept { --unacked_; }

  /// Leaving: everything it holds, in the order it should go back to the head of the channel:
  /// deliveries written and unacked (each counts a failure), then those never written. Handed
  /// over whole, not message by message.
  ReturnedMessages surrender(const QueueChannel& channel);

  /// The channel it consumes from, set when it subscribes: it outlives its consumers (a channel
  /// with a consumer is never dropped), so a plain reference is safe.
  QueueChannel& channel() const noexcept { return *channel_; }
  /// Its id while subscribed: what its deliveries and unacked entries name it by.
  ConsumerId id() const noexcept { return id_; }
  void bind(QueueChannel& channel, ConsumerId id) noexcept {
    channel_ = &channel;
    id_ = id;
  }

  bool manual_ack() const noexcept { return manual_ack_; }
  std::uint32_t unacked() const noexcept { return unacked_; }

 private:
  Outbox& outbox_;
  AckLedger& ledger_;
  QueueChannel* channel_ = nullptr;
  ConsumerId id_;
  std::size_t max_unacked_bytes_;
  std::uint32_t prefetch_;
  std::uint32_t unacked_ = 0;
  bool manual_ack_;
};

}  // namespace paperboy::broker
