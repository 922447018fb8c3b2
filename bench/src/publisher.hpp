#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connection.hpp"
#include "run_shared.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

/// How one publisher sends: how many messages or for how long, how fast, in what batches, and
/// how far ahead of its receivers it may run.
struct PublisherPlan {
  std::uint16_t id = 0;
  std::size_t payload_size = 128;
  std::uint64_t count = 0;  ///< 0: publish for `seconds`
  double seconds = 0;
  double rate = 0;  ///< messages per second for this publisher; 0: as fast as the window allows
  std::size_t batch_bytes = 64 * 1024;
  /// Messages sent but not yet received everywhere, at most. It keeps every broker's per-client
  /// buffer far below its limit, so a flat-out run measures delivery, not overflow policy.
  std::uint64_t window = 0;
};

/// One publishing connection: many stamped messages per write, one write at a time.
class Publisher final : public ServerEvents, public std::enable_shared_from_this<Publisher> {
 public:
  Publisher(const asio::any_io_executor& executor, RunShared& run, PublisherPlan plan);

  /// Connects, greets, then reads (and mostly discards) what the broker sends until closed.
  asio::awaitable<void> connect(std::shared_ptr<Publisher> self);
  /// Publishes the plan, starting now; `start_ns` is the run's common start.
  asio::awaitable<void> publish(std::shared_ptr<Publisher> self, std::uint64_t start_ns);

  /// Receivers made progress: wakes the publish loop if it waits on its window. Any thread.
  void wake();
  /// Closes the connection; call on this publisher's executor.
  void close();
  asio::any_io_executor executor() { return connection_.executor(); }

  std::uint64_t published() const noexcept { return published_.load(std::memory_order_acquire); }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  /// When the last batch was written (now_ns clock).
  std::uint64_t finished_ns() const noexcept {
    return finished_ns_.load(std::memory_order_acquire);
  }

  // ServerEvents
  void on_payload(std::string_view, std::uint64_t) override {}
  void on_confirm() override {}
  void on_reply(std::string_view bytes) override { replies_.append(bytes); }
  void on_error(std::string_view text) override;
  void on_gap(std::uint64_t) override {}

 private:
  /// Messages due by `now` and not sent yet (paced runs).
  std::uint64_t paced_room(std::uint64_t start_ns, std::uint64_t now) const;
  /// Messages the flow-control window still lets out.
  std::uint64_t window_room() const;
  void build_batch(std::uint64_t n, std::uint64_t now);
  void finish(std::uint64_t now);

  RunShared& run_;
  PublisherPlan plan_;
  Connection connection_;
  PublishTemplate template_;
  std::vector<char> batch_;
  std::string replies_;
  std::string replies_sending_;
  asio::steady_timer gate_;
  std::uint64_t batch_limit_ = 1;
  std::uint64_t sent_ = 0;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> finished_ns_{0};
  std::atomic<bool> done_{false};
  std::atomic<bool> waiting_{false};
};

}  // namespace paperboy::bench
