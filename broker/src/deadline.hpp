#pragma once

#include <chrono>

namespace paperboy::broker {

/// When a queue message stops being deliverable (PUB v2 TTL), on the steady clock.
using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline never = Deadline::max();

/// True once `deadline` has passed; reads the clock only for a message that can expire.
inline bool expired(Deadline deadline) noexcept {
  return deadline != never && deadline <= std::chrono::steady_clock::now();
}

}  // namespace paperboy::broker
