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

/// What the MSG layouts of both versions share: the per-delivery fields, then the two names,
/// length-prefixed, from NamesOffset on. Offsets count from the first byte of the body (the op).
template <std::size_t NamesOffset>
struct MsgNamesLayout {
  static constexpr std::size_t delivery_offset = 1;         ///< u64 delivery id
  static constexpr std::size_t flags_offset = 9;            ///< u8 flags
  static constexpr std::size_t names_offset = NamesOffset;  ///< str16 channel, str16 reply_to

  std::uint16_t channel_size = 0;
  std::uint16_t reply_to_size = 0;

  constexpr std::size_t channel_offset() const noexcept { return names_offset + 2; }
  constexpr std::size_t reply_to_offset() const noexcept {
    return channel_offset() + channel_size + 2;
  }
  /// Bytes of the two length-prefixed names.
  constexpr std::size_t names_size() const noexcept {
    return std::size_t{4} + channel_size + reply_to_size;
  }

  /// The parts of a body with this layout (which must be at least body_size() bytes: these are
  /// on the per-message path and check nothing).
  std::string_view channel_in(std::string_view body) const noexcept {
    return {body.data() + channel_offset(), channel_size};
  }
  std::string_view reply_to_in(std::string_view body) const noexcept {
    return {body.data() + reply_to_offset(), reply_to_size};
  }
};

/// Where the parts of one MSG body lie (version 1).
struct MsgLayout : MsgNamesLayout<10> {
  std::uint32_t payload_size = 0;

  constexpr std::size_t payload_offset() const noexcept { return names_offset + names_size(); }
  constexpr std::size_t body_size() const noexcept { return payload_offset() + payload_size; }
  constexpr std::size_t frame_size() const noexcept { return frame_header_size + body_size(); }
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
  return {{static_cast<std::uint16_t>(channel.size()), static_cast<std::uint16_t>(reply_to.size())},
          static_cast<std::uint32_t>(payload_size)};
}

// The version 2 MSG body (PROTOCOL.md, "Version 2"):
//   u8 op · u64 delivery · u8 flags · u64 published_at · str16 channel · str16 reply_to ·
//   str16 headers · rest payload
// The per-delivery bytes are where version 1 has them, so msg_delivery_header_size,
// write_msg_delivery_header and msg_delivery serve both versions. The timestamp is stamped once
// per message, so it belongs to the shared part of the frame.

/// Where the parts of one version 2 MSG body lie.
struct MsgV2Layout : MsgNamesLayout<18> {
  static constexpr std::size_t published_at_offset = 10;  ///< u64 Unix time in ns

  std::uint16_t headers_size = 0;
  std::uint32_t payload_size = 0;

  /// The header block's first byte (its u16 length sits just before).
  constexpr std::size_t headers_offset() const noexcept { return names_offset + names_size() + 2; }
  constexpr std::size_t payload_offset() const noexcept { return headers_offset() + headers_size; }
  constexpr std::size_t body_size() const noexcept { return payload_offset() + payload_size; }
  constexpr std::size_t frame_size() const noexcept { return frame_header_size + body_size(); }
  std::string_view headers_in(std::string_view body) const noexcept {
    return {body.data() + headers_offset(), headers_size};
  }
  std::string_view payload_in(std::string_view body) const noexcept {
    return {body.data() + payload_offset(), payload_size};
  }
};

/// The layout of a version 2 MSG with these fields. Names and headers must fit their u16 length.
constexpr MsgV2Layout msg_v2_layout(std::string_view channel, std::string_view reply_to,
                                    std::string_view headers, std::size_t payload_size) noexcept {
  return {{static_cast<std::uint16_t>(channel.size()), static_cast<std::uint16_t>(reply_to.size())},
          static_cast<std::uint16_t>(headers.size()),
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

/// written_msg_layout for a well-formed version 2 MSG frame, such as write_msg_v2_frame wrote.
MsgV2Layout written_msg_v2_layout(std::string_view frame) noexcept;

/// The delivery id of a well-formed MSG body (either version), read in place (a receiver's fast
/// path).
std::uint64_t msg_delivery(std::string_view body) noexcept;

/// The timestamp of a well-formed version 2 MSG body, read in place.
std::uint64_t msg_published_at(std::string_view body) noexcept;

}  // namespace paperboy::protocol
