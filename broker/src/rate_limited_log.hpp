#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <utility>

namespace paperboy::broker {

/// One kind of log line that a client can provoke per message or per frame. The first is written
/// at once; later ones at most once per interval, each line ending in how many occurred since
/// the previous line and in all (`occurrences=N total=M`), so a flood costs the log a line a
/// second, never a line each, and still says how big it was.
class RateLimitedLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimitedLog(spdlog::level::level_enum level = spdlog::level::warn,
                          Clock::duration interval = std::chrono::seconds(1)) noexcept
      : level_(level), interval_(interval) {}

  /// Counts one occurrence and writes its line if one is due.
  template <class... Args>
  void operator()(fmt::format_string<Args...> format, Args&&... args) {
    ++total_;
    ++since_line_;
    if (!spdlog::should_log(level_)) return;
    const auto now = Clock::now();
    if (written_any_ && now - last_line_ < interval_) return;
    spdlog::log(level_, "{} occurrences={} total={}",
                fmt::format(format, std::forward<Args>(args)...), since_line_, total_);
    written_any_ = true;
    last_line_ = now;
    since_line_ = 0;
  }

  /// Occurrences since start-up, logged or not.
  std::uint64_t total() const noexcept { return total_; }

 private:
  spdlog::level::level_enum level_;
  Clock::duration interval_;
  Clock::time_point last_line_{};
  std::uint64_t total_ = 0;
  std::uint64_t since_line_ = 0;
  bool written_any_ = false;
};

}  // namespace paperboy::broker
