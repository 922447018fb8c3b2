#include "payload.hpp"

#include <cstring>

namespace paperboy::bench {

void fill_payload(char* payload, std::size_t size) noexcept {
  std::memset(payload, 0, size < stamp_size ? size : stamp_size);
  for (std::size_t i = stamp_size; i < size; ++i) {
    payload[i] = static_cast<char>('a' + static_cast<int>(i % 26));
  }
}

}  // namespace paperboy::bench
