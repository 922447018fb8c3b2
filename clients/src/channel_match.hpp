#pragma once

#include <string_view>

namespace paperboy::client {

/// True when a subscription to `subscribed` receives messages published on `channel`: the same
/// name, or a /topic wildcard pattern that matches it ('*' one segment, a last '>' one or more),
/// as the broker matches them (PROTOCOL.md, "Wildcards").
bool subscription_matches(std::string_view subscribed, std::string_view channel) noexcept;

}  // namespace paperboy::client
