// CRC-32C (Castagnoli), the checksum of journal records and snapshots. Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time), a table otherwise; both give the
// same value. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace trading::journal {

// Extends `crc` (0 to start) over `size` bytes.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size);
// The table version, always available (for tests and CPUs without SSE4.2).
std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace trading::journal
