#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

/// Bytes as text a failure message can show: printable ASCII kept, the rest escaped, cut at
/// `max` bytes with the total length noted.
std::string printable(std::string_view bytes, std::size_t max = 64);

/// One PB1 message with its fields: `ERR(req=0 code=1 protocol text="...")`.
std::string describe(const protocol::Message& message);

/// A PB1 frame body decoded (in `version`'s layout) and described, or why it does not decode.
std::string describe_pb1_frame(std::string_view body, std::uint8_t version);
/// describe_pb1_frame in version 1, as a FrameStream describer.
std::string describe_pb1_frame(std::string_view body);
/// describe_pb1_frame in version 2, as a FrameStream describer.
std::string describe_pb1_v2_frame(std::string_view body);

/// A PB0 (raw) frame body described.
std::string describe_raw_frame(std::string_view body);

}  // namespace paperboy::itest
