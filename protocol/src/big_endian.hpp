#pragma once

// Big-endian integer access for the codec's own sources; not part of the public API.
//
// One unaligned load or store and one byte swap per integer, not a loop over its bytes: every
// PUB decoded and every MSG encoded goes through here. The byte loops cost the broker about 120
// of its 1,080 instructions per queue message (callgrind, 1→4 at 128 B; bench/RESULTS.md).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace paperboy::protocol::detail {

template <class T>
constexpr T to_big_endian(T v) noexcept {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (sizeof(T) == 1 || std::endian::native == std::endian::big) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    static_assert(sizeof(T) == 8);
    return __builtin_bswap64(v);
  }
}

template <class T>
inline T load_be(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return to_big_endian(v);
}

template <class T>
inline char* store_be(char* p, T v) noexcept {
  v = to_big_endian(v);
  std::memcpy(p, &v, sizeof(T));
  return p + sizeof(T);
}

}  // namespace paperboy::protocol::detail
