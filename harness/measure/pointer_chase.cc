#include "harness/measure/pointer_chase.h"

#include <random>

namespace mapbench {

std::vector<uint32_t> RandomCycle(uint32_t n, uint64_t seed) {
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 generator(seed);
  // Sattolo: swapping only with earlier positions yields a single n-cycle.
  for (uint32_t i = n; i > 1; --i) {
    std::uniform_int_distribution<uint32_t> pick(0, i - 2);
    std::swap(order[i - 1], order[pick(generator)]);
  }
  std::vector<uint32_t> next(n);
  for (uint32_t i = 0; i < n; ++i) next[i] = order[i];
  return next;
}

uint64_t CycleLength(const std::vector<uint32_t>& next, uint32_t start) {
  const uint64_t n = next.size();
  uint32_t at = start;
  for (uint64_t steps = 1; steps <= n; ++steps) {
    at = next[at];
    if (at == start) return steps;
  }
  return n + 1;
}

std::vector<char*> SpreadSlots(const std::vector<std::pair<char*, size_t>>& spans, size_t stride,
                               uint64_t seed) {
  constexpr size_t kLine = 64;
  const size_t lines = stride >= kLine ? stride / kLine : 1;
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<size_t> line(0, lines - 1);
  std::vector<char*> slots;
  for (const auto& [base, bytes] : spans) {
    for (size_t offset = 0; offset + stride <= bytes; offset += stride) {
      slots.push_back(base + offset + line(generator) * kLine);
    }
  }
  return slots;
}

void* BuildRing(const std::vector<char*>& slots, uint64_t seed) {
  if (slots.empty()) return nullptr;
  const std::vector<uint32_t> next = RandomCycle(static_cast<uint32_t>(slots.size()), seed);
  for (size_t i = 0; i < slots.size(); ++i) {
    *reinterpret_cast<void**>(slots[i]) = slots[next[i]];
  }
  return slots[0];
}

__attribute__((noinline)) void* Chase(void* start, uint64_t steps) {
  void* p = start;
  for (uint64_t i = 0; i < steps; ++i) p = *static_cast<void* volatile*>(p);
  return p;
}

uint64_t RingLength(void* start, uint64_t limit) {
  void* p = start;
  for (uint64_t steps = 1; steps <= limit; ++steps) {
    p = *static_cast<void**>(p);
    if (p == start) return steps;
  }
  return limit + 1;
}

}  // namespace mapbench
