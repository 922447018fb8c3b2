#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "connection.hpp"
#include "latency_histogram.hpp"
#include "run_shared.hpp"
#include "sequence_tracker.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

/// How one subscriber behaves.
struct SubscriberPlan {
  std::uint32_t id = 0;
  ChannelSpec channel;
  std::size_t read_size = 256 * 1024;
  /// Subscribes, then never reads again (the slow workload's stalled consumer).
  bool stalled = false;
  /// Tracks nothing per message (idle connections of the conns workload).
  bool idle = false;
  /// Subscribed too, after `channel`; the subscriber counts as confirmed once all are.
  std::vector<ChannelSpec> more_channels;
};

/// One subscribing connection: large reads, every message parsed in place and checked against
/// its stamp (publisher, sequence number, send time).
class Subscriber final : public ServerEvents {
 public:
  Subscriber(const asio::any_io_executor& executor, RunShared& run, SubscriberPlan plan);

  /// Connects, subscribes, waits for the confirmation, then receives until closed.
  asio::awaitable<void> run(std::shared_ptr<Subscriber> self);
  /// Closes the connection; call on this subscriber's executor.
  void close();

  bool alive() const noexcept { return alive_.load(std::memory_order_relaxed); }
  bool confirmed() const noexcept { return confirmed_; }
  /// Different messages of `publisher` received (fan-out), read by publishers' windows.
  std::uint64_t received_from(std::size_t publisher) const {
    return trackers_[publisher].distinct();
  }
  /// Messages received in total, duplicates included; readable from any thread.
  std::uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }
  /// When the last message arrived (now_ns clock), 0 before the first.
  std::uint64_t last_arrival_ns() const noexcept {
    return last_arrival_ns_.load(std::memory_order_relaxed);
  }

  // After the run (same thread, or joined).
  /// Latencies of this subscriber's messages; null for idle subscribers.
  const LatencyHistogram* latency() const noexcept { return latency_.get(); }
  /// This subscriber's own trackers, one per publisher (fan-out); empty for queue consumers.
  const std::deque<SequenceTracker>& trackers() const noexcept { return trackers_; }
  std::uint64_t corrupt() const noexcept { return corrupt_; }
  std::uint64_t gaps() const noexcept { return gaps_; }
  std::uint64_t payload_bytes() const noexcept { return payload_bytes_; }

  // ServerEvents
  void on_payload(std::string_view payload, std::uint64_t delivery) override;
  void on_confirm() override;
  void on_reply(std::string_view bytes) override { replies_.append(bytes); }
  void on_error(std::string_view text) override;
  void on_gap(std::uint64_t lost) override { gaps_ += lost; }

 private:
  std::string name() const;
  asio::awaitable<std::error_code> flush_replies();

  RunShared& run_;
  SubscriberPlan plan_;
  Connection connection_;
  std::unique_ptr<LatencyHistogram> latency_;  ///< 30 KB: not for the conns workload's many
  std::deque<SequenceTracker> trackers_;
  std::deque<SequenceTracker>& tracked_;  ///< trackers_, or the run's shared queue trackers
  std::string replies_;
  std::string replies_sending_;
  std::uint64_t batch_now_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t gaps_ = 0;
  std::uint64_t payload_bytes_ = 0;
  std::size_t confirmations_ = 0;
  bool confirmed_ = false;
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> last_arrival_ns_{0};
  std::atomic<bool> alive_{true};
};

}  // namespace paperboy::bench
