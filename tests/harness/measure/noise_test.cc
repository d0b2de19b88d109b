#include "harness/measure/noise.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

namespace mapbench {
namespace {

TEST(ProcessTree, ChildrenListsParse) {
  EXPECT_EQ(ParseChildren("123 456 \n"), (std::vector<int64_t>{123, 456}));
  EXPECT_EQ(ParseChildren(""), std::vector<int64_t>{});
  for (const char* bad : {"12x", "-3", "0", "1,2"}) EXPECT_FALSE(ParseChildren(bad)) << bad;
}

// A child's CPU time counts, alive or reaped: the tree's total grows by at least what
// the child says it used (no timing is checked, only the sum).
TEST(ProcessTree, IncludesChildrenAliveAndReaped) {
  const uint64_t before = ProcessTreeCpuNs();
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 50000000; ++i) x = x + i;
    timespec used;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    uint64_t ns = static_cast<uint64_t>(used.tv_sec) * 1000000000ull + static_cast<uint64_t>(used.tv_nsec);
    ssize_t wrote = write(ready[1], &ns, sizeof ns);
    char go;
    ssize_t got = read(done[0], &go, 1);  // stay alive until the parent has looked
    _exit(wrote == sizeof ns && got == 1 ? 0 : 1);
  }
  uint64_t child_ns = 0;
  ASSERT_EQ(read(ready[0], &child_ns, sizeof child_ns), static_cast<ssize_t>(sizeof child_ns));
  const uint64_t alive = ProcessTreeCpuNs();
  ASSERT_EQ(write(done[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const uint64_t reaped = ProcessTreeCpuNs();
  EXPECT_GE(alive - before, child_ns);
  EXPECT_GE(reaped - before, child_ns);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
}

}  // namespace
}  // namespace mapbench
