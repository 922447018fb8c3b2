#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_set>

#include "users.hpp"

namespace paperboy::broker {

/// Tokens that passed their Argon2id check, so a reconnecting service costs one fast keyed hash
/// instead of 64 MiB and tens of ms. Only keyed BLAKE2b digests are kept (the key is random and
/// per process), never the tokens; a reload of the users file clears it.
class VerifiedTokens {
 public:
  /// Entries kept at once; when full it starts over (the next connection of each pays once).
  static constexpr std::size_t max_entries = 10'000;

  VerifiedTokens();

  bool contains(const User& user, std::string_view token) const;
  void add(const User& user, std::string_view token);
  void clear() noexcept { digests_.clear(); }

 private:
  std::string digest(const User& user, std::string_view token) const;

  std::array<unsigned char, 32> key_{};
  std::unordered_set<std::string> digests_;
};

}  // namespace paperboy::broker
