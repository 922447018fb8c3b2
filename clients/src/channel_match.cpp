#include "channel_match.hpp"

#include "paperboy/protocol/channel.hpp"

namespace paperboy::client {
namespace {

// The next '/'-separated segment of `name` from `at`, moving `at` past it.
std::string_view next_segment(std::string_view name, std::size_t& at) noexcept {
  const auto end = name.find('/', at);
  const auto segment = name.substr(at, end == std::string_view::npos ? name.npos : end - at);
  at = end == std::string_view::npos ? name.size() + 1 : end + 1;
  return segment;
}

}  // namespace

bool subscription_matches(std::string_view subscribed, std::string_view channel) noexcept {
  if (subscribed == channel) return true;
  if (!protocol::is_pattern(subscribed) || channel.starts_with(protocol::reply_prefix)) {
    return false;
  }
  std::size_t p = 0;
  std::size_t c = 0;
  while (p <= subscribed.size()) {
    const auto pattern_segment = next_segment(subscribed, p);
    if (c > channel.size()) return false;  // the channel ran out of segments first
    const auto channel_segment = next_segment(channel, c);
    if (pattern_segment == ">" && p > subscribed.size()) return true;  // one or more remain
    if (pattern_segment != "*" && pattern_segment != channel_segment) return false;
  }
  return c > channel.size();
}

}  // namespace paperboy::client
