#include "harness/measure/access.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "harness/measure/checksum.h"

namespace mapbench {

std::string PatternName(Pattern pattern) {
  return pattern == Pattern::kSequential ? "seq" : "random";
}

std::vector<uint32_t> BlockOrder(uint64_t count, Pattern pattern) {
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  if (pattern == Pattern::kRandom) {
    std::mt19937_64 generator(0x6d6170626e6368ull);  // fixed: every run visits the same order
    std::shuffle(order.begin(), order.end(), generator);
  }
  return order;
}

uint64_t SumBlocks(const char* base, uint64_t block_bytes, const std::vector<uint32_t>& order) {
  uint64_t sum = 0;
  for (uint32_t block : order) sum += SumWords(base + block * block_bytes, block_bytes);
  return sum;
}

}  // namespace mapbench
