// The journal's record format: CRC-32C, and every record type written and parsed back in place.
#include <doctest/doctest.h>

#include <string>

#include "storage/crc32c.hpp"
#include "storage/record.hpp"

using namespace paperboy::broker::storage;

TEST_CASE("storage: crc32c matches the Castagnoli check value") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  // 60 bytes: whole 8-byte steps of the SSE4.2 loop and a tail (value from a bitwise reference).
  const std::string text = "the quick brown fox jumps over the lazy dog, again and again";
  CHECK(crc32c(text) == 0xD270E277u);
}

TEST_CASE("storage: an ENQUEUE record parses back to what was written") {
  const std::string queue = "/queue/invoices", frame = "a version-2 MSG frame";
  std::string bytes(enqueue_record_size(queue, frame), '\0');
  write_enqueue_record(bytes.data(), 77, queue, frame, 3, 1234567);
  // The parsed fields are views into what was parsed: it must outlive them.
  const std::string followed = bytes + "next record";
  const ParsedRecord record = parse_record(followed);
  REQUIRE(record.status == ParsedRecord::Status::ok);
  CHECK(record.size == bytes.size());
  CHECK(record.type == RecordType::enqueue);
  CHECK(record.id == 77);
  CHECK(record.queue == queue);
  CHECK(record.frame == frame);
  CHECK(record.failures == 3);
  CHECK(record.expires_unix_ms == 1234567);

  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK(parse_record(std::string_view(bytes).substr(0, cut)).status ==
          ParsedRecord::Status::truncated);
  }
  bytes[bytes.size() - 1] ^= 0x01;
  CHECK(parse_record(bytes).status == ParsedRecord::Status::bad);
}

TEST_CASE("storage: id records parse back, and damage is told from a short read") {
  for (const auto type : {RecordType::delivered, RecordType::settled, RecordType::segment_start}) {
    std::string bytes(id_record_size, '\0');
    write_id_record(bytes.data(), type, 0xFEEDu);
    const ParsedRecord record = parse_record(bytes);
    REQUIRE(record.status == ParsedRecord::Status::ok);
    CHECK(record.type == type);
    CHECK(record.id == 0xFEEDu);
    CHECK(record.size == id_record_size);
  }
  CHECK(parse_record(std::string(16, '\0')).status == ParsedRecord::Status::bad);  // length 0
  CHECK(parse_record(std::string(16, '\xff')).status == ParsedRecord::Status::bad);
}
