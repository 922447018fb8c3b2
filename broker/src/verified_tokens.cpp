#include "verified_tokens.hpp"

#include <sodium.h>

#include <stdexcept>

namespace paperboy::broker {

VerifiedTokens::VerifiedTokens() {
  static_assert(sizeof key_ == crypto_generichash_KEYBYTES);
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  crypto_generichash_keygen(key_.data());
}

std::string VerifiedTokens::digest(const User& user, std::string_view token) const {
  // The stored hash is part of the input: a user whose token_hash changed misses the cache.
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), crypto_generichash_BYTES);
  const auto feed = [&](std::string_view part) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                              part.size());
    const unsigned char separator = 0;
    crypto_generichash_update(&state, &separator, 1);
  };
  feed(user.name);
  feed(user.token_hash);
  feed(token);
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

bool VerifiedTokens::contains(const User& user, std::string_view token) const {
  return digests_.contains(digest(user, token));
}

void VerifiedTokens::add(const User& user, std::string_view token) {
  if (digests_.size() >= max_entries) digests_.clear();
  digests_.insert(digest(user, token));
}

}  // namespace paperboy::broker
