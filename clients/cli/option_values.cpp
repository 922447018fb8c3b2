#include "option_values.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>

#include "paperboy/protocol/headers.hpp"

namespace paperboy::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    double milliseconds;
  };
  // "ms" before "s" and "m": it ends with one and starts with the other.
  constexpr std::array<Unit, 4> units{{{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}}};
  double scale = 1e3;  // a plain number is seconds
  for (const auto& unit : units) {
    if (text.ends_with(unit.suffix)) {
      scale = unit.milliseconds;
      text.remove_suffix(unit.suffix.size());
      break;
    }
  }
  // from_chars would also take "inf", "nan" and a leading '-'; only digits and a point here.
  if (text.empty() || (text.front() != '.' && (text.front() < '0' || text.front() > '9'))) {
    return std::nullopt;
  }
  double value = 0;
  const auto end = text.data() + text.size();
  const auto [parsed_end, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (ec != std::errc{} || parsed_end != end) return std::nullopt;
  const double milliseconds = std::round(value * scale);
  if (!(milliseconds <= static_cast<double>(max_duration.count()))) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(milliseconds));
}

std::optional<client::Header> parse_header(std::string_view text) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) return std::nullopt;
  const auto key = text.substr(0, equals);
  if (!protocol::valid_header_key(key)) return std::nullopt;
  return client::Header{std::string(key), std::string(text.substr(equals + 1))};
}

}  // namespace paperboy::cli
