// The content every scratch file holds (word i is ScratchWord(i)) and the checksum
// every workload verifies its bytes against: pure arithmetic, no files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mapbench {

// The value of the 64-bit word at index i of every scratch file (splitmix64).
uint64_t ScratchWord(uint64_t index);

// Sum (mod 2^64) of the 64-bit words in [data, data+bytes); bytes % 8 == 0.
// Order-independent, so a random-order pass gives the same sum; memory-bound.
uint64_t SumWords(const void* data, size_t bytes);

// The checksum of a scratch file of `size` bytes, without reading it.
uint64_t ExpectedChecksum(uint64_t size);

// A checksum as 16 hex digits, as rows and checksum files show it.
std::string ChecksumText(uint64_t checksum);

}  // namespace mapbench
