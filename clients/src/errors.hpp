#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "paperboy/client/error.hpp"
#include "paperboy/protocol/messages.hpp"

// Factories for the library's own Errors (private: users only catch them).
namespace paperboy::client {

/// Untrusted text made safe for a one-line message: control bytes escaped, cut at 300 bytes.
std::string printable(std::string_view text);

/// The Error for an ERR frame; the connection is lost unless its code keeps it open.
Error server_error(const protocol::Err& err);

/// A deadline passed while waiting for `what`; the connection stays usable.
Error timeout_error(std::string_view what);

/// The connection is gone; `what` says what failed.
Error connection_error(std::error_code ec, std::string_view what);

/// A call on a client that is not connected.
Error not_connected_error();

/// The server broke the protocol (malformed or unexpected frame); the connection is closed.
Error protocol_error(std::string_view what);

}  // namespace paperboy::client
