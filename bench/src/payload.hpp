#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace paperboy::bench {

// Every payload starts with a 16-byte stamp, written in place into the batch buffer just before
// it is sent; the rest of the payload is filler. 16 bytes is also the smallest --size, so the
// 16 B workload carries nothing but the stamp.
//
//   [u64 sent_ns][u32 seq][u16 publisher][u16 magic]   (host byte order: one process reads it)

/// Bytes of the stamp at the front of every payload (and the smallest payload size).
inline constexpr std::size_t stamp_size = 16;

/// What a payload says about itself: who sent it, its number in that publisher's stream, when.
struct Stamp {
  std::uint64_t sent_ns = 0;
  std::uint32_t seq = 0;
  std::uint16_t publisher = 0;
};

/// Marks a payload as written by paperboy-bench.
inline constexpr std::uint16_t stamp_magic = 0xB0B5;

// Inline: both run once per message, on the publishing and the receiving side.

/// Writes the stamp at the front of a payload (which has at least stamp_size bytes).
inline void write_stamp(char* payload, const Stamp& stamp) noexcept {
  std::memcpy(payload, &stamp.sent_ns, 8);
  std::memcpy(payload + 8, &stamp.seq, 4);
  std::memcpy(payload + 12, &stamp.publisher, 2);
  std::memcpy(payload + 14, &stamp_magic, 2);
}

/// Reads the stamp of a received payload; nullopt if it is too short or its magic is wrong.
inline std::optional<Stamp> read_stamp(std::string_view payload) noexcept {
  if (payload.size() < stamp_size) return std::nullopt;
  std::uint16_t magic = 0;
  std::memcpy(&magic, payload.data() + 14, 2);
  if (magic != stamp_magic) return std::nullopt;
  Stamp stamp;
  std::memcpy(&stamp.sent_ns, payload.data(), 8);
  std::memcpy(&stamp.seq, payload.data() + 8, 4);
  std::memcpy(&stamp.publisher, payload.data() + 12, 2);
  return stamp;
}

/// Fills a payload of `size` bytes: a zero stamp, then a recognisable filler pattern.
void fill_payload(char* payload, std::size_t size) noexcept;

}  // namespace paperboy::bench
