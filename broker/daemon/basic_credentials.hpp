#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace paperboy::daemon {

/// A user's name and token as an HTTP client sends them (`curl -u NAME:TOKEN`).
struct BasicCredentials {
  std::string name;
  std::string token;
};

/// The credentials of an `Authorization: Basic base64(NAME:TOKEN)` header value (RFC 7617), or
/// nothing when it is another scheme, not base64 or has no colon.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

}  // namespace paperboy::daemon
