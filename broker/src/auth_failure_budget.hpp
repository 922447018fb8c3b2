#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace paperboy::broker {

/// Failed authentications per source address in a sliding minute: once an address has used up
/// its failures, its next attempts are refused before any hashing, so guessing costs the
/// attacker a minute per few guesses and the broker nothing.
class AuthFailureBudget {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration window = std::chrono::minutes(1);
  /// Addresses remembered at once: past this, expired windows are forgotten first.
  static constexpr std::size_t max_addresses = 100'000;

  explicit AuthFailureBudget(std::uint32_t failures) noexcept : failures_(failures) {}

  void set_failures(std::uint32_t failures) noexcept { failures_ = failures; }

  /// True when `address` may not try again yet.
  bool exhausted(const std::string& address, Clock::time_point now) const {
    const auto it = windows_.find(address);
    return it != windows_.end() && now - it->second.started < window &&
           it->second.failures >= failures_;
  }

  void record_failure(const std::string& address, Clock::time_point now) {
    if (windows_.size() >= max_addresses) forget_expired(now);
    Window& entry = windows_[address];
    if (now - entry.started >= window) entry = {now, 0};
    ++entry.failures;
  }

 private:
  struct Window {
    Clock::time_point started{};
    std::uint32_t failures = 0;
  };

  void forget_expired(Clock::time_point now) {
    std::erase_if(windows_,
                  [&](const auto& entry) { return now - entry.second.started >= window; });
    // Still full: a flood from that many addresses in one minute. Forgetting them all costs
    // them nothing they could not get by waiting, and keeps our memory bounded.
    if (windows_.size() >= max_addresses) windows_.clear();
  }

  std::uint32_t failures_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace paperboy::broker
