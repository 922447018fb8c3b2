#include "paperboy/protocol/channel.hpp"

#include "paperboy/protocol/utf8.hpp"

namespace paperboy::protocol {
namespace {

bool printable_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7F) return false;  // controls and space
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;  // C1
    i += n;
  }
  return true;
}

constexpr std::string_view topic_prefix = "/topic/";
constexpr std::string_view queue_prefix = "/queue/";

/// Where a name's wildcard segments are.
struct Wildcards {
  bool any = false;        ///< some segment is exactly "*" or ">"
  bool misplaced = false;  ///< a ">" that is not the last segment
};

Wildcards find_wildcards(std::string_view segments) noexcept {
  Wildcards found;
  for (std::size_t start = 0;;) {
    const std::size_t end = segments.find('/', start);
    const bool last = end == std::string_view::npos;
    const std::string_view segment = segments.substr(start, last ? segments.npos : end - start);
    if (segment == "*" || segment == ">") found.any = true;
    if (segment == ">" && !last) found.misplaced = true;
    if (last) return found;
    start = end + 1;
  }
}

/// The segments after "/topic/" or "/queue/", or nothing for a name with neither prefix.
Wildcards find_wildcards_in_name(std::string_view name) noexcept {
  if (!name.starts_with(topic_prefix) && !name.starts_with(queue_prefix)) return {};
  return find_wildcards(name.substr(topic_prefix.size()));
}

}  // namespace

Result<ChannelKind> check_channel(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_channel_size || !printable_utf8(name)) {
    return Errc::bad_channel;
  }
  if (name.starts_with(topic_prefix) && name.size() > topic_prefix.size()) {
    return ChannelKind::topic;
  }
  if (name.starts_with(queue_prefix) && name.size() > queue_prefix.size()) {
    return ChannelKind::queue;
  }
  return Errc::bad_channel;
}

bool is_pattern(std::string_view name) noexcept {
  if (!name.starts_with(topic_prefix)) return false;
  const Wildcards found = find_wildcards(name.substr(topic_prefix.size()));
  return found.any && !found.misplaced;
}

bool has_wildcard_segment(std::string_view name) noexcept {
  return find_wildcards_in_name(name).any;
}

Result<ChannelKind> check_subscription(std::string_view name) noexcept {
  const auto kind = check_channel(name);
  if (!kind) return kind;
  const Wildcards found = find_wildcards_in_name(name);
  if (found.any &&
      (*kind == ChannelKind::queue || found.misplaced || name.starts_with(reply_prefix))) {
    return Errc::bad_channel;
  }
  return kind;
}

Result<ChannelKind> check_publish_channel(std::string_view name) noexcept {
  const auto kind = check_channel(name);
  if (kind && has_wildcard_segment(name)) return Errc::bad_channel;
  return kind;
}

bool valid_pb0_channel(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_channel_size && !opens_pb1(name);
}

}  // namespace paperboy::protocol
