#include "harness/measure/checksum.h"

#include <cstdio>

namespace mapbench {

uint64_t ScratchWord(uint64_t index) {
  uint64_t z = index + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t SumWords(const void* data, size_t bytes) {
  const uint64_t* words = static_cast<const uint64_t*>(data);
  size_t n = bytes / sizeof(uint64_t);
  // Four independent sums let the compiler vectorize and keep loads in flight.
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += words[i];
    s1 += words[i + 1];
    s2 += words[i + 2];
    s3 += words[i + 3];
  }
  for (; i < n; ++i) s0 += words[i];
  return s0 + s1 + s2 + s3;
}

std::string ChecksumText(uint64_t checksum) {
  char text[24];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(checksum));
  return text;
}

uint64_t ExpectedChecksum(uint64_t size) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < size / sizeof(uint64_t); ++i) sum += ScratchWord(i);
  return sum;
}

}  // namespace mapbench
