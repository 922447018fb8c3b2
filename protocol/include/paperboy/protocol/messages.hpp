#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "paperboy/protocol/errc.hpp"
#include "paperboy/protocol/msg_layout.hpp"

namespace paperboy::protocol {

/// PB1 version 1: the version every PB1 peer speaks, and the layout when none is negotiated.
inline constexpr std::uint8_t pb1_version = 1;
/// PB1 version 2: headers, timestamps, TTL, require-a-subscriber, BLOCKED/UNBLOCKED (PROTOCOL.md,
/// "Version 2"). Only PUB, MSG and WELCOME change layout; BLOCKED and UNBLOCKED are new.
inline constexpr std::uint8_t pb1_version_2 = 2;
/// The newest PB1 version this codec can encode and decode.
inline constexpr std::uint8_t pb1_latest_version = pb1_version_2;

/// PB1 operation codes: the first byte of every PB1 frame body.
enum class Op : std::uint8_t {
  hello = 0x00,
  welcome = 0x01,
  sub = 0x02,
  unsub = 0x03,
  pub = 0x04,
  msg = 0x05,
  ack = 0x06,
  nack = 0x07,
  ok = 0x08,
  err = 0x09,
  ping = 0x0A,
  pong = 0x0B,
  gap = 0x0C,
  blocked = 0x0D,    ///< version 2 only
  unblocked = 0x0E,  ///< version 2 only
};

/// SUB flag bit 0: the subscriber acknowledges each delivery itself.
inline constexpr std::uint8_t sub_flag_manual_ack = 0x01;
/// MSG flag bit 0: this delivery was handed out before.
inline constexpr std::uint8_t msg_flag_redelivered = 0x01;
/// PUB flag bit 0 (version 2): refuse the message with ERR(req, no_subscribers) when nothing
/// would receive it.
inline constexpr std::uint8_t pub_flag_require_subscriber = 0x01;

// Every string_view below points into the decoded frame body (or, when encoding, at the caller's
// bytes): decoding copies nothing.
//
// Version 2 fields come last in each struct, with default values, so that an aggregate written
// for version 1 (`Pub{req, channel, reply_to, payload}`) still compiles and still means version
// 1. Which layout a PUB or MSG is written and read in is the connection's version, passed to the
// codec; a version 1 encoding leaves the version 2 fields out, whatever they hold. HELLO and
// WELCOME carry their version themselves.

/// c→s, the first PB1 frame: 'P' 'B' version, client name, auth token.
struct Hello {
  std::uint8_t version = pb1_version;
  std::string_view client_name;
  std::string_view token;
};
/// s→c, the answer to HELLO.
struct Welcome {
  std::uint8_t version = pb1_version;
  std::uint32_t max_payload = 0;
  std::string_view server_id;
  std::string_view server_version = {};  ///< on the wire from version 2 on ("0.2.0")
};
/// c→s, subscribe to a channel.
struct Sub {
  std::uint32_t req = 0;
  std::uint8_t flags = 0;
  std::uint16_t prefetch = 0;
  std::string_view channel;
  bool manual_ack() const noexcept { return (flags & sub_flag_manual_ack) != 0; }
};
/// c→s, leave a channel.
struct Unsub {
  std::uint32_t req = 0;
  std::string_view channel;
};
/// c→s, publish; req 0 asks for no confirmation.
struct Pub {
  std::uint32_t req = 0;
  std::string_view channel;
  std::string_view reply_to;
  std::string_view payload;
  std::uint8_t flags = 0;         ///< version 2
  std::uint32_t ttl_ms = 0;       ///< version 2; 0 = no expiry
  std::string_view headers = {};  ///< version 2; a header block (headers.hpp)
  bool require_subscriber() const noexcept { return (flags & pub_flag_require_subscriber) != 0; }
};
/// s→c, one delivery; delivery 0 needs no ack.
struct Msg {
  std::uint64_t delivery = 0;
  std::uint8_t flags = 0;
  std::string_view channel;
  std::string_view reply_to;
  std::string_view payload;
  std::uint64_t published_at = 0;  ///< version 2; Unix time in ns, stamped when the PUB was taken
  std::string_view headers = {};   ///< version 2; a header block (headers.hpp)
  bool redelivered() const noexcept { return (flags & msg_flag_redelivered) != 0; }
};
/// c→s, a manual-ack delivery was processed.
struct Ack {
  std::uint64_t delivery = 0;
};
/// c→s, a manual-ack delivery is given back.
struct Nack {
  std::uint64_t delivery = 0;
};
/// s→c, request req succeeded.
struct Ok {
  std::uint32_t req = 0;
};
/// s→c, request req (or the connection, when req is 0) failed with a wire code.
struct Err {
  std::uint32_t req = 0;
  std::uint16_t code = 0;
  std::string_view text;
};
/// Either way: please answer with PONG(token).
struct Ping {
  std::uint64_t token = 0;
};
/// Either way: the answer to PING(token).
struct Pong {
  std::uint64_t token = 0;
};
/// s→c, `dropped` topic messages on `channel` were lost to overflow before the next MSG there.
struct Gap {
  std::uint64_t dropped = 0;
  std::string_view channel;
};

/// s→c (version 2), a PUB of this connection is parked because `channel`'s backlog is full.
struct Blocked {
  std::string_view channel;
};
/// s→c (version 2), the parked PUBs of this connection on `channel` were taken.
struct Unblocked {
  std::string_view channel;
};

/// Any decoded PB1 frame; the alternative's index equals its Op value.
using Message = std::variant<Hello, Welcome, Sub, Unsub, Pub, Msg, Ack, Nack, Ok, Err, Ping, Pong,
                             Gap, Blocked, Unblocked>;

/// The op's name as this document's tables spell it ("PUB", "MSG", ...); "unknown op" for a
/// value that is not an Op.
std::string_view op_name(Op op) noexcept;

/// The op of a message.
constexpr Op op_of(const Message& m) noexcept {
  return static_cast<Op>(m.index());
}

/// Decodes one PB1 frame body of a connection that speaks `version` (1 or 2). Errc::protocol for
/// an empty body, an op the version does not have, a truncated field, trailing bytes after a
/// fixed-size message, or (version 2) a malformed header block. Validates structure only:
/// channel names, versions and the HELLO magic's meaning are the caller's to judge (HELLO's 'P'
/// 'B' is checked). HELLO and WELCOME are read by their own version byte, whatever `version`.
Result<Message> decode(std::string_view body, std::uint8_t version = pb1_version) noexcept;

/// Decodes a PUB body without the generic variant: the broker's per-message path. Nothing when
/// the body is not a well-formed PUB of `version` (decode() then says why).
std::optional<Pub> decode_pub(std::string_view body, std::uint8_t version = pb1_version) noexcept;
/// Decodes a MSG body without the generic variant: the clients' per-message path. Nothing when
/// the body is not a well-formed MSG of `version` (decode() then says why).
std::optional<Msg> decode_msg(std::string_view body, std::uint8_t version = pb1_version) noexcept;

/// Frame body size of a message in `version`'s layout (without the 4-byte length prefix).
std::size_t encoded_body_size(const Message& m, std::uint8_t version = pb1_version) noexcept;

/// Writes the whole frame (length prefix and body) in `version`'s layout at `out`, which must
/// have frame_header_size + encoded_body_size(m, version) bytes; returns the end of what was
/// written. Variable-length fields must fit their u16 length (channel names are at most 255
/// bytes, header blocks at most max_header_block_size).
char* write_frame(const Message& m, char* out, std::uint8_t version = pb1_version) noexcept;

/// Writes the whole version 1 MSG frame at `out`, which must have msg_layout(...).frame_size()
/// bytes, and returns that layout: the caller knows where each part went without reading the
/// frame back.
MsgLayout write_msg_frame(char* out, const Msg& msg) noexcept;

/// write_msg_frame for version 2: `out` must have msg_v2_layout(...).frame_size() bytes.
MsgV2Layout write_msg_v2_frame(char* out, const Msg& msg) noexcept;

/// The whole frame of a message as a string; convenient off the hot path.
std::string encode_frame(const Message& m, std::uint8_t version = pb1_version);

/// Appends the whole frame of a message to `out`.
void append_frame(std::string& out, const Message& m, std::uint8_t version = pb1_version);

/// What a PUB or MSG counts against max_payload: its payload and, in version 2, its headers.
template <class PubOrMsg>
constexpr std::size_t counted_payload_size(const PubOrMsg& m) noexcept {
  return m.payload.size() + m.headers.size();
}

/// PB0 frames are raw length-prefixed data: appends frame(bytes) to `out`.
void append_raw_frame(std::string& out, std::string_view bytes);

/// Offset of the payload inside a MSG frame body written by write_frame.
std::size_t msg_payload_offset(std::string_view channel, std::string_view reply_to) noexcept;

}  // namespace paperboy::protocol
