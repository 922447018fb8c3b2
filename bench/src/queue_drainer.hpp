#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "connection.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

/// How a drainer consumes: which queue, with what acknowledgement, and when it is done.
struct DrainPlan {
  std::uint16_t id = 0;
  std::string channel;  ///< full PB1 name, e.g. "/queue/bench.confirm"
  bool manual_ack = false;
  std::uint16_t prefetch = 0;  ///< manual ack: unacked deliveries at once; 0: the broker's
  std::uint64_t* shared_received = nullptr;  ///< counts every drainer's deliveries together
  std::uint64_t target = 0;  ///< close once shared_received reaches this; 0: run until stopped
};

/// One PB1 consumer of a queue that only counts what it gets (and ACKs each delivery when it
/// consumes with manual ack): the far end of the confirm and drain workloads.
class QueueDrainer final : public ServerEvents {
 public:
  QueueDrainer(const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
               DrainPlan plan);

  /// Connects, subscribes and consumes until the target is reached or stop() is called.
  asio::awaitable<void> run();
  void stop();

  bool subscribed() const noexcept { return subscribed_; }
  std::uint64_t received() const noexcept { return received_; }
  std::uint64_t first_ns() const noexcept { return first_ns_; }
  std::uint64_t last_ns() const noexcept { return last_ns_; }
  const std::vector<std::string>& errors() const noexcept { return errors_; }

  // ServerEvents
  void on_payload(std::string_view payload, std::uint64_t delivery) override;
  void on_confirm() override { subscribed_ = true; }
  void on_reply(std::string_view bytes) override { out_.append(bytes); }
  void on_error(std::string_view text) override;
  void on_gap(std::uint64_t) override {}

 private:
  asio::ip::tcp::endpoint endpoint_;
  DrainPlan plan_;
  Connection connection_;
  std::unique_ptr<WireProtocol> protocol_;
  std::string out_;
  bool subscribed_ = false;
  bool stopped_ = false;
  std::uint64_t received_ = 0;
  std::uint64_t first_ns_ = 0;
  std::uint64_t last_ns_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace paperboy::bench
