#pragma once

#include <cstddef>
#include <string_view>

namespace paperboy::protocol {

/// Length of the UTF-8 sequence starting at s[i], or 0 when it is malformed, truncated,
/// overlong, a surrogate or beyond U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

/// True when every byte of s belongs to a well-formed UTF-8 sequence.
bool valid_utf8(std::string_view s) noexcept;

}  // namespace paperboy::protocol
