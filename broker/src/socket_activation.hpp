#pragma once

#include <optional>

namespace paperboy::broker {

/// The listening socket the service manager passed in (systemd socket activation: fd 3 when
/// $LISTEN_PID is this process and $LISTEN_FDS is at least 1), made close-on-exec; nothing when
/// none was passed. Throws std::system_error when fd 3 is not a listening stream socket.
std::optional<int> activated_listener();

}  // namespace paperboy::broker
