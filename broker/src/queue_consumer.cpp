#include "queue_consumer.hpp"

#include "ack_ledger.hpp"
#include "message_store.hpp"
#include "outbox.hpp"
#include "queue_channel.hpp"

namespace paperboy::broker {

bool QueueConsumer::can_take() const noexcept {
  return outbox_.has_room() &&
         (!manual_ack_ || (unacked_ < prefetch_ && ledger_.bytes() < max_unacked_bytes_));
}

void QueueConsumer::take(const QueuedMessage& queued, QueueChannel& channel) {
  std::uint64_t id = 0;
  if (manual_ack_) {
    id = ledger_.record(queued.message, queued.failures, id_, queued.expires, queued.stored);
    channel.store().delivered(queued.stored);
    ++unacked_;
    // At the bound, what the ledger holds may still be counted as whole slabs: copy it out
    // before turning the consumer away.
    if (ledger_.bytes() >= max_unacked_bytes_) ledger_.compact();
  } else {
    // Auto ack: handed to the send queue counts as delivered (RabbitMQ's rule too).
    channel.store().settled(queued.stored);
  }
  outbox_.push_queued(queued, channel.id(), id);
}

void QueueConsumer::take(Publication& message, QueueChannel& channel) {
  // An auto-ack delivery is sent by nobody else: encoded in this consumer's arena, round robin
  // leaves each consumer a contiguous run (one writev segment) instead of every n-th message of
  // the read batch's slabs.
  if (manual_ack_)
    return take(QueuedMessage{message.v2_frame(), 0, {}, false, message.expires()}, channel);
  const SharedBuffer& frame = message.v2_frame(outbox_.arena());
  if (outbox_.dialect() == Dialect::pb1_v2) {
    // The common case sends the frame as it is, with no message record to build.
    return outbox_.push_first_delivery(frame, channel.id(), message.expires());
  }
  take(QueuedMessage{frame, 0, {}, false, message.expires()}, channel);
}

ReturnedMessages QueueConsumer::surrender(const QueueChannel& channel) {
  auto unsent = outbox_.take_unsent(channel.id());
  ReturnedMessages back;
  if (manual_ack_) {
    // What never reached the socket was not really delivered: it goes back as unsent, as the
    // ledger has it (with its journal id).
    std::vector<QueuedMessage> never_sent;
    never_sent.reserve(unsent.size());
    for (const Delivery& d : unsent) {
      if (auto entry = ledger_.take(d.delivery_id)) {
        never_sent.push_back({std::move(entry->message), entry->failures, {}, false,
                              entry->expires, entry->stored});
      }
    }
    back.append(ledger_.take_all(id_));
    back.append(std::move(never_sent));
    unacked_ = 0;
    return back;
  }
  back.append(std::move(unsent));
  return back;
}

}  // namespace paperboy::broker
