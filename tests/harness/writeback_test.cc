#include "harness/writeback.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/file_content.h"
#include "harness/system_files.h"

namespace mapbench {
namespace {

const char kVmstatBefore[] = R"(nr_free_pages 5474211
nr_dirty 47
nr_writeback 0
nr_dirtied 616940
nr_written 587567
pgfault 10127272
)";
const char kVmstatAfter[] = R"(nr_free_pages 5474000
nr_dirty 12
nr_writeback 0
nr_dirtied 617196
nr_written 587823
pgfault 10127300
thp_fault_alloc 3
)";

TEST(CounterDeltas, VmstatCountersAndGauges) {
  auto deltas =
      CounterDeltas(ParseKeyValues(kVmstatBefore), ParseKeyValues(kVmstatAfter),
                    {"nr_dirtied", "nr_written", "nr_dirty", "thp_fault_alloc", "absent"});
  EXPECT_EQ(deltas.at("nr_dirtied"), 256);
  EXPECT_EQ(deltas.at("nr_written"), 256);
  EXPECT_EQ(deltas.at("nr_dirty"), -35);           // a gauge can go down
  EXPECT_EQ(deltas.count("thp_fault_alloc"), 0u);  // missing before: no delta, not a bogus one
  EXPECT_EQ(deltas.count("absent"), 0u);
}

TEST(BlockStat, ParsesEveryKernelLayout) {
  // 17 fields (Linux 5.5+), as in /sys/block/vda/stat.
  auto full = ParseBlockStat(
      "   14630     5231  1275830    11650    43390    31027  2541818   139071        0    "
      "93632   169813        0        0        0        0     8779    19091\n");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->at("writes"), 43390u);
  EXPECT_EQ(full->at("sectors_written"), 2541818u);
  EXPECT_EQ(full->at("flushes"), 8779u);
  auto old = ParseBlockStat("1 2 3 4 5 6 7 8 9 10 11");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->at("time_in_queue"), 11u);
  EXPECT_EQ(old->count("flushes"), 0u);
  EXPECT_FALSE(ParseBlockStat("1 2 3"));
  EXPECT_FALSE(ParseBlockStat("1 2 3 4 5 6 7 8 9 10 x"));
  EXPECT_FALSE(ParseBlockStat(""));
}

TEST(BlockStat, PathComesFromTheFileSystemDevice) {
  SystemFiles fixture("/nonexistent-root");
  std::string error;
  UniqueFd fd(open(".", O_RDONLY | O_DIRECTORY));
  EXPECT_FALSE(BlockStatPathFor(fd.get(), fixture, &error));
  EXPECT_NE(error.find("/sys/dev/block/"), std::string::npos);
  EXPECT_FALSE(BlockStatPathFor(-1, SystemFiles(), &error));
}

TEST(DeltaSeries, MedianIgnoresABurstFromElsewhere) {
  DeltaSeries series;
  for (int64_t written : {256, 256, 70000, 256, 250}) series.Add({{"nr_written", written}});
  series.Add({{"nr_dirtied", 1}});
  EXPECT_EQ(series.Median("nr_written"), 256.0);
  EXPECT_EQ(series.samples("nr_written"), 5u);
  EXPECT_EQ(series.Median("nr_dirtied"), 1.0);
  EXPECT_FALSE(series.Median("pgfault"));
  series.Add({{"nr_dirtied", 4}});
  EXPECT_EQ(series.Median("nr_dirtied"), 2.5);
}

TEST(FileCacheStat, SeesDirtyPagesUntilSynced) {
  std::string error;
  auto file = MakeGenerationFile(".", 16 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  auto clean = FileCacheStat(file->fd.get(), 0, 0, &error);
  if (!clean && errno == ENOSYS) GTEST_SKIP() << error;
  ASSERT_TRUE(clean) << error;
  EXPECT_EQ(clean->dirty, 0u);
  EXPECT_EQ(clean->cached, 16u);
  const uint64_t word = GenerationWord(1, 512);
  ASSERT_EQ(pwrite(file->fd.get(), &word, 8, 4096), 8);
  auto dirty = FileCacheStat(file->fd.get(), 0, 0, &error);
  ASSERT_TRUE(dirty) << error;
  EXPECT_GE(dirty->dirty, 1u);  // one page, or a whole folio where folios are large
  auto outside = FileCacheStat(file->fd.get(), 8 * 4096, 8 * 4096, &error);
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->dirty, 0u);  // the range counts: 4 KiB folios here (4 KiB writes)
  ASSERT_EQ(fdatasync(file->fd.get()), 0);
  EXPECT_EQ(FileCacheStat(file->fd.get(), 0, 0, &error)->dirty, 0u);
  EXPECT_FALSE(FileCacheStat(-1, 0, 0, &error));
}

// The msync family's check, step by step: what the call left dirty, then eviction and
// a read-back from disk that only the new generation passes.
TEST(FileCacheStat, MsyncValidationSequence) {
  std::string error;
  auto file = MakeGenerationFile(".", 8 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  if (!FileCacheStat(file->fd.get(), 0, 0, &error)) GTEST_SKIP() << error;
  const size_t size = file->size;
  for (int flags : {MS_ASYNC, MS_SYNC}) {
    const uint64_t generation = flags == MS_ASYNC ? 1 : 2;
    void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd.get(), 0);
    ASSERT_NE(map, MAP_FAILED);
    StampWords(static_cast<char*>(map) + 4096, 4096, 512, Expected{generation, 1, 0});
    ASSERT_EQ(msync(map, size, flags), 0);
    auto left = FileCacheStat(file->fd.get(), 0, 0, &error);
    ASSERT_TRUE(left) << error;
    // MS_ASYNC starts no writeback on current kernels; MS_SYNC returns with none dirty.
    EXPECT_EQ(left->dirty, flags == MS_ASYNC ? 1u : 0u);
    munmap(map, size);
    ASSERT_EQ(fdatasync(file->fd.get()), 0);
    ASSERT_EQ(posix_fadvise(file->check.get(), 4096, 4096, POSIX_FADV_DONTNEED), 0);
    EXPECT_EQ(FileCacheStat(file->fd.get(), 4096, 4096, &error)->cached, 0u);
    EXPECT_FALSE(CheckFile(file->check.get(), 4096, 4096, Expected{generation, 1, 0}));
    auto stale = CheckFile(file->check.get(), 4096, 4096, Expected{generation + 1, 1, 0});
    ASSERT_TRUE(stale);  // an older generation on disk cannot pass for the new one
    EXPECT_NE(stale->find("holds generation " + std::to_string(generation)), std::string::npos);
  }
}

}  // namespace
}  // namespace mapbench
