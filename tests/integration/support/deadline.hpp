#pragma once

#include <chrono>
#include <thread>

namespace paperboy::itest {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

// Generous on purpose: the suite also runs under ASan+UBSan on a loaded CI machine, and a timeout
// only ever costs time when a test is already failing.
/// How long any single expected event (a frame, a close, a process exit) may take.
inline constexpr Duration default_timeout = std::chrono::seconds(5);
/// How long a test listens before it accepts that nothing is coming (expect_nothing).
inline constexpr Duration quiet_period = std::chrono::milliseconds(200);

/// A point in time that operations must finish by.
class Deadline {
 public:
  explicit Deadline(Duration timeout) : at_(Clock::now() + timeout) {}

  bool expired() const { return Clock::now() >= at_; }

  /// Time left, never negative.
  Duration remaining() const {
    const auto left = std::chrono::duration_cast<Duration>(at_ - Clock::now());
    return left.count() > 0 ? left : Duration::zero();
  }

  /// Time left in whole milliseconds as poll() wants it.
  int poll_ms() const { return static_cast<int>(remaining().count()); }

 private:
  Clock::time_point at_;
};

/// Polls `condition` until it holds or `timeout` passes; true when it held. For conditions that
/// have no event to wait on (a log line, a process state); the step only bounds the latency.
template <class Condition>
bool wait_until(Condition&& condition, Duration timeout = default_timeout,
                Duration step = std::chrono::milliseconds(5)) {
  const Deadline deadline(timeout);
  for (;;) {
    if (condition()) return true;
    if (deadline.expired()) return false;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace paperboy::itest
