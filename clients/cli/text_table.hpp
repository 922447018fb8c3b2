#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// What the operator commands (stats, queues) print: aligned columns and humanised numbers.
namespace paperboy::cli {

/// Columns padded to their widest cell, two spaces apart, no trailing spaces; widths count
/// characters, not bytes, so "—" takes one column.
class TextTable {
 public:
  enum class Align { left, right };
  struct Column {
    std::string title;
    Align align = Align::left;
  };

  explicit TextTable(std::vector<Column> columns);

  /// Adds a row of one cell per column.
  void add_row(std::vector<std::string> cells);

  bool empty() const { return rows_.empty(); }

  /// The title line and every row, each ending in a newline.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// Shown where a value does not apply (a topic's depth) or is unknown (an empty queue's age).
inline constexpr const char* not_applicable = "—";

/// A duration as an operator reads it: 0.4s, 3.2s, 59.9s, 4m10s, 2h05m, 3d04h; "—" for none.
std::string format_age(std::optional<double> seconds);

/// A count per second: 0, 0.4, 12.5, 417, 41.2k, 1.3M.
std::string format_rate(double per_second);

/// A byte count: 0 B, 512 B, 1.5 KiB, 12.0 MiB, 3.2 GiB.
std::string format_bytes(double bytes);

/// A count with thousands kept readable: 999, 41.2k, 1.3M (exact below ten thousand).
std::string format_count(std::uint64_t count);

}  // namespace paperboy::cli
