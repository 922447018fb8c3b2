#pragma once

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace paperboy::broker {

/// The environment variable `name` as a whole unsigned decimal number; nothing when it is unset
/// or anything else (systemd's LISTEN_PID, LISTEN_FDS, WATCHDOG_USEC, WATCHDOG_PID).
inline std::optional<std::uint64_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  const std::string_view digits(text);
  std::uint64_t value = 0;
  const auto [at, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || at != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace paperboy::broker
