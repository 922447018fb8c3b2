#pragma once

#include <cstddef>
#include <string_view>

#include "paperboy/protocol/errc.hpp"

namespace paperboy::protocol {

/// How a channel hands out messages: a topic fans out to every subscriber, a queue hands each
/// message to one consumer.
enum class ChannelKind { topic, queue };

/// Longest channel name, in bytes (PB1 and PB0 alike).
inline constexpr std::size_t max_channel_size = 255;

/// The kind a channel name implies. PB0 and PB1 share one channel space, so this is the
/// prototype's rule for both: a name that starts with "/queue" is a queue, anything else a topic.
constexpr ChannelKind channel_kind(std::string_view name) noexcept {
  return name.starts_with("/queue") ? ChannelKind::queue : ChannelKind::topic;
}

/// Replies to `/topic/_reply/<id>/<anything>` reach the subscribers of `/topic/_reply/<id>`, so a
/// requester subscribes once and tells its replies apart by the suffix (channels are otherwise
/// matched exactly; this is the one prefix rule). No wildcard pattern reaches a reply channel,
/// and none may be subscribed under this prefix: a requester's inbox is private.
inline constexpr std::string_view reply_prefix = "/topic/_reply/";

/// Validates a PB1 channel name: 1-255 bytes of valid UTF-8 with no spaces or control characters,
/// "/topic/<rest>" or "/queue/<rest>" with a non-empty rest. Errc::bad_channel otherwise.
Result<ChannelKind> check_channel(std::string_view name) noexcept;

/// True when a name is a wildcard subscription pattern: "/topic/" then segments split on '/',
/// where a segment that is exactly "*" matches one segment and a last segment that is exactly ">"
/// matches one or more. "*" or ">" inside a segment ("a*", ">b") is a literal character. Says
/// nothing else about the name (PB0 patterns are checked by valid_pb0_channel, PB1 ones by
/// check_subscription).
bool is_pattern(std::string_view name) noexcept;

/// True when a segment after "/topic/" or "/queue/" is exactly "*" or ">", wherever it is: a name
/// nobody may publish to, and no queue may be called.
bool has_wildcard_segment(std::string_view name) noexcept;

/// Validates the channel of a PB1 SUB: check_channel, and wildcards only on /topic, with ">" only
/// last and none under reply_prefix. Errc::bad_channel otherwise.
Result<ChannelKind> check_subscription(std::string_view name) noexcept;

/// Validates the channel of a PB1 PUB: check_channel, and no wildcard segment (a message is
/// published to one concrete name). Errc::bad_channel otherwise.
Result<ChannelKind> check_publish_channel(std::string_view name) noexcept;

/// True when a connection's first frame opens PB1: its first byte is a control character.
/// 0x00 is HELLO; 0x01-0x1F are other PB1 ops sent before HELLO, which no PB0 channel name
/// starts with, so they are refused as PB1 rather than taken for a strange PB0 subscription.
constexpr bool opens_pb1(std::string_view first_frame) noexcept {
  return !first_frame.empty() && static_cast<unsigned char>(first_frame.front()) < 0x20;
}

/// Validates a PB0 channel name: 1-255 bytes that do not open PB1 (first byte 0x20 or above).
/// The prototype accepted any bytes; the length bound keeps one peer from growing our tables.
bool valid_pb0_channel(std::string_view name) noexcept;

}  // namespace paperboy::protocol
