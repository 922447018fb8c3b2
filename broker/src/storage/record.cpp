#include "storage/record.hpp"

#include <bit>
#include <cstring>

#include "storage/crc32c.hpp"

namespace paperboy::broker::storage {

static_assert(std::endian::native == std::endian::little,
              "the journal stores integers little-endian and copies them as they are");

namespace {

template <class T>
char* put(char* out, T value) noexcept {
  std::memcpy(out, &value, sizeof value);
  return out + sizeof value;
}

template <class T>
T get(const char* in) noexcept {
  T value;
  std::memcpy(&value, in, sizeof value);
  return value;
}

// The header is written last, once the body (and so its CRC) is there.
void seal(char* record, std::size_t body_size) noexcept {
  const std::string_view body(record + record_header_size, body_size);
  put(put(record, static_cast<std::uint32_t>(body_size)), crc32c(body));
}

ParsedRecord failed(ParsedRecord::Status status, const char* why) noexcept {
  ParsedRecord record;
  record.status = status;
  record.why = why;
  return record;
}

}  // namespace

std::size_t enqueue_record_size(std::string_view queue, std::string_view frame) noexcept {
  return record_header_size + enqueue_fixed_body + queue.size() + frame.size();
}

void write_enqueue_record(char* out, MessageId id, std::string_view queue, std::string_view frame,
                          std::uint32_t failures, std::uint64_t expires_unix_ms) noexcept {
  char* at = out + record_header_size;
  at = put(at, static_cast<std::uint8_t>(RecordType::enqueue));
  at = put(at, id);
  at = put(at, static_cast<std::uint16_t>(queue.size()));
  std::memcpy(at, queue.data(), queue.size());
  at += queue.size();
  at = put(at, failures);
  at = put(at, expires_unix_ms);
  std::memcpy(at, frame.data(), frame.size());
  seal(out, enqueue_fixed_body + queue.size() + frame.size());
}

void write_id_record(char* out, RecordType type, std::uint64_t id) noexcept {
  put(put(out + record_header_size, static_cast<std::uint8_t>(type)), id);
  seal(out, id_record_size - record_header_size);
}

ParsedRecord parse_record(std::string_view bytes) noexcept {
  using Status = ParsedRecord::Status;
  if (bytes.size() < record_header_size) return failed(Status::truncated, "short header");
  const auto body_size = get<std::uint32_t>(bytes.data());
  if (body_size < 1 + 8 || body_size > max_record_body) {
    return failed(Status::bad, "impossible length");
  }
  if (bytes.size() - record_header_size < body_size) return failed(Status::truncated, "short body");
  const std::string_view body = bytes.substr(record_header_size, body_size);
  if (crc32c(body) != get<std::uint32_t>(bytes.data() + 4)) return failed(Status::bad, "bad CRC");

  ParsedRecord record;
  record.size = record_header_size + body_size;
  record.type = static_cast<RecordType>(body[0]);
  record.id = get<std::uint64_t>(body.data() + 1);
  switch (record.type) {
    case RecordType::delivered:
    case RecordType::settled:
    case RecordType::segment_start:
      if (body_size != 1 + 8) return failed(Status::bad, "bad id record length");
      break;
    case RecordType::enqueue: {
      if (body_size < enqueue_fixed_body) return failed(Status::bad, "short enqueue record");
      const auto queue_size = get<std::uint16_t>(body.data() + 9);
      if (body_size < enqueue_fixed_body + queue_size) {
        return failed(Status::bad, "queue name runs past the record");
      }
      const char* at = body.data() + 11;
      record.queue = std::string_view(at, queue_size);
      at += queue_size;
      record.failures = get<std::uint32_t>(at);
      record.expires_unix_ms = get<std::uint64_t>(at + 4);
      at += 12;
      record.frame = std::string_view(at, static_cast<std::size_t>(body.data() + body.size() - at));
      break;
    }
    default: return failed(Status::bad, "unknown record type");
  }
  record.status = Status::ok;
  return record;
}

}  // namespace paperboy::broker::storage
