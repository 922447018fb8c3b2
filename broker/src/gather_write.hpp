#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>

#include "send_queue.hpp"

namespace paperboy::broker {

/// Fills `spans` with the queue's bytes from `front_offset` bytes into the front entry on, for
/// one gathered write: up to spans.size() spans from many deliveries (runs that lie back to
/// back become one span), so a busy subscriber costs one syscall per ~thousand frames. Returns
/// the number of spans filled.
std::size_t gather_spans(const SendQueue& queue, std::size_t front_offset,
                         std::span<iovec> spans) noexcept;

}  // namespace paperboy::broker
