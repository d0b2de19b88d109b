#include "harness/measure/pointer_chase.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

namespace mapbench {
namespace {

TEST(PointerChase, RandomCycleIsOneCycleThroughEveryIndex) {
  for (uint32_t n : {1u, 2u, 3u, 10u, 1000u}) {
    std::vector<uint32_t> next = RandomCycle(n, 42);
    ASSERT_EQ(next.size(), n);
    std::vector<uint32_t> sorted = next;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i) << "not a permutation, n=" << n;
    EXPECT_EQ(CycleLength(next, 0), n) << "n=" << n;
    EXPECT_EQ(CycleLength(next, n - 1), n);
  }
}

TEST(PointerChase, RandomCycleIsReproducibleAndSeedDependent) {
  EXPECT_EQ(RandomCycle(500, 7), RandomCycle(500, 7));
  EXPECT_NE(RandomCycle(500, 7), RandomCycle(500, 8));
}

TEST(PointerChase, CycleLengthDetectsShortCycles) {
  // 0 -> 1 -> 0 and 2 -> 3 -> 2: two cycles, not a ring through all four.
  std::vector<uint32_t> next = {1, 0, 3, 2};
  EXPECT_EQ(CycleLength(next, 0), 2u);
  std::vector<uint32_t> stuck = {1, 1};  // never returns to 0
  EXPECT_EQ(CycleLength(stuck, 0), 3u);
}

TEST(PointerChase, SpreadSlotsOnePerStrideInsideEachSpan) {
  std::vector<char> a(4 * 4096), b(2 * 4096);
  auto slots = SpreadSlots({{a.data(), a.size()}, {b.data(), b.size()}}, 4096, 1);
  ASSERT_EQ(slots.size(), 6u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_GE(slots[i], a.data() + i * 4096);
    EXPECT_LT(slots[i], a.data() + (i + 1) * 4096);
    EXPECT_EQ((slots[i] - a.data()) % 64, 0);
  }
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_GE(slots[4 + i], b.data() + i * 4096);
    EXPECT_LT(slots[4 + i], b.data() + (i + 1) * 4096);
  }
  // Not all at the same offset (spread over cache sets).
  std::set<long> offsets;
  for (size_t i = 0; i < 4; ++i) offsets.insert((slots[i] - a.data()) % 4096);
  EXPECT_GT(offsets.size(), 1u);
}

TEST(PointerChase, RingVisitsEverySlotOnceAndReturns) {
  alignas(64) static char buffer[64 * 4096];
  auto slots = SpreadSlots({{buffer, sizeof(buffer)}}, 4096, 3);
  void* start = BuildRing(slots, 9);
  ASSERT_EQ(start, slots[0]);
  EXPECT_EQ(RingLength(start, slots.size()), slots.size());
  EXPECT_EQ(Chase(start, slots.size()), start);
  std::set<void*> seen;
  void* p = start;
  for (size_t i = 0; i < slots.size(); ++i) {
    seen.insert(p);
    p = *static_cast<void**>(p);
  }
  EXPECT_EQ(seen.size(), slots.size());
  // Broken ring: a slot pointing at itself is found by RingLength.
  *reinterpret_cast<void**>(slots[5]) = slots[5];
  EXPECT_EQ(RingLength(start, slots.size()), slots.size() + 1);
}

}  // namespace
}  // namespace mapbench
