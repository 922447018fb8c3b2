#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace paperboy::itest {

/// A well-behaved client measuring its round trips on a thread while an attack runs: a PING on
/// its own connection, then a fresh connect + HELLO + PING, over and over. The worst of each is
/// what "another client's round trip" means in issue 7.
class LatencyWatch {
 public:
  explicit LatencyWatch(std::uint16_t port);
  ~LatencyWatch();
  LatencyWatch(const LatencyWatch&) = delete;
  LatencyWatch& operator=(const LatencyWatch&) = delete;

  /// Stops measuring (idempotent); the figures below are final afterwards.
  void stop();
  double worst_ping_ms() const { return worst_ping_ms_; }
  double worst_connect_ms() const { return worst_connect_ms_; }
  std::size_t rounds() const { return rounds_; }
  /// Why a round trip failed (a deadline passed, the daemon closed the connection), or empty.
  std::string failure() const;

 private:
  void run(std::uint16_t port);

  std::atomic<bool> stop_{false};
  std::atomic<double> worst_ping_ms_{0};
  std::atomic<double> worst_connect_ms_{0};
  std::atomic<std::size_t> rounds_{0};
  mutable std::mutex failure_mutex_;
  std::string failure_;
  std::thread thread_;
};

}  // namespace paperboy::itest
