#pragma once

// Shared by the codec's unit tests: byte-string helpers, field-wise comparison of decoded
// messages, and sample messages of every PB1 op.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::protocol::test {

/// Bytes from a hex string; spaces are ignored ("00 50 42" → "\x00PB").
inline std::string unhex(std::string_view hex) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  int high = -1;
  for (const char c : hex) {
    const int n = nibble(c);
    if (n < 0) continue;
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<char>(high * 16 + n));
      high = -1;
    }
  }
  return out;
}

/// Lower-case hex of bytes, for failure messages.
inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0F]);
  }
  return out;
}

// A message's fields as a tuple, in wire order; two messages are equal when their ops and these
// tuples are (string_views compare by content).
inline auto fields(const Hello& m) {
  return std::tie(m.version, m.client_name, m.token);
}
inline auto fields(const Welcome& m) {
  return std::tie(m.version, m.max_payload, m.server_id, m.server_version);
}
inline auto fields(const Sub& m) {
  return std::tie(m.req, m.flags, m.prefetch, m.channel);
}
inline auto fields(const Unsub& m) {
  return std::tie(m.req, m.channel);
}
inline auto fields(const Pub& m) {
  return std::tie(m.req, m.channel, m.reply_to, m.payload, m.flags, m.ttl_ms, m.headers);
}
inline auto fields(const Msg& m) {
  return std::tie(m.delivery, m.flags, m.channel, m.reply_to, m.payload, m.published_at, m.headers);
}
inline auto fields(const Ack& m) {
  return std::tie(m.delivery);
}
inline auto fields(const Nack& m) {
  return std::tie(m.delivery);
}
inline auto fields(const Ok& m) {
  return std::tie(m.req);
}
inline auto fields(const Err& m) {
  return std::tie(m.req, m.code, m.text);
}
inline auto fields(const Ping& m) {
  return std::tie(m.token);
}
inline auto fields(const Pong& m) {
  return std::tie(m.token);
}
inline auto fields(const Gap& m) {
  return std::tie(m.dropped, m.channel);
}
inline auto fields(const Blocked& m) {
  return std::tie(m.channel);
}
inline auto fields(const Unblocked& m) {
  return std::tie(m.channel);
}

/// Ops of version 1 (HELLO to GAP): the samples below have one or more of each.
inline constexpr std::size_t v1_op_count = static_cast<std::size_t>(Op::gap) + 1;

/// True when both messages have the same op and equal fields.
inline bool same_fields(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return fields(x) == fields(std::get<T>(b));
      },
      a);
}

/// The whole frame body of a message (its encoding without the length prefix).
inline std::string body_of(const Message& m, std::uint8_t version = pb1_version) {
  return encode_frame(m, version).substr(frame_header_size);
}

/// A readable rendering of a message for failure messages: the op and the hex of its body.
inline std::string describe(const Message& m, std::uint8_t version = pb1_version) {
  return "op " + std::to_string(static_cast<int>(op_of(m))) + " body " + hex(body_of(m, version));
}

inline constexpr auto max_u32 = std::numeric_limits<std::uint32_t>::max();
inline constexpr auto max_u64 = std::numeric_limits<std::uint64_t>::max();

/// A string of n bytes cycling through every byte value (NUL, 0xFF and invalid UTF-8 included).
inline std::string binary(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 % 256);
  return s;
}

/// One message of each op, in op order, with short fields and an empty rest-of-frame field
/// (payload, text), so that every strict prefix of each body cuts a field.
inline std::vector<Message> compact_samples() {
  return {
      Hello{pb1_version, "cli", "tk"},
      Welcome{pb1_version, 1048576, "pb-1"},
      Sub{7, sub_flag_manual_ack, 16, "/queue/jobs"},
      Unsub{8, "/topic/news"},
      Pub{9, "/topic/news", "r", ""},
      Msg{0x0102030405060708, msg_flag_redelivered, "/topic/news", "", ""},
      Ack{42},
      Nack{43},
      Ok{9},
      Err{9, 3, ""},
      Ping{0xDEADBEEF},
      Pong{0xDEADBEEF},
      Gap{5, "/topic/news"},
  };
}

/// Messages of every op with edge values: zeros, all-ones integers, empty and longest strings,
/// binary payloads.
inline std::vector<Message> edge_samples() {
  static const std::string channel255 = "/topic/" + std::string(248, 'c');
  static const std::string long16 = binary(65535);  // the longest u16-prefixed string
  static const std::string payload = binary(100 * 1024);
  static const std::string utf8 = "na\xC3\xAFve \xE2\x9C\x93 \xF0\x9F\x93\xB0";
  return {
      Hello{pb1_version, "", ""},
      Hello{pb1_version, utf8, long16},
      Welcome{pb1_version, 0, ""},
      Welcome{pb1_version, max_u32, long16},
      Welcome{0xFF, 7, "x"},  // WELCOME's version is the client's to judge
      Sub{0, 0, 0, ""},
      Sub{max_u32, 0xFF, 0xFFFF, channel255},
      Unsub{0, ""},
      Unsub{max_u32, long16},
      Pub{0, "", "", ""},
      Pub{1, "/queue/q", long16, payload},
      Pub{max_u32, channel255, "/topic/reply", std::string_view("\0\0\xFF", 3)},
      Msg{0, 0, "", "", ""},
      Msg{max_u64, 0xFF, channel255, long16, payload},
      Msg{1, 0, "/queue/q", "", std::string_view("\0", 1)},
      Ack{0},
      Ack{max_u64},
      Nack{0},
      Nack{max_u64},
      Ok{0},
      Ok{max_u32},
      Err{0, 0, ""},
      Err{max_u32, 0xFFFF, utf8},
      Err{0, 1, payload},
      Ping{0},
      Ping{max_u64},
      Pong{0},
      Pong{max_u64},
      Gap{0, ""},
      Gap{max_u64, long16},
  };
}

}  // namespace paperboy::protocol::test
