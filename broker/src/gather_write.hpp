#pragma once

#include <cstddef>
#include <system_error>

#include "send_queue.hpp"

namespace paperboy::broker {

/// Outcome of one gathered write: bytes the kernel took, or the error (would_block when the
/// socket buffer is full).
struct GatherResult {
  std::size_t bytes = 0;
  std::error_code error;
};

/// True for the error that means "the socket buffer is full, wait until it is writable".
inline bool would_block(std::error_code ec) noexcept {
  return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

/// Writes as much of the queue as one sendmsg takes, starting `front_offset` bytes into the
/// front entry: up to IOV_MAX spans gathered from many deliveries, so a busy subscriber costs
/// one syscall per ~thousand frames. Never raises SIGPIPE.
GatherResult write_gathered(int fd, const SendQueue& queue, std::size_t front_offset) noexcept;

}  // namespace paperboy::broker
