#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connection.hpp"
#include "latency_histogram.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

/// What one confirmed publisher sends: PUBs with a req, at most `window` of them unconfirmed.
struct ConfirmPlan {
  std::uint16_t id = 0;
  std::string channel;  ///< full PB1 name, e.g. "/queue/bench.confirm"
  std::size_t payload_size = 128;
  std::uint64_t count = 0;  ///< 0: publish for `seconds`
  double seconds = 0;
  double rate = 0;  ///< messages per second for this publisher; 0: as fast as the window allows
  std::uint32_t window = 1000;
  std::size_t batch_bytes = 64 * 1024;
  double confirm_timeout = 30;  ///< after publishing, wait this long for the last OKs
};

/// What a confirmed publisher saw.
struct ConfirmTally {
  std::uint64_t sent = 0;
  std::uint64_t confirmed = 0;
  std::uint64_t refused = 0;  ///< ERR answers to a PUB (ERR 12 when the disk refuses)
  std::uint64_t first_send_ns = 0;
  std::uint64_t last_confirm_ns = 0;
  LatencyHistogram latency;  ///< from the write of a PUB to its OK
  std::vector<std::string> errors;
};

/// One PB1 connection publishing with publisher confirms: every PUB carries a req, the broker's
/// OK(req) confirms it (for a durable queue: once it is on disk), and the publisher keeps up to
/// `window` PUBs unconfirmed, as RabbitMQ's confirm-mode publishers do.
class ConfirmPublisher final : public ServerEvents {
 public:
  ConfirmPublisher(const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
                   ConfirmPlan plan);

  /// Connects, publishes the plan from `start_ns` on and waits for the outstanding OKs.
  asio::awaitable<void> run(std::uint64_t start_ns);
  const ConfirmTally& tally() const noexcept { return tally_; }

  // ServerEvents
  void on_payload(std::string_view, std::uint64_t) override {}
  void on_confirm() override {}
  void on_reply(std::string_view bytes) override { replies_.append(bytes); }
  void on_error(std::string_view text) override;
  void on_gap(std::uint64_t) override {}
  void on_ok(std::uint32_t req) override;
  void on_err(std::uint32_t req, std::uint16_t code, std::string_view text) override;

 private:
  asio::awaitable<void> read_loop();
  std::uint64_t room(std::uint64_t start_ns, std::uint64_t now) const;
  std::chrono::nanoseconds next_due(std::uint64_t start_ns, std::uint64_t now) const;
  void build_batch(std::uint64_t n, std::uint64_t now);
  void settle(std::uint32_t req, std::uint64_t now);
  asio::awaitable<void> wait_for_progress(std::chrono::nanoseconds longest);

  asio::ip::tcp::endpoint endpoint_;
  ConfirmPlan plan_;
  Connection connection_;
  asio::steady_timer gate_;
  std::string template_;
  std::size_t req_offset_ = 0;
  std::vector<char> batch_;
  std::uint64_t batch_limit_ = 1;
  std::vector<std::uint64_t> sent_ns_;  ///< by req, modulo its size (a power of two >= 2 window)
  std::string replies_;
  std::uint64_t in_flight_ = 0;
  bool waiting_ = false;
  bool closed_ = false;
  ConfirmTally tally_;
};

}  // namespace paperboy::bench
