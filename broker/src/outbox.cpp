#include "outbox.hpp"

#include <algorithm>

#include "queue_channel.hpp"
#include "topic_channel.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

Outbox::Outbox(const asio::any_io_executor& executor, const Config& config, DropLog& drop_log)
    : wake_timer_(executor, asio::steady_timer::time_point::max()),
      drop_log_(drop_log),
      cap_(config.client_queue_bytes),
      policy_(config.slow_consumer) {}

void Outbox::push(Delivery d) {
  queue_.push(std::move(d));
  if (queue_.bytes() >= cap_) was_full_ = true;
  wake();
}

void Outbox::offer_topic(const SharedBuffer& message, TopicChannel& channel) {
  if (!accepting_) return;
  if (queue_.bytes() >= cap_) {
    channel.count_drop();
    drop_log_.record(channel.name());
    ++dropped_total_;
    if (policy_ == SlowConsumerPolicy::disconnect) {
      accepting_ = false;
      if (on_overflow_) on_overflow_();
    } else if (dialect_ == Dialect::pb1) {
      owe_gap(channel);
    }
    return;
  }
  push(deliver_message(message, dialect_));
}

void Outbox::take_queue(const SharedBuffer& message, QueueChannel& channel) {
  push(deliver_message(message, dialect_, &channel));
}

void Outbox::owe_gap(const TopicChannel& channel) {
  for (auto& gap : gaps_) {
    if (gap.channel == &channel) {
      ++gap.dropped;
      return;
    }
  }
  gaps_.push_back({&channel, 1});
}

void Outbox::report_gaps() {
  // A GAP goes out as soon as there is room again, so the subscriber learns of its loss before
  // any later message on that channel, and even if no later message ever comes.
  for (const auto& gap : gaps_) {
    push(control_frame(protocol::Gap{gap.dropped, gap.channel->name()}));
  }
  gaps_.clear();
}

void Outbox::forget(const TopicChannel& channel) noexcept {
  std::erase_if(gaps_, [&](const PendingGap& gap) { return gap.channel == &channel; });
}

std::vector<SharedBuffer> Outbox::take_unsent(const QueueChannel& channel) {
  std::vector<SharedBuffer> unsent;
  queue_.extract(
      in_flight_, [&](const Delivery& d) { return d.origin == &channel; },
      [&](Delivery&& d) { unsent.push_back(std::move(d.buffer)); });
  return unsent;
}

void Outbox::discard_unsent() noexcept {
  queue_.extract(
      in_flight_, [](const Delivery&) { return true; }, [](Delivery&&) {});
}

bool Outbox::end_write() noexcept {
  queue_.pop(in_flight_);
  in_flight_ = 0;
  if (!was_full_ || queue_.bytes() >= cap_ || !accepting_) return false;
  was_full_ = false;
  report_gaps();
  return true;
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
