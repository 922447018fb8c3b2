#include "publisher.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <chrono>
#include <cstring>

#include "clock.hpp"
#include "payload.hpp"
#include "use_nothrow.hpp"

namespace paperboy::bench {
namespace {

// A publisher whose window is shut re-checks at least this often, in case a wake-up was missed
// or its receivers died.
constexpr auto window_poll = std::chrono::milliseconds(20);
// Reads of a publisher's connection only carry replies (Redis answers every PUBLISH).
constexpr std::size_t reply_read_size = 64 * 1024;

}  // namespace

Publisher::Publisher(const asio::any_io_executor& executor, RunShared& run, PublisherPlan plan)
    : run_(run),
      plan_(plan),
      connection_(executor, run.protocol->make_parser(), reply_read_size),
      template_(run.protocol->publish_template(run.channel, plan.payload_size)),
      gate_(executor) {
  fill_payload(template_.bytes.data() + template_.payload_offset, plan_.payload_size);
  batch_limit_ = std::max<std::uint64_t>(1, plan_.batch_bytes / template_.bytes.size());
  batch_.resize(batch_limit_ * template_.bytes.size());
}

asio::awaitable<void> Publisher::connect([[maybe_unused]] std::shared_ptr<Publisher> self) {
  const std::string name = "bench-pub-" + std::to_string(plan_.id);
  const std::string greeting = run_.protocol->publisher_greeting(name);
  std::error_code ec = co_await connection_.connect(run_.endpoint);
  if (!ec && !greeting.empty()) ec = co_await connection_.write(greeting);
  if (ec) {
    run_.errors.record(name, "connect: " + ec.message());
    run_.failed_connections.fetch_add(1);
    co_return;
  }
  run_.connected_publishers.fetch_add(1);
  for (;;) {
    ec = co_await connection_.read_some();
    if (ec) break;
    if (!connection_.parse(*this)) {
      run_.errors.record(name, "unparseable bytes from the broker");
      break;
    }
  }
  if (!run_.stopping.load()) run_.errors.record(name, "connection lost: " + ec.message());
}

asio::awaitable<void> Publisher::publish([[maybe_unused]] std::shared_ptr<Publisher> self,
                                         std::uint64_t start_ns) {
  for (;;) {
    if (run_.stopping.load(std::memory_order_relaxed)) break;
    const std::uint64_t now = now_ns();
    if (plan_.count > 0 ? sent_ >= plan_.count : seconds_between(start_ns, now) >= plan_.seconds) {
      break;
    }
    std::uint64_t n = batch_limit_;
    if (plan_.count > 0) n = std::min(n, plan_.count - sent_);
    if (plan_.rate > 0) {
      n = std::min(n, paced_room(start_ns, now));
      if (n == 0) {
        // Early: sleep until the next message is due.
        const auto due = static_cast<std::uint64_t>(static_cast<double>(sent_) / plan_.rate * 1e9);
        gate_.expires_at(
            std::chrono::steady_clock::time_point(std::chrono::nanoseconds(start_ns + due)));
        co_await gate_.async_wait(use_nothrow);
        continue;
      }
    }
    n = std::min(n, window_room());
    if (n == 0) {
      // The window is shut: sleep until a receiver's progress wakes us. Announce the wait
      // first, then look again, so a wake-up between the two is not lost.
      waiting_.store(true);
      if (window_room() > 0) {
        waiting_.store(false);
        continue;
      }
      gate_.expires_after(window_poll);
      co_await gate_.async_wait(use_nothrow);
      waiting_.store(false);
      continue;
    }
    if (!replies_.empty()) {
      replies_sending_.swap(replies_);
      replies_.clear();
      if (auto ec = co_await connection_.write(replies_sending_)) break;
    }
    build_batch(n, now);
    const auto bytes = static_cast<std::size_t>(n) * template_.bytes.size();
    if (auto ec = co_await connection_.write({batch_.data(), bytes})) {
      if (!run_.stopping.load()) {
        run_.errors.record("bench-pub-" + std::to_string(plan_.id), "write: " + ec.message());
      }
      break;
    }
    sent_ += n;
    published_.store(sent_, std::memory_order_release);
  }
  finish(now_ns());
}

std::uint64_t Publisher::paced_room(std::uint64_t start_ns, std::uint64_t now) const {
  // Everything due by now; the first message at once.
  const double elapsed = seconds_between(start_ns, now);
  const auto due = static_cast<std::uint64_t>(elapsed * plan_.rate) + 1;
  return due > sent_ ? due - sent_ : 0;
}

std::uint64_t Publisher::window_room() const {
  const std::uint64_t received = run_.received_from(plan_.id);
  const std::uint64_t in_flight = sent_ > received ? sent_ - received : 0;
  return in_flight < plan_.window ? plan_.window - in_flight : 0;
}

void Publisher::build_batch(std::uint64_t n, std::uint64_t now) {
  // One copy of the template per message, then its stamp: the same work for every protocol.
  const std::size_t frame = template_.bytes.size();
  char* out = batch_.data();
  for (std::uint64_t i = 0; i < n; ++i, out += frame) {
    std::memcpy(out, template_.bytes.data(), frame);
    write_stamp(out + template_.payload_offset,
                Stamp{now, static_cast<std::uint32_t>(sent_ + i), plan_.id});
  }
}

void Publisher::finish(std::uint64_t now) {
  finished_ns_.store(now, std::memory_order_release);
  done_.store(true, std::memory_order_release);
}

void Publisher::wake() {
  if (!waiting_.exchange(false)) return;
  asio::post(gate_.get_executor(), [self = shared_from_this()] { self->gate_.cancel(); });
}

void Publisher::close() {
  gate_.cancel();
  connection_.close();
}

void Publisher::on_error(std::string_view text) {
  run_.errors.record("bench-pub-" + std::to_string(plan_.id), text);
}

}  // namespace paperboy::bench
