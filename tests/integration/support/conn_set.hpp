#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "conn.hpp"

namespace paperboy::itest {

/// Called with the index of the connection a frame arrived on, and the frame.
using FrameHandler = std::function<void(std::size_t conn, Decoded<protocol::Message> frame)>;

/// Drives several connections from one thread: hands every frame that arrives on any of them to
/// `on_frame`, in arrival order per connection, until `done()` holds. Waits in poll(2) over all
/// the sockets, never in a sleep. Fails the test with `progress()` when `timeout` passes first, or
/// when the daemon closes one of the connections.
void pump_until(const std::vector<Conn*>& conns, const FrameHandler& on_frame,
                const std::function<bool()>& done, Duration timeout,
                const std::function<std::string()>& progress);

}  // namespace paperboy::itest
