#include "subscriber.hpp"

#include "clock.hpp"
#include "payload.hpp"

namespace paperboy::bench {

Subscriber::Subscriber(const asio::any_io_executor& executor, RunShared& run, SubscriberPlan plan)
    : run_(run),
      plan_(std::move(plan)),
      connection_(executor, run.protocol->make_parser(), plan_.read_size),
      tracked_(plan_.channel.queue ? run.queue_trackers : trackers_) {
  if (!plan_.idle) latency_ = std::make_unique<LatencyHistogram>();
  if (!plan_.channel.queue) {
    for (std::size_t i = 0; i < run.publishers.size(); ++i) trackers_.emplace_back(true);
  }
}

std::string Subscriber::name() const {
  return "bench-sub-" + std::to_string(plan_.id);
}

asio::awaitable<void> Subscriber::run([[maybe_unused]] std::shared_ptr<Subscriber> self) {
  std::string hello =
      run_.protocol->greeting(name()) + run_.protocol->subscribe(plan_.channel, plan_.id);
  for (const auto& more : plan_.more_channels) hello += run_.protocol->subscribe(more, plan_.id);
  std::error_code ec = co_await connection_.connect(run_.endpoint);
  if (!ec) ec = co_await connection_.write(hello);
  if (ec) {
    run_.errors.record(name(), "connect: " + ec.message());
    run_.failed_connections.fetch_add(1);
    alive_.store(false);
    co_return;
  }
  if (!run_.protocol->confirms_subscription()) {
    for (std::size_t i = 0; i <= plan_.more_channels.size(); ++i) on_confirm();
  }
  bool garbage = false;
  while (!ec) {
    ec = co_await connection_.read_some();
    if (ec) break;
    batch_now_ = now_ns();
    const std::uint64_t before = count_;
    if (!connection_.parse(*this)) {
      garbage = true;
      break;
    }
    if (!replies_.empty()) ec = co_await flush_replies();
    if (count_ != before) {
      received_.store(count_, std::memory_order_relaxed);
      last_arrival_ns_.store(batch_now_, std::memory_order_relaxed);
      run_.wake_publishers();
    }
    // A stalled consumer stops reading once it is subscribed; the broker keeps sending.
    if (plan_.stalled && confirmed_) co_return;
  }
  // Closed by the run's end is not a disconnection.
  if (!run_.stopping.load()) alive_.store(false);
  if (garbage) {
    run_.errors.record(name(), "unparseable bytes from the broker");
  } else if (!run_.stopping.load()) {
    run_.errors.record(name(), "connection lost: " + ec.message());
  }
  if (!confirmed_) run_.failed_connections.fetch_add(1);
}

asio::awaitable<std::error_code> Subscriber::flush_replies() {
  replies_sending_.swap(replies_);
  replies_.clear();
  co_return co_await connection_.write(replies_sending_);
}

void Subscriber::close() {
  connection_.close();
}

void Subscriber::on_payload(std::string_view payload, std::uint64_t delivery) {
  ++count_;
  // Acked as soon as it is counted, corrupt or not: the ACKs gather with any other replies and
  // go out in one write once the whole read has been parsed.
  if (delivery != 0) run_.protocol->append_ack(replies_, delivery);
  if (plan_.idle) return;
  const auto stamp = read_stamp(payload);
  if (!stamp || stamp->publisher >= tracked_.size()) {
    ++corrupt_;
    return;
  }
  payload_bytes_ += payload.size();
  tracked_[stamp->publisher].record(stamp->seq);
  latency_->record(batch_now_ > stamp->sent_ns ? batch_now_ - stamp->sent_ns : 0);
}

void Subscriber::on_confirm() {
  if (confirmed_ || ++confirmations_ < 1 + plan_.more_channels.size()) return;
  confirmed_ = true;
  run_.confirmed_subscribers.fetch_add(1);
}

void Subscriber::on_error(std::string_view text) {
  run_.errors.record(name(), text);
}

}  // namespace paperboy::bench
