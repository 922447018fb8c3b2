#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace paperboy::broker {

/// Hashes a name as a string_view, so a map keyed by std::string is searched with a view of the
/// read buffer without building a string per lookup.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// A hash map by name, searchable with a string_view.
template <class T>
using NameMap = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;

}  // namespace paperboy::broker
