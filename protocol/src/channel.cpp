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

}  // namespace

Result<ChannelKind> check_channel(std::string_view name) noexcept {
  constexpr std::string_view topic_prefix = "/topic/";
  constexpr std::string_view queue_prefix = "/queue/";
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

bool valid_pb0_channel(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_channel_size && !opens_pb1(name);
}

}  // namespace paperboy::protocol
