#pragma once

// Big-endian integer access for the codec's own sources; not part of the public API.

#include <cstddef>
#include <cstdint>

namespace paperboy::protocol::detail {

template <class T>
inline T load_be(const char* p) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8) | static_cast<T>(static_cast<unsigned char>(p[i])));
  }
  return v;
}

template <class T>
inline char* store_be(char* p, T v) noexcept {
  for (std::size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<char>(static_cast<unsigned char>(v & 0xFF));
    if constexpr (sizeof(T) > 1) v = static_cast<T>(v >> 8);
  }
  return p + sizeof(T);
}

}  // namespace paperboy::protocol::detail
