#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace paperboy::billing {

/// A calendar date named in a billing message: exactly `YYYY-MM-DD` (year 0001 to 9999) and a
/// day that exists (2024-02-29 does, 2025-02-30 does not).
class BillingDate {
 public:
  /// The date `text` names, or nothing when it is not one.
  static std::optional<BillingDate> parse(std::string_view text);

  /// `YYYY-MM-DD`, as the database keeps dates (so they compare as strings).
  const std::string& text() const { return text_; }
  /// January 1st of the same year, `YYYY-01-01`.
  std::string first_of_year() const { return text_.substr(0, 4) + "-01-01"; }

 private:
  explicit BillingDate(std::string_view text) : text_(text) {}
  std::string text_;
};

}  // namespace paperboy::billing
