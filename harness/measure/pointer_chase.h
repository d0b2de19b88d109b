// Dependent-load walks for latency and TLB-reach measurements: a single random cycle
// through slots spread over a region, so every load waits for the previous one and
// the hardware prefetchers cannot guess the next address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mapbench {

// next[i] of a random permutation made of one cycle through all n indices (Sattolo's
// algorithm, fixed seed: every run walks the same order).
std::vector<uint32_t> RandomCycle(uint32_t n, uint64_t seed);

// Steps from `start` until it comes back (n + 1 if it never does within n steps).
uint64_t CycleLength(const std::vector<uint32_t>& next, uint32_t start);

// One slot per `stride` bytes of each span, at a pseudo-random 64-byte line inside the
// stride (so slots do not all land in the same cache sets). Spans are (address, bytes).
std::vector<char*> SpreadSlots(const std::vector<std::pair<char*, size_t>>& spans, size_t stride,
                               uint64_t seed);

// Stores in each slot the address of the next slot along a random single cycle; returns
// the first slot. Slots must be 8-byte aligned and writable.
void* BuildRing(const std::vector<char*>& slots, uint64_t seed);

// Follows `steps` pointers from `start` (each load depends on the previous one).
void* Chase(void* start, uint64_t steps);

// Pointers followed from `start` until it comes back, or limit + 1 if it does not.
uint64_t RingLength(void* start, uint64_t limit);

}  // namespace mapbench
