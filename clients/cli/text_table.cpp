#include "text_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace paperboy::cli {
namespace {

// Characters of UTF-8 text: every byte but continuation bytes (10xxxxxx) starts one.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const int length = std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return std::string(buffer.data(), static_cast<std::size_t>(std::max(length, 0)));
}

std::string two_units(long long first, const char* first_unit, long long second,
                      const char* second_unit) {
  std::array<char, 64> buffer{};
  const int length = std::snprintf(buffer.data(), buffer.size(), "%lld%s%02lld%s", first,
                                   first_unit, second, second_unit);
  return std::string(buffer.data(), static_cast<std::size_t>(std::max(length, 0)));
}

// 41.2k, 1.3M, 2.0G for large numbers; below a thousand, with `small_decimals` decimals.
std::string with_suffix(double value, int small_decimals) {
  if (value < 1e3) return fixed(value, small_decimals);
  if (value < 1e6) return fixed(value / 1e3, 1) + "k";
  if (value < 1e9) return fixed(value / 1e6, 1) + "M";
  return fixed(value / 1e9, 1) + "G";
}

}  // namespace

TextTable::TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

void TextTable::add_row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size()) {
    throw std::logic_error("a table row needs one cell per column");
  }
  rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<std::size_t> widths;
  for (const auto& column : columns_) widths.push_back(display_width(column.title));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  std::string out;
  const auto append_line = [&](const auto& cell_of) {
    std::string line;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const std::string& cell = cell_of(i);
      const std::string padding(widths[i] - display_width(cell), ' ');
      if (i > 0) line += "  ";
      line += columns_[i].align == Align::right ? padding + cell : cell + padding;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  };
  append_line([&](std::size_t i) -> const std::string& { return columns_[i].title; });
  for (const auto& row : rows_) {
    append_line([&](std::size_t i) -> const std::string& { return row[i]; });
  }
  return out;
}

std::string format_age(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds)) return not_applicable;
  const double age = std::max(*seconds, 0.0);
  // Below a minute a tenth of a second still says something; rounded down, so 59.96 s is not
  // shown as 60.0s.
  if (age < 60) return fixed(std::floor(age * 10) / 10, 1) + "s";
  const auto whole = static_cast<long long>(age);
  if (whole < 3600) return two_units(whole / 60, "m", whole % 60, "s");
  if (whole < 86400) return two_units(whole / 3600, "h", whole / 60 % 60, "m");
  return two_units(whole / 86400, "d", whole / 3600 % 24, "h");
}

std::string format_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second <= 0) return "0";
  return with_suffix(per_second, per_second < 100 ? 1 : 0);
}

std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes) || bytes < 1024) {
    return fixed(std::isfinite(bytes) ? std::max(bytes, 0.0) : 0.0, 0) + " B";
  }
  static constexpr std::array<const char*, 4> units{"KiB", "MiB", "GiB", "TiB"};
  double value = bytes / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < units.size()) {
    value /= 1024;
    ++unit;
  }
  return fixed(value, 1) + " " + units[unit];
}

std::string format_count(std::uint64_t count) {
  if (count < 10'000) return std::to_string(count);
  return with_suffix(static_cast<double>(count), 0);
}

}  // namespace paperboy::cli
