#include "harness/measure/noise.h"

#include <gtest/gtest.h>

namespace mapbench {
namespace {

TEST(Noise, ProcStatCpuLineSumsTicksAndTakesSteal) {
  auto ticks = ParseProcStatCpu("cpu  144802 0 16647 31945 1173 0 122 291 7 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n");
  ASSERT_TRUE(ticks);
  EXPECT_EQ(ticks->total, 144802u + 16647 + 31945 + 1173 + 122 + 291);  // guest is inside user
  EXPECT_EQ(ticks->steal, 291u);
  for (const char* bad : {"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu  1 2 3\n", "cpu  1 2 x 4 5 6 7 8\n",
                          "intr 1 2 3 4 5 6 7 8\n", "cpu  1 2 3 4 5 6 7 -8\n"}) {
    EXPECT_FALSE(ParseProcStatCpu(bad)) << bad;
  }
}

NoiseSample At(uint64_t total, uint64_t steal, uint64_t wait_ns, uint64_t wall_ns) {
  return NoiseSample{CpuTicks{total, steal}, wait_ns, wall_ns};
}

TEST(Noise, TotalsAreSumsOverTheStretches) {
  NoiseTotals totals;
  EXPECT_FALSE(totals.StealFraction());
  EXPECT_FALSE(totals.CpuWaitFraction());
  totals.Add(At(100, 10, 0, 0), At(200, 30, 250, 1000));    // 100 ticks, 20 stolen; 250 of 1000 ns waited
  totals.Add(At(500, 40, 900, 5000), At(600, 40, 900, 6000));  // the paused gap in between is not counted
  EXPECT_DOUBLE_EQ(*totals.StealFraction(), 20.0 / 200);
  EXPECT_DOUBLE_EQ(*totals.CpuWaitFraction(), 250.0 / 2000);
}

TEST(Noise, UnknownWhenASourceIsMissing) {
  NoiseTotals totals;
  NoiseSample no_proc{std::nullopt, std::nullopt, 0};
  totals.Add(no_proc, NoiseSample{std::nullopt, std::nullopt, 1000});
  EXPECT_FALSE(totals.StealFraction());
  EXPECT_FALSE(totals.CpuWaitFraction());
  NoiseTotals no_tick;
  no_tick.Add(At(100, 1, 0, 0), At(100, 1, 0, 10));  // too short for a tick: unknown, not 0
  EXPECT_FALSE(no_tick.StealFraction());
  EXPECT_DOUBLE_EQ(*no_tick.CpuWaitFraction(), 0.0);
}

TEST(Noise, ReadsThisMachine) {
  NoiseSample sample = ReadNoise();
  EXPECT_TRUE(sample.cpu) << "/proc/stat";
  EXPECT_GT(sample.wall_ns, 0u);
}

}  // namespace
}  // namespace mapbench
