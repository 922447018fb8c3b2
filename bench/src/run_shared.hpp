#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sequence_tracker.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {

class Publisher;
class Subscriber;

/// Collects the first few error messages of a run from any thread, and counts them all.
class ErrorLog {
 public:
  void record(std::string_view who, std::string_view text);
  std::vector<std::string> first() const;
  std::size_t count() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> first_;
  std::size_t count_ = 0;
};

/// What the publishers, subscribers and the controller of one run share. Fixed before anything
/// starts, except the atomics; publishers and subscribers may run on different threads.
struct RunShared {
  const WireProtocol* protocol = nullptr;
  asio::ip::tcp::endpoint endpoint;
  ChannelSpec channel;

  std::vector<std::shared_ptr<Publisher>> publishers;
  /// Active subscribers first (they must receive everything), then the stalled ones.
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  std::size_t active_subscribers = 0;
  /// Queue workload: one tracker per publisher, shared by all consumers (they run on one thread).
  std::deque<SequenceTracker> queue_trackers;

  std::atomic<std::size_t> connected_publishers{0};
  std::atomic<std::size_t> confirmed_subscribers{0};
  std::atomic<std::size_t> failed_connections{0};
  std::atomic<bool> stopping{false};
  ErrorLog errors;

  /// Messages of `publisher` that have reached every receiver they were meant for: the least any
  /// live active subscriber has seen (fan-out), or what the consumers have seen together (queue).
  std::uint64_t received_from(std::size_t publisher) const;

  /// Tells every publisher waiting on its flow-control window that receivers made progress.
  void wake_publishers() const;
};

}  // namespace paperboy::bench
