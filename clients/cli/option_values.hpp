#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "paperboy/client/event.hpp"

// The CLI's option values that are more than a number or a name, parsed without CLI11 so they can
// be tested on their own.
namespace paperboy::cli {

/// Longest duration an option takes: a PB1 TTL is a u32 of milliseconds (about 49 days).
inline constexpr std::chrono::milliseconds max_duration{0xFFFF'FFFF};

/// A duration: a decimal number with a unit, `ms`, `s`, `m` or `h` (`500ms`, `5s`, `1.5m`), or
/// a plain number of seconds (`2`, `0.5`), rounded to the nearest millisecond. Nothing for a
/// sign, an exponent, another unit, or more than max_duration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// `KEY=VALUE`, split at the first '=': the header, or nothing when there is no '=' or KEY is
/// not a valid PB1 header key (1-255 printable ASCII bytes, no space or ':'). The value is taken
/// as it is, '=' and all, and may be empty.
std::optional<client::Header> parse_header(std::string_view text);

}  // namespace paperboy::cli
