#include "outbox.hpp"

#include <algorithm>

#include "paperboy/protocol/msg_layout.hpp"
#include "topic_channel.hpp"
#include "transport.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

Outbox::Outbox(const asio::any_io_executor& executor, const Config& config, Traffic& traffic)
    : queue_(config.client_queue_bytes / 2),
      wake_timer_(executor, asio::steady_timer::time_point::max()),
      traffic_(traffic),
      cap_(config.client_queue_bytes),
      policy_(config.slow_consumer) {}

void Outbox::push(Delivery d) {
  queue_.push(std::move(d));
  if (full() || backed_up()) was_full_ = true;
  wake();
}

void Outbox::push_queued(const QueuedMessage& queued, QueueId origin, std::uint64_t delivery_id) {
  queue_.push_with(
      [&](Delivery& d) { fill_queue_delivery(d, queued, dialect_, origin, delivery_id); });
  count_message([&] { return frame_published_at(queued.message); });
  if (reply_tos_) remember_reply_to_of(queued.message);
  if (full()) was_full_ = true;
  wake();
}

void Outbox::push_first_delivery(const SharedBuffer& frame, QueueId origin, Deadline expires) {
  queue_.push_with([&](Delivery& d) { fill_first_delivery(d, frame, origin, expires); });
  count_message([&] { return frame_published_at(frame); });
  if (reply_tos_) remember_reply_to_of(frame);
  if (full()) was_full_ = true;
  wake();
}

void Outbox::remember_reply_to_of(const SharedBuffer& frame) {
  const auto layout = protocol::written_msg_v2_layout(frame.view());
  const std::string_view reply_to =
      layout.reply_to_in(frame.view().substr(protocol::frame_header_size));
  if (!reply_to.empty()) reply_tos_->remember(reply_to);
}

void Outbox::offer_topic(Publication& message, TopicChannel& channel, std::uint64_t fan_out) {
  if (!accepting_) return;
  if (fan_out != 0) {
    if (fan_out == last_fan_out_) return;  // it came through another channel already
    last_fan_out_ = fan_out;
  }
  if (full()) {
    channel.count_drop();
    traffic_.drops.record(message.channel());
    ++dropped_total_;
    if (policy_ == SlowConsumerPolicy::disconnect) {
      accepting_ = false;
      if (on_overflow_) on_overflow_();
    } else if (dialect_ != Dialect::pb0) {
      owe_gap(channel, message.channel());
    }
    return;
  }
  // Filled in place: the per-subscriber step of a fan-out is a refcount and a few stores.
  queue_.push_with([&](Delivery& d) { fill_topic_delivery(d, message, dialect_); });
  count_message([&] { return message.published_at(); });
  if (reply_tos_ && !message.reply_to().empty()) reply_tos_->remember(message.reply_to());
  channel.count_delivery();
  if (full()) was_full_ = true;
  wake();
}

void Outbox::owe_gap(TopicChannel& channel, std::string_view published) {
  for (auto& gap : gaps_) {
    if (gap.channel == channel.id() && gap.name == published) {
      ++gap.dropped;
      return;
    }
  }
  if (gaps_.size() >= max_named_gaps && published != channel.name()) {
    return owe_gap(channel, channel.name());
  }
  gaps_.push_back({channel.id(), std::string(published), 1});
  channel.count_gap();
}

void Outbox::report_gaps() {
  // A GAP goes out as soon as there is room again, so the subscriber learns of its loss before
  // any later message on that channel, and even if no later message ever comes.
  for (const auto& gap : gaps_) {
    push(control_frame(protocol::Gap{gap.dropped, gap.name}));
  }
  gaps_.clear();
}

void Outbox::forget(TopicId channel) noexcept {
  std::erase_if(gaps_, [&](const PendingGap& gap) { return gap.channel == channel; });
}

std::vector<Delivery> Outbox::take_unsent(QueueId channel) {
  std::vector<Delivery> unsent;
  // A half-written delivery must still be finished on the wire, and belongs to no consumer any
  // more (a new one of this channel must not take it back again). An auto-ack one is in no
  // ledger: should the connection die before it is finished, abandon_partial_write hands it back.
  if (front_written_ > 0 && queue_.front().origin == channel) {
    if (queue_.front().delivery_id == 0) stranded_origin_ = channel;
    queue_.front().origin = {};
  }
  if (set_aside_done_) {
    const auto it = set_aside_.find(channel);
    if (it != set_aside_.end()) {
      unsent = std::move(it->second);
      set_aside_.erase(it);
    }
    return unsent;
  }
  forget_sample();
  queue_.extract(
      first_unsent(), [&](const Delivery& d) { return d.origin == channel; },
      [&](Delivery&& d) { unsent.push_back(std::move(d)); });
  note_room();
  return unsent;
}

void Outbox::set_aside_unsent() {
  if (set_aside_done_) return;
  set_aside_done_ = true;
  forget_sample();
  queue_.extract(
      first_unsent(), [](const Delivery& d) { return bool(d.origin); },
      [&](Delivery&& d) { set_aside_[d.origin].push_back(std::move(d)); });
  note_room();
}

void Outbox::discard_unsent() {
  forget_sample();
  queue_.extract(
      first_unsent(), [](const Delivery&) { return true; }, [](Delivery&&) {});
  note_room();
}

std::error_code Outbox::flush_to(Transport& transport) noexcept {
  std::error_code error;
  // A transport may hold bytes it took and has yet to send (TLS): those go out even once the
  // queue is empty.
  while (!queue_.empty() || transport.output_pending()) {
    const auto result = transport.write_gathered(queue_, front_written_);
    if (result.error) {
      error = result.error;
      break;
    }
    const std::size_t written = result.bytes;
    traffic_.bytes_out += written;
    bytes_written_ += written;
    // Pop what went out whole; a partly written front entry stays, remembered by offset.
    std::size_t left = written + front_written_;
    std::size_t done = 0;
    while (done < queue_.size() && left >= queue_.at(done).wire_size()) {
      left -= queue_.at(done).wire_size();
      ++done;
    }
    queue_.pop(done);
    if (done > 0) stranded_origin_ = {};
    front_written_ = left;
  }
  if (sampled_position_ != 0) observe_written();
  note_room();
  return error;
}

void Outbox::observe_written() noexcept {
  // Only writes pop (an extraction from the middle drops the sample).
  if (queue_.popped() < sampled_position_) return;
  sampled_position_ = 0;
  traffic_.publish_to_write.observe_ns(unix_now_ns() - std::int64_t(sampled_published_at_));
}

void Outbox::note_room() {
  if (!was_full_ || full() || backed_up() || !accepting_) return;
  was_full_ = false;
  room_regained_ = true;
  report_gaps();
  wake();
}

std::optional<Outbox::Stranded> Outbox::abandon_partial_write() {
  std::optional<Stranded> stranded;
  if (front_written_ > 0 && stranded_origin_) {
    Delivery& front = queue_.front();
    stranded = Stranded{stranded_origin_,
                        QueuedMessage{front.buffer, front.failures, {}, false, front.expires}};
    queue_.pop(1);
  }
  stranded_origin_ = {};
  front_written_ = 0;
  return stranded;
}

bool Outbox::take_room_regained() noexcept {
  return std::exchange(room_regained_, false);
}

asio::awaitable<void> Outbox::wait() {
  writer_waiting_ = true;
  co_await wake_timer_.async_wait(use_nothrow);
  writer_waiting_ = false;
}

void Outbox::wake() noexcept {
  if (writer_waiting_) wake_timer_.cancel();
}

}  // namespace paperboy::broker
