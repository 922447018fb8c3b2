#pragma once

#include <cstdint>
#include <string_view>

namespace paperboy::broker::storage {

/// CRC-32C (Castagnoli), the checksum of every journal record: the SSE4.2 instruction where the
/// CPU has it (about 20 GB/s, so recovery is bound by reading, not checking), else a table.
std::uint32_t crc32c(std::string_view bytes) noexcept;

}  // namespace paperboy::broker::storage
