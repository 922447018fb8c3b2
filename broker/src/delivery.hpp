#pragma once

#include <cstdint>
#include <string_view>

#include "paperboy/protocol/messages.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

class QueueChannel;

/// The two wire dialects a session may speak.
enum class Dialect : std::uint8_t { pb0, pb1 };

// A published message lives in one SharedBuffer laid out so that both dialects can send it
// without another copy:
//
//   [u32 payload length][u32 MSG length][MSG body: op, delivery 0, flags 0, channel, reply,
//   payload]
//    \_ PB0 prefix ___/ \______________ the PB1 frame ______________________________________/
//
// A PB1 subscriber is sent bytes [4, end); a PB0 subscriber the first 4 bytes then the payload.

/// Builds the shared buffer of one published message (the only copy of its payload).
SharedBuffer make_message(std::string_view channel, std::string_view reply_to,
                          std::string_view payload);

/// Reads back the fields of a buffer built by make_message.
protocol::Msg message_fields(const SharedBuffer& message) noexcept;

/// Payload bytes of a message buffer (what the channel backlog counts).
std::size_t message_payload_size(const SharedBuffer& message) noexcept;

/// One entry of a send queue: up to two spans of a shared buffer (gathered into one writev),
/// and for a queue delivery the channel it goes back to if it is never written.
struct Delivery {
  SharedBuffer buffer;
  std::uint32_t head_offset = 0;
  std::uint32_t head_size = 0;
  std::uint32_t tail_offset = 0;
  std::uint32_t tail_size = 0;
  QueueChannel* origin = nullptr;

  std::size_t wire_size() const noexcept { return std::size_t{head_size} + tail_size; }
};

/// A published message as the given dialect sends it.
Delivery deliver_message(const SharedBuffer& message, Dialect dialect,
                         QueueChannel* origin = nullptr) noexcept;

/// A PB1 control frame (OK, ERR, PONG, WELCOME, GAP) in a buffer of its own.
Delivery control_frame(const protocol::Message& frame);

}  // namespace paperboy::broker
