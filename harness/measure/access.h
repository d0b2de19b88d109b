// Block-wise consumption of memory, shared by every workload that reads bytes, so that
// a file mapping and the ceiling run the very same loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mapbench {

enum class Pattern { kSequential, kRandom };
std::string PatternName(Pattern pattern);  // "seq" / "random"

// Block indices 0..count-1 in sequence, or shuffled with a fixed seed (reproducible).
std::vector<uint32_t> BlockOrder(uint64_t count, Pattern pattern);

// Sum of the words of each block, visited in `order`; equals SumWords over the region.
uint64_t SumBlocks(const char* base, uint64_t block_bytes, const std::vector<uint32_t>& order);

}  // namespace mapbench
