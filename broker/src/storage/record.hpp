#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/journal.hpp"

namespace paperboy::broker::storage {

// A record on disk: [u32 LE body length][u32 LE CRC-32C of the body][body]; the body starts with
// its type. All integers are little-endian.
enum class RecordType : std::uint8_t {
  enqueue = 1,        // id u64, queue length u16, queue, failures u32, expires_unix_ms u64, frame
  delivered = 2,      // id u64
  settled = 3,        // id u64
  segment_start = 4,  // next id u64: the first record of every segment, so ids are never reused
};

inline constexpr std::size_t record_header_size = 8;
inline constexpr std::size_t enqueue_fixed_body = 1 + 8 + 2 + 4 + 8;
inline constexpr std::size_t id_record_size = record_header_size + 1 + 8;
// A length above this is damage, not a record (frames are bounded far below it).
inline constexpr std::uint32_t max_record_body = 1u << 30;

std::size_t enqueue_record_size(std::string_view queue, std::string_view frame) noexcept;
/// Writes a whole ENQUEUE record (enqueue_record_size bytes) at `out`.
void write_enqueue_record(char* out, MessageId id, std::string_view queue, std::string_view frame,
                          std::uint32_t failures, std::uint64_t expires_unix_ms) noexcept;
/// Writes a whole DELIVERED, SETTLED or SEGMENT_START record (id_record_size bytes) at `out`.
void write_id_record(char* out, RecordType type, std::uint64_t id) noexcept;

/// One record read in place: the views point into the bytes it was parsed from.
struct ParsedRecord {
  enum class Status { ok, truncated, bad };
  Status status = Status::bad;
  std::size_t size = 0;  // header + body, when ok
  const char* why = "";  // when not ok
  RecordType type = RecordType::enqueue;
  MessageId id = 0;
  std::string_view queue, frame;
  std::uint32_t failures = 0;
  std::uint64_t expires_unix_ms = 0;
};

/// Checks and decodes the record at the start of `bytes`: truncated when it runs past the end.
ParsedRecord parse_record(std::string_view bytes) noexcept;

}  // namespace paperboy::broker::storage
