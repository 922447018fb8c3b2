#include "queue_drainer.hpp"

#include "clock.hpp"

namespace paperboy::bench {
namespace {

constexpr std::size_t read_size = 256 * 1024;

}  // namespace

QueueDrainer::QueueDrainer(const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
                           DrainPlan plan)
    : endpoint_(endpoint),
      plan_(std::move(plan)),
      connection_(executor, make_pb1_protocol(1)->make_parser(), read_size),
      protocol_(make_pb1_protocol(1)) {}

asio::awaitable<void> QueueDrainer::run() {
  const std::string name = "bench-drain-" + std::to_string(plan_.id);
  ChannelSpec channel{plan_.channel, true, plan_.manual_ack, plan_.prefetch};
  // The protocol prefixes /queue/ itself.
  channel.name = plan_.channel.substr(plan_.channel.find('/', 1) + 1);
  std::string hello = protocol_->greeting(name) + protocol_->subscribe(channel, plan_.id);
  std::error_code ec = co_await connection_.connect(endpoint_);
  if (!ec) ec = co_await connection_.write(hello);
  if (ec) {
    errors_.push_back("connect: " + ec.message());
    co_return;
  }
  while (!stopped_) {
    ec = co_await connection_.read_some();
    if (ec) break;
    if (!connection_.parse(*this)) {
      errors_.push_back("unparseable bytes from the broker");
      break;
    }
    if (!out_.empty()) {
      const std::string acks = std::exchange(out_, {});
      ec = co_await connection_.write(acks);
      if (ec) break;
    }
    if (plan_.target > 0 && *plan_.shared_received >= plan_.target) stopped_ = true;
  }
  if (ec && !stopped_) errors_.push_back("connection lost: " + ec.message());
  connection_.close();
}

void QueueDrainer::stop() {
  stopped_ = true;
  connection_.close();
}

void QueueDrainer::on_payload(std::string_view, std::uint64_t delivery) {
  const std::uint64_t now = now_ns();
  if (received_ == 0) first_ns_ = now;
  last_ns_ = now;
  ++received_;
  if (plan_.shared_received != nullptr) ++*plan_.shared_received;
  if (plan_.manual_ack && delivery != 0) protocol_->append_ack(out_, delivery);
}

void QueueDrainer::on_error(std::string_view text) {
  if (errors_.size() < 5) errors_.emplace_back(text);
}

}  // namespace paperboy::bench
