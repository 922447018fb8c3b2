#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "run.hpp"

namespace paperboy::bench {

/// The figures of one paperboy-bench invocation, in the order they were added: printed as one
/// flat JSON object on one line (--json, what compare.sh reads) or as aligned text.
class Report {
 public:
  using Value =
      std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

  /// Adds a number, flag, text, or an optional of one of those (null when absent).
  template <class T>
  void add(std::string_view key, const T& value) {
    fields_.emplace_back(std::string(key), to_value(value));
  }

  /// Adds the standard figures of a pub/sub run, each key prefixed with `prefix`.
  void add_run(const RunResult& run, std::string_view prefix = {});

  std::string json() const;
  std::string text() const;

 private:
  template <class T>
  static Value to_value(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      return Value{value};
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      return Value{static_cast<std::int64_t>(value)};
    } else if constexpr (std::is_integral_v<T>) {
      return Value{static_cast<std::uint64_t>(value)};
    } else if constexpr (std::is_floating_point_v<T>) {
      return Value{static_cast<double>(value)};
    } else {
      return Value{std::string(value)};
    }
  }
  template <class T>
  static Value to_value(const std::optional<T>& value) {
    return value ? to_value(*value) : Value{};
  }

  std::vector<std::pair<std::string, Value>> fields_;
};

}  // namespace paperboy::bench
