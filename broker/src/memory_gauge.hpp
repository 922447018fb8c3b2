#pragma once

#include <cstddef>

namespace paperboy::broker {

/// The bytes the broker holds for its clients, daemon-wide: message slabs (so every message
/// queued, waiting in a backlog, unacked or parked), send-queue slots, backlog and unacked
/// entries. Kept by the pieces that allocate, at allocation time, so reading it costs nothing;
/// --max-memory is checked against it. Plain, like SharedBuffer's counts: one thread runs the
/// io_context.
class MemoryGauge {
 public:
  static void add(std::size_t bytes) noexcept { held_ += bytes; }
  static void remove(std::size_t bytes) noexcept { held_ -= bytes; }
  static std::size_t held() noexcept { return held_; }

 private:
  static inline std::size_t held_ = 0;
};

}  // namespace paperboy::broker
