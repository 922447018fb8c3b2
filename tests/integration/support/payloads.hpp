#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace paperboy::itest {

/// A recognisable binary payload: `<tag>#<index>|` followed by filler bytes derived from the
/// index (zero bytes and invalid UTF-8 included), `size` bytes in all (or just the prefix when
/// `size` is smaller). A receiver can tell which message it got and that no byte was damaged.
std::string numbered_payload(std::size_t index, std::size_t size = 0, std::string_view tag = "m");

/// The index of a numbered payload with tag `tag`, or nullopt if `payload` is not one or its
/// filler is damaged.
std::optional<std::size_t> payload_index(std::string_view payload, std::string_view tag = "m");

}  // namespace paperboy::itest
