#include "queue_channel.hpp"

#include <algorithm>
#include <type_traits>

#include "latency_histogram.hpp"
#include "memory_gauge.hpp"
#include "message_store.hpp"
#include "paperboy/protocol/channel.hpp"
#include "queue_consumer.hpp"
#include "router.hpp"
#include "storage/journal.hpp"

namespace paperboy::broker {
namespace {

// Shared slabs one backlog may keep alive (16): runs of messages that arrived together wait in
// the slab they were cut from; past this, a waiting message gets an allocation of its own.
constexpr std::size_t backlog_pin_budget = 1024 * 1024;

}  // namespace

QueueChannel::QueueChannel(std::string name, const Config& config, Router& router)
    : name_(std::move(name)),
      config_(config),
      router_(router),
      enrollment_(router.registry().queues, *this),
      backlog_pins_(backlog_pin_budget),
      durable_(router.store().covers(name_)) {}

MessageStore& QueueChannel::store() const noexcept {
  return router_.store();
}

QueueChannel::~QueueChannel() {
  MemoryGauge::remove(backlog_.size() * sizeof(QueuedMessage) + paged_.size() * paged_cost);
}

bool QueueChannel::subscribe(QueueConsumer& consumer) {
  if (std::find(consumers_.begin(), consumers_.end(), &consumer) != consumers_.end()) {
    return false;
  }
  consumers_.push_back(&consumer);
  consumer.bind(*this, router_.registry().consumers.insert(consumer));
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
  router_.registry().consumers.erase(consumer.id());
  return true;
}

// Defined before its callers so that they inline it: it runs once per message.
inline QueueConsumer* QueueChannel::next_consumer(ConsumerId avoid) noexcept {
  // The usual case first: the consumer whose turn it is can take it.
  if (consumers_.empty()) return nullptr;
  if (QueueConsumer* turn = consumers_[next_]; turn->can_take() && turn->id() != avoid) {
    next_ = next_ + 1 == consumers_.size() ? 0 : next_ + 1;
    return turn;
  }
  return scan_for_consumer(avoid);
}

template <class Message>
void QueueChannel::hand(QueueConsumer& consumer, Message&& message) {
  if (delivered_++ % latency_sample_every == 0) {
    std::uint64_t published_at = 0;
    if constexpr (std::is_same_v<std::decay_t<Message>, QueuedMessage>) {
      published_at = frame_published_at(message.message);
    } else {
      published_at = message.published_at();
    }
    router_.time_in_queue().observe_ns(unix_now_ns() - std::int64_t(published_at));
  }
  consumer.take(std::forward<Message>(message), *this);
}

bool QueueChannel::publish(Publication& message) {
  if (durable_) return publish_durable(message);
  if (backlog_.empty() && returning_.empty()) {
    if (QueueConsumer* consumer = next_consumer({})) {
      ++published_;
      hand(*consumer, message);
      return true;
    }
  }
  // Encoded either way: a refused message waits with its publisher, apart from the read buffer.
  const SharedBuffer& frame = message.v2_frame();
  if (full()) drop_expired_head();
  if (full()) return false;
  ++published_;
  enqueue(QueuedMessage{frame, 0, {}, false, message.expires()});
  pump();
  return true;
}

bool QueueChannel::publish_durable(Publication& message) {
  QueueConsumer* consumer =
      backlog_.empty() && returning_.empty() && paged_.empty() ? next_consumer({}) : nullptr;
  if (!consumer && paged_.empty() && full()) drop_expired_head();
  // Kept in the shared slab rather than a consumer's arena: the journal copies it from there.
  const SharedBuffer& frame = message.v2_frame();
  message.stored_in(store().open_batch());
  QueuedMessage queued{
      frame, 0, {}, false, message.expires(), store().enqueue(name_, frame, 0, message.expires())};
  ++published_;
  if (consumer) {
    // Straight to a consumer: auto ack settles it at once, manual ack records the hand-out.
    hand(*consumer, std::move(queued));
    return true;
  }
  // Past the bounds, or behind messages that are, only the journal keeps it.
  if (!paged_.empty() || full()) {
    page_out(queued.stored, frame.size(), 0);
    return true;
  }
  enqueue(std::move(queued));
  pump();
  return true;
}

void QueueChannel::restore(storage::MessageId id, std::string_view frame, std::uint32_t failures,
                           Deadline expires) {
  ++published_;
  if (!paged_.empty() || full()) return page_out(id, frame.size(), failures);
  auto copy = SharedBuffer::allocate(frame.size());
  std::copy(frame.begin(), frame.end(), copy.writable_data());
  enqueue(QueuedMessage{std::move(copy), failures, {}, false, expires, id});
}

void QueueChannel::on_committed() {
  awaiting_commit_ = false;
  pump();
}

void QueueChannel::page_out(storage::MessageId id, std::size_t bytes, std::uint32_t failures) {
  paged_.push_back(Paged{id, static_cast<std::uint32_t>(bytes), failures});
  paged_bytes_ += bytes;
  MemoryGauge::add(paged_cost);
}

QueueChannel::Paged QueueChannel::take_paged_front() {
  const Paged front = paged_.front();
  paged_.pop_front();
  paged_bytes_ -= front.bytes;
  MemoryGauge::remove(paged_cost);
  return front;
}

std::size_t QueueChannel::page_in(std::size_t at_most) {
  storage::Journal& journal = *store().journal();
  std::size_t n = 0;
  for (; n < at_most && !paged_.empty() && !full(); ++n) {
    const storage::ReadBack back = journal.read(paged_.front().id);
    if (back.status == storage::ReadBack::Status::not_yet) {
      if (!awaiting_commit_) router_.pump_after_commit(id());
      awaiting_commit_ = true;
      break;
    }
    const Paged paged = take_paged_front();
    if (back.status != storage::ReadBack::Status::ok) {
      // Unreadable (logged by the journal): lost, and settled so that it stays so.
      if (back.status == storage::ReadBack::Status::unreadable) store().settled(paged.id);
      continue;
    }
    const Deadline expires = MessageStore::deadline_of(back.expires_unix_ms);
    if (expired(expires)) {
      store().settled(paged.id);
      count_expired();
      continue;
    }
    auto frame = SharedBuffer::allocate(back.frame.size());
    std::copy(back.frame.begin(), back.frame.end(), frame.writable_data());
    enqueue(QueuedMessage{
        std::move(frame), std::max(back.failures, paged.failures), {}, false, expires, paged.id});
  }
  return n;
}

void QueueChannel::drop_expired(const QueuedMessage& message) {
  store().settled(message.stored);
  count_expired();
}

void QueueChannel::give_back(ReturnedMessages messages) {
  // Ahead of whatever is still on its way back: a later give-back goes to the head.
  returning_.prepend(std::move(messages));
  // A NACK's one message goes back at once; more waits for a turn of bulk work, so a
  // connection leaving thousands of channels costs one visit to each now. At shutdown nothing
  // goes back: bulk work discards it, as it would be a moment later anyway.
  if (returning_.size() > 1 || router_.discarding()) return continue_later();
  return_slice(1);
  pump();
}

std::size_t QueueChannel::return_slice(std::size_t at_most) {
  // From the back, each to the head: the first given back ends up first.
  std::size_t n = 0;
  for (; n < at_most && !returning_.empty(); ++n) {
    QueuedMessage queued = returning_.take_back();
    if (expired(queued.expires)) {
      drop_expired(queued);
      continue;
    }
    // The letter is recorded in its own channel's journal entries if that one is durable.
    const bool dead = queued.failures > config_.max_redeliveries && dead_letters_allowed() &&
                      router_.dead_letter(*this, queued.message, queued.failures);
    if (dead) {
      store().settled(queued.stored);
      ++dead_lettered_;
      continue;
    }
    // An auto-ack delivery that went unsent was settled when handed out: recorded anew.
    if (durable_ && queued.stored == 0) {
      queued.stored = store().enqueue(name_, queued.message, queued.failures, queued.expires);
    }
    backlog_bytes_ += queued.message.size();
    queued.message = queued.message.compacted();
    queued.starts_run = false;
    MemoryGauge::add(sizeof(QueuedMessage));
    backlog_.push_front(std::move(queued));
  }
  return n;
}

void QueueChannel::continue_later() {
  if (scheduled_) return;
  scheduled_ = true;
  // By id: a continuation that finds its channel gone does nothing.
  router_.bulk_work().add([&router = router_, id = id()](std::size_t budget) {
    QueueChannel* channel = router.find(id);
    return channel ? channel->continue_work(budget) : BulkWork::Progress{0, true};
  });
}

BulkWork::Progress QueueChannel::continue_work(std::size_t budget) {
  if (router_.discarding()) {
    const std::size_t dropped = discard(budget);
    scheduled_ = dropped == budget;
    return {dropped, !scheduled_};
  }
  std::size_t moved = return_slice(budget);
  if (!returning_.empty()) return {moved, false};
  bool cut = false;
  moved += pump_up_to(budget - moved, cut);
  if (cut) return {moved, false};
  scheduled_ = false;
  // A give-back whose messages all went to the dead-letter channel may leave this one unused;
  // dropping it ends this call, so nothing may follow.
  if (consumers_.empty()) router_.release_if_idle(*this);
  return {moved, true};
}

std::size_t QueueChannel::discard(std::size_t at_most) {
  std::size_t n = 0;
  auto count = [this](const QueuedMessage& queued) {
    ++discarded_.messages;
    discarded_.bytes += queued.message.size();
    if (queued.failures > 0) ++discarded_.delivered_before;
  };
  for (; n < at_most && !returning_.empty(); ++n) count(returning_.take_back());
  for (; n < at_most && !backlog_.empty(); ++n) count(dequeue());
  for (; n < at_most && !paged_.empty(); ++n) {
    const Paged paged = take_paged_front();
    ++discarded_.messages;
    discarded_.bytes += paged.bytes;
    if (paged.failures > 0) ++discarded_.delivered_before;
  }
  return n;
}

bool QueueChannel::dead_letters_allowed() const noexcept {
  const std::string& suffix = config_.dead_letter_suffix;
  return !suffix.empty() && !name_.ends_with(suffix);
}

void QueueChannel::pump() {
  bool cut = false;
  pump_up_to(work_slice, cut);
  if (cut) continue_later();
}

std::size_t QueueChannel::pump_up_to(std::size_t at_most, bool& cut) {
  // Nothing passes messages still on their way back to the head.
  if (!returning_.empty()) return 0;
  std::size_t n = 0;
  for (;; ++n) {
    // A durable channel's paged messages come in as its backlog empties (all expired: read on).
    while (backlog_.empty()) {
      if (paged_.empty() || page_in(work_slice) == 0) break;
    }
    if (backlog_.empty()) break;
    if (n == at_most) {
      cut = true;
      break;
    }
    if (expired(backlog_.front().expires)) {
      drop_expired(dequeue());
      continue;
    }
    QueueConsumer* consumer = next_consumer(backlog_.front().avoid);
    if (!consumer) break;
    hand(*consumer, dequeue());
  }
  if (!full()) wake_waiters();
  return n;
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

QueueConsumer* QueueChannel::scan_for_consumer(ConsumerId avoid) noexcept {
  // Round-robin over those that can take a message; the consumer that just gave this message
  // back gets it again only when nobody else can.
  // next_ < n whenever there are consumers (unsubscribe keeps it so).
  const std::size_t n = consumers_.size();
  const auto after = [n](std::size_t k) { return k + 1 == n ? 0 : k + 1; };
  QueueConsumer* fallback = nullptr;
  std::size_t fallback_index = 0;
  std::size_t k = next_;
  for (std::size_t i = 0; i < n; ++i, k = after(k)) {
    QueueConsumer* consumer = consumers_[k];
    if (!consumer->can_take()) continue;
    if (consumer->id() == avoid) {
      if (!fallback) {
        fallback = consumer;
        fallback_index = k;
      }
      continue;
    }
    next_ = after(k);
    return consumer;
  }
  if (fallback) next_ = after(fallback_index);
  return fallback;
}

void QueueChannel::enqueue(QueuedMessage message) {
  // A message in a backlog may wait long: it must not pin a slab of its own. Runs that arrived
  // together (the usual state of a queue whose consumers are at their prefetch) share theirs
  // and skip the copy, within a small budget of slabs.
  message.starts_run = backlog_pins_.join(message.message);
  backlog_bytes_ += message.message.size();
  MemoryGauge::add(sizeof(QueuedMessage));
  backlog_.push_back(std::move(message));
}

QueuedMessage QueueChannel::dequeue() {
  QueuedMessage& front = backlog_.front();
  QueuedMessage* next = backlog_.size() > 1 ? &backlog_[1] : nullptr;
  if (backlog_pins_.leave_front(front.starts_run, front.message, next ? &next->message : nullptr)) {
    next->starts_run = true;
  }
  QueuedMessage queued = std::move(front);
  backlog_.pop_front();
  backlog_bytes_ -= queued.message.size();
  MemoryGauge::remove(sizeof(QueuedMessage));
  return queued;
}

void QueueChannel::drop_expired_head() {
  while (returning_.empty() && !backlog_.empty() && expired(backlog_.front().expires)) {
    drop_expired(dequeue());
  }
}

void QueueChannel::count_expired() {
  ++expired_total_;
  router_.count_expired(*this);
}

void QueueChannel::wake_waiters() {
  // A woken publisher may publish again and wait again; hand it a fresh list to join.
  auto woken = std::move(waiters_);
  waiters_.clear();
  for (RoomWaiter* waiter : woken) waiter->on_channel_room();
}

ChannelSnapshot QueueChannel::describe() const {
  ChannelSnapshot described;
  described.name = name_;
  described.kind = ChannelSnapshot::Kind::queue;
  described.published = published_;
  described.delivered = delivered_;
  described.expired = expired_total_;
  described.dead_lettered = dead_lettered_;
  described.backlog_messages = backlog_size();
  described.backlog_bytes = backlog_bytes();
  described.consumers = consumers_.size();
  described.durable = durable_;
  for (const QueueConsumer* consumer : consumers_) described.unacked += consumer->unacked();
  described.blocked_publishers = waiters_.size();
  // The backlog's head; messages still on their way back to it (a give-back) are not looked at.
  if (!backlog_.empty()) {
    const auto published_at = std::int64_t(frame_published_at(backlog_.front().message));
    described.oldest_age_seconds = std::max(0.0, double(unix_now_ns() - published_at) / 1e9);
  }
  return described;
}

std::uint64_t QueueChannel::purge() {
  const std::uint64_t purged = backlog_size();
  while (!returning_.empty()) store().settled(returning_.take_back().stored);
  while (!backlog_.empty()) store().settled(dequeue().stored);
  while (!paged_.empty()) store().settled(take_paged_front().id);
  wake_waiters();
  return purged;
}

}  // namespace paperboy::broker
