#pragma once

#include <chrono>
#include <cstddef>

namespace paperboy::broker {

/// --max-memory as an alarm, the RabbitMQ way: once the broker holds its budget (MemoryGauge),
/// publishers are paused (their PUBs park and their sockets are no longer read) while consumers
/// keep reading, acking and draining; the alarm clears once holdings fall to 7/8 of the budget.
/// One log line on entering and one on leaving, whatever the traffic.
class MemoryBudget {
 public:
  /// `limit` 0: no budget.
  explicit MemoryBudget(std::size_t limit) noexcept : limit_(limit) {}

  /// True while publishers must wait; raises the alarm when the budget is reached.
  bool exhausted();
  /// Clears the alarm once holdings are low enough; true when it was just cleared.
  bool relieved();
  bool alarmed() const noexcept { return alarmed_; }

 private:
  std::size_t limit_;
  bool alarmed_ = false;
  std::chrono::steady_clock::time_point raised_{};
};

}  // namespace paperboy::broker
