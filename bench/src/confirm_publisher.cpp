#include "confirm_publisher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <bit>
#include <cstring>

#include "clock.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payload.hpp"
#include "use_nothrow.hpp"

namespace paperboy::bench {
namespace {

namespace pb = paperboy::protocol;

constexpr std::size_t read_size = 64 * 1024;
// A publisher whose window is shut looks again at least this often, in case the broker died.
constexpr auto window_poll = std::chrono::milliseconds(20);

void write_req(char* at, std::uint32_t req) noexcept {
  // PB1 integers are big-endian.
  const std::uint8_t bytes[4] = {
      static_cast<std::uint8_t>(req >> 24), static_cast<std::uint8_t>(req >> 16),
      static_cast<std::uint8_t>(req >> 8), static_cast<std::uint8_t>(req)};
  std::memcpy(at, bytes, sizeof bytes);
}

}  // namespace

ConfirmPublisher::ConfirmPublisher(const asio::any_io_executor& executor,
                                   asio::ip::tcp::endpoint endpoint, ConfirmPlan plan)
    : endpoint_(endpoint),
      plan_(std::move(plan)),
      connection_(executor, make_pb1_protocol(1)->make_parser(), read_size),
      gate_(executor),
      sent_ns_(std::bit_ceil(std::uint64_t{2} * std::max<std::uint32_t>(plan_.window, 1))) {
  const std::string payload(plan_.payload_size, '\0');
  // The req field is where two encodings that differ only in their req differ.
  template_ = pb::encode_frame(pb::Pub{0, plan_.channel, {}, payload});
  const std::string other = pb::encode_frame(pb::Pub{0xffffffff, plan_.channel, {}, payload});
  req_offset_ = static_cast<std::size_t>(
      std::mismatch(template_.begin(), template_.end(), other.begin()).first - template_.begin());
  fill_payload(template_.data() + template_.size() - plan_.payload_size, plan_.payload_size);
  batch_limit_ = std::max<std::uint64_t>(1, plan_.batch_bytes / template_.size());
  batch_.resize(batch_limit_ * template_.size());
}

asio::awaitable<void> ConfirmPublisher::run(std::uint64_t start_ns) {
  const std::string name = "bench-confirm-" + std::to_string(plan_.id);
  std::error_code ec = co_await connection_.connect(endpoint_);
  if (!ec) ec = co_await connection_.write(pb::encode_frame(pb::Hello{pb::pb1_version, name, {}}));
  if (ec) {
    tally_.errors.push_back("connect: " + ec.message());
    co_return;
  }
  asio::co_spawn(connection_.executor(), read_loop(), asio::detached);
  tally_.first_send_ns = now_ns();
  for (;;) {
    if (closed_) break;
    const std::uint64_t now = now_ns();
    if (plan_.count > 0 ? tally_.sent >= plan_.count
                        : seconds_between(start_ns, now) >= plan_.seconds) {
      break;
    }
    const std::uint64_t n = room(start_ns, now);
    if (n == 0) {
      co_await wait_for_progress(next_due(start_ns, now));
      continue;
    }
    if (!replies_.empty()) {
      const std::string replies = std::exchange(replies_, {});
      if (co_await connection_.write(replies)) break;
    }
    build_batch(n, now);
    if (auto write_ec = co_await connection_.write({batch_.data(), n * template_.size()})) {
      tally_.errors.push_back("write: " + write_ec.message());
      break;
    }
  }
  const auto give_up = now_ns() + static_cast<std::uint64_t>(plan_.confirm_timeout * 1e9);
  while (in_flight_ > 0 && !closed_ && now_ns() < give_up) {
    co_await wait_for_progress(window_poll);
  }
  if (in_flight_ > 0) {
    tally_.errors.push_back(fmt::format("{} PUBs never confirmed", in_flight_));
  }
  closed_ = true;
  connection_.close();
}

asio::awaitable<void> ConfirmPublisher::read_loop() {
  for (;;) {
    if (auto ec = co_await connection_.read_some()) {
      if (!closed_) tally_.errors.push_back("connection lost: " + ec.message());
      break;
    }
    if (!connection_.parse(*this)) {
      tally_.errors.push_back("unparseable bytes from the broker");
      break;
    }
  }
  closed_ = true;
  gate_.cancel();
}

asio::awaitable<void> ConfirmPublisher::wait_for_progress(std::chrono::nanoseconds longest) {
  waiting_ = true;
  gate_.expires_after(longest);
  co_await gate_.async_wait(use_nothrow);
  waiting_ = false;
}

std::chrono::nanoseconds ConfirmPublisher::next_due(std::uint64_t start_ns,
                                                    std::uint64_t now) const {
  // Window shut: until an OK wakes us. Paced and early: until the next message is due.
  if (plan_.rate <= 0 || in_flight_ >= plan_.window) return window_poll;
  const auto due =
      start_ns + static_cast<std::uint64_t>(static_cast<double>(tally_.sent) / plan_.rate * 1e9);
  return std::min<std::chrono::nanoseconds>(window_poll,
                                            std::chrono::nanoseconds(due > now ? due - now : 0));
}

std::uint64_t ConfirmPublisher::room(std::uint64_t start_ns, std::uint64_t now) const {
  std::uint64_t n = std::min<std::uint64_t>(
      batch_limit_, plan_.window - std::min<std::uint64_t>(in_flight_, plan_.window));
  if (plan_.count > 0) n = std::min(n, plan_.count - tally_.sent);
  if (plan_.rate > 0) {
    // Everything due by now; the first message at once.
    const auto due = static_cast<std::uint64_t>(seconds_between(start_ns, now) * plan_.rate) + 1;
    n = std::min(n, due > tally_.sent ? due - tally_.sent : 0);
  }
  return n;
}

void ConfirmPublisher::build_batch(std::uint64_t n, std::uint64_t now) {
  const std::size_t frame = template_.size();
  const std::uint64_t mask = sent_ns_.size() - 1;
  char* out = batch_.data();
  for (std::uint64_t i = 0; i < n; ++i, out += frame) {
    // req 0 asks for no OK, so reqs run 1, 2, ... (wrapping past 2^32 - 1 skips 0).
    std::uint32_t req = static_cast<std::uint32_t>(tally_.sent + 1);
    if (req == 0) req = 1;
    std::memcpy(out, template_.data(), frame);
    write_req(out + req_offset_, req);
    write_stamp(out + frame - plan_.payload_size,
                Stamp{now, static_cast<std::uint32_t>(tally_.sent), plan_.id});
    sent_ns_[req & mask] = now;
    ++tally_.sent;
  }
  in_flight_ += n;
}

void ConfirmPublisher::settle(std::uint32_t req, std::uint64_t now) {
  if (req == 0 || in_flight_ == 0) return;
  --in_flight_;
  tally_.last_confirm_ns = now;
  if (waiting_) gate_.cancel();
}

void ConfirmPublisher::on_ok(std::uint32_t req) {
  const std::uint64_t now = now_ns();
  const std::uint64_t sent = sent_ns_[req & (sent_ns_.size() - 1)];
  if (req != 0 && in_flight_ > 0) {
    ++tally_.confirmed;
    tally_.latency.record(now > sent ? now - sent : 0);
  }
  settle(req, now);
}

void ConfirmPublisher::on_err(std::uint32_t req, std::uint16_t code, std::string_view text) {
  if (req != 0) ++tally_.refused;
  if (tally_.errors.size() < 5) {
    tally_.errors.push_back(fmt::format("ERR req={} code={} {}", req, code, text));
  }
  settle(req, now_ns());
}

void ConfirmPublisher::on_error(std::string_view text) {
  if (tally_.errors.size() < 5) tally_.errors.emplace_back(text);
}

}  // namespace paperboy::bench
