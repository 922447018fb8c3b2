#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "paperboy/protocol/frame.hpp"

namespace paperboy::protocol {

// The MSG body, in the order of its fields (PROTOCOL.md, "05 MSG"):
//   u8 op · u64 delivery · u8 flags · str16 channel · str16 reply_to · rest payload
// One message is sent to many subscribers from one shared frame. What differs between its
// deliveries (the delivery id and the flags) sits at fixed places before the names, so a
// delivery can send its own few header bytes and then the shared frame from there on.

/// Where the parts of one MSG body lie, counted from the first byte of the body (the op).
struct MsgLayout {
  static constexpr std::size_t delivery_offset = 1;  ///< u64 delivery id
  static constexpr std::size_t flags_offset = 9;     ///< u8 flags
  static constexpr std::size_t names_offset = 10;    ///< str16 channel, then str16 reply_to

  std::uint16_t channel_size = 0;
  std::uint16_t reply_to_size = 0;
  std::uint32_t payload_size = 0;

  constexpr std::size_t channel_offset() const noexcept { return names_offset + 2; }
  constexpr std::size_t reply_to_offset() const noexcept {
    return channel_offset() + channel_size + 2;
  }
  /// Bytes of the two length-prefixed names.
  constexpr std::size_t names_size() const noexcept {
    return std::size_t{4} + channel_size + reply_to_size;
  }
  constexpr std::size_t payload_offset() const noexcept { return names_offset + names_size(); }
  constexpr std::size_t body_size() const noexcept { return payload_offset() + payload_size; }
  constexpr std::size_t frame_size() const noexcept { return frame_header_size + body_size(); }

  /// The parts of a body with this layout (which must be at least body_size() bytes: these are
  /// on the per-message path and check nothing).
  std::string_view channel_in(std::string_view body) const noexcept {
    return {body.data() + channel_offset(), channel_size};
  }
  std::string_view reply_to_in(std::string_view body) const noexcept {
    return {body.data() + reply_to_offset(), reply_to_size};
  }
  std::string_view payload_in(std::string_view body) const noexcept {
    return {body.data() + payload_offset(), payload_size};
  }
};

/// Bytes at the front of a MSG frame that differ between deliveries of one message: the length
/// prefix, the op, the delivery id and the flags.
inline constexpr std::size_t msg_delivery_header_size = frame_header_size + MsgLayout::names_offset;

/// The layout of a MSG with these fields. Names must fit their u16 length.
constexpr MsgLayout msg_layout(std::string_view channel, std::string_view reply_to,
                               std::size_t payload_size) noexcept {
  return {static_cast<std::uint16_t>(channel.size()), static_cast<std::uint16_t>(reply_to.size()),
          static_cast<std::uint32_t>(payload_size)};
}

/// Writes the msg_delivery_header_size bytes that start a MSG frame of `frame_size` bytes, for a
/// delivery that sends them itself and the rest of the frame from a shared copy.
void write_msg_delivery_header(char* out, std::size_t frame_size, std::uint64_t delivery,
                               std::uint8_t flags) noexcept;

/// The layout of a well-formed MSG frame (length prefix included), such as one write_msg_frame
/// wrote: only the two name lengths are read, nothing is checked. For frames of untrusted origin
/// use decode().
MsgLayout written_msg_layout(std::string_view frame) noexcept;

/// The delivery id of a well-formed MSG body, read in place (a receiver's fast path).
std::uint64_t msg_delivery(std::string_view body) noexcept;

}  // namespace paperboy::protocol
