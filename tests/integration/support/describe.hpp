#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

/// Bytes as text a failure message can show: printable ASCII kept, the rest escaped, cut at
/// `max` bytes with the total length noted.
std::string printable(std::string_view bytes, std::size_t max = 64);

/// One PB1 message with its fields: `ERR(req=0 code=1 protocol text="...")`.
std::string describe(const protocol::Message& message);

/// A PB1 frame body decoded and described, or why it does not decode.
std::string describe_pb1_frame(std::string_view body);

/// A PB0 (raw) frame body described.
std::string describe_raw_frame(std::string_view body);

}  // namespace paperboy::itest
