#include "harness/kernel/vma.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

namespace mapbench {
namespace {

const char kMaps[] =
    "55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000200000 r--p 00000000 00:00 0 \n"
    "7f0000200000-7f0000400000 rw-p 00000000 00:00 0\n"
    "7f0000400000-7f0000600000 rw-s 00000000 00:0f 1234                       /dev/shm/x "
    "(deleted)\n"
    "garbage\n"
    "zz-7f rw-p 0 0 0\n";

TEST(Maps, ParsesEntriesAndPaths) {
  auto entries = ParseMaps(kMaps);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].path, "[heap]");
  EXPECT_EQ(entries[1].begin, 0x7f0000000000u);
  EXPECT_EQ(entries[1].permissions, "r--p");
  EXPECT_EQ(entries[1].path, "");
  EXPECT_EQ(entries[3].path, "/dev/shm/x (deleted)");
}

TEST(Maps, RangesAndPermissions) {
  auto entries = ParseMaps(kMaps);
  EXPECT_EQ(VmasInRange(entries, 0x7f00001ff000, 0x7f0000201000).size(), 2u);
  EXPECT_TRUE(VmasInRange(entries, 0x1000, 0x2000).empty());
  EXPECT_TRUE(RangeHasPermissions(entries, 0x7f0000000000, 0x7f0000200000, "r--p"));
  EXPECT_FALSE(RangeHasPermissions(entries, 0x7f0000000000, 0x7f0000201000, "r--p"));
  EXPECT_TRUE(RangeHasPermissions(entries, 0x7f0000200000, 0x7f0000300000, "rw-p"));
  EXPECT_FALSE(RangeHasPermissions(entries, 0x7f0000700000, 0x7f0000800000, "rw-p"));  // unmapped
  EXPECT_FALSE(RangeHasPermissions(entries, 0x55d0c0000000, 0x7f0000000000, "rw-p"));  // gap
  // An empty range inside a VMA overlaps nothing (found by tests/fuzz/maps_fuzzer).
  EXPECT_TRUE(VmasInRange(entries, 0x7f0000100000, 0x7f0000100000).empty());
  EXPECT_TRUE(RangeHasPermissions(entries, 0x7f0000100000, 0x7f0000100000, "rw-p"));
}

TEST(Maps, SeesOwnMprotect) {
  const size_t size = 16 * 4096;
  char* region = static_cast<char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  const auto begin = reinterpret_cast<uintptr_t>(region);
  ASSERT_EQ(mprotect(region + 4096, 4096, PROT_READ), 0);
  auto entries = ReadOwnMaps(SystemFiles());
  EXPECT_TRUE(RangeHasPermissions(entries, begin + 4096, begin + 8192, "r--p"));
  EXPECT_TRUE(RangeHasPermissions(entries, begin + 8192, begin + size, "rw-p"));
  munmap(region, size);
  EXPECT_TRUE(VmasInRange(ReadOwnMaps(SystemFiles()), begin, begin + size).empty());
}

TEST(Maps, CountsVmasByLine) {
  EXPECT_EQ(CountVmas(""), 0u);
  EXPECT_EQ(CountVmas("a-b rw-p 0 0 0\n"), 1u);
  EXPECT_EQ(CountVmas("a-b rw-p 0 0 0\nc-d r--p 0 0 0"), 2u);  // last line without newline
  EXPECT_EQ(CountVmas("a-b rw-p 0 0 0\n\n\nc-d r--p 0 0 0\n"), 2u);
}

TEST(Maps, CountsThisProcessesVmas) {
  SystemFiles system;
  const size_t before = CountVmas(system.Read("/proc/self/maps").value_or(""));
  ASSERT_GT(before, 0u);
  const size_t page = PageSize();
  // Three pages: ---p r--p ---p are three VMAs that cannot merge.
  void* raw = mmap(nullptr, 3 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(raw, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char*>(raw) + page, page, PROT_READ), 0);
  const std::string during = system.Read("/proc/self/maps").value_or("");
  munmap(raw, 3 * page);
  // Three VMAs over the range (an edge may merge with a PROT_NONE neighbour, still one VMA);
  // the whole count only grows: other threads (a sanitizer's allocator) may map meanwhile.
  const auto begin = reinterpret_cast<uintptr_t>(raw);
  EXPECT_EQ(VmasInRange(ParseMaps(during), begin, begin + 3 * page).size(), 3u);
  EXPECT_GE(CountVmas(during), before + 1);
  const std::string text = system.Read("/proc/self/maps").value_or("");
  EXPECT_EQ(CountVmas(text), ParseMaps(text).size());  // every line of the real file parses
}

TEST(PageTables, ReadsVmPteInBytes) {
  const char status[] = "Name:\tmapbench\nVmRSS:\t    1024 kB\nVmPTE:\t     132 kB\nThreads:\t1\n";
  EXPECT_EQ(PageTableBytes(status), std::optional<uint64_t>(132 * 1024));
  EXPECT_EQ(PageTableBytes("Name:\tx\nVmRSS:\t1 kB\n"), std::nullopt);
  EXPECT_EQ(PageTableBytes(""), std::nullopt);
}

TEST(PageTables, GrowWhenThisProcessTouchesMemory) {
  SystemFiles system;
  const size_t bytes = 64 << 20, page = PageSize();
  auto before = ReadOwnPageTableBytes(system);
  ASSERT_TRUE(before.has_value());
  char* region = static_cast<char*>(
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  madvise(region, bytes, MADV_NOHUGEPAGE);
  for (size_t o = 0; o < bytes; o += page) region[o] = 1;
  auto after = ReadOwnPageTableBytes(system);
  munmap(region, bytes);
  ASSERT_TRUE(after.has_value());
  // One PTE table of one page maps page * (page / 8) bytes: at least this many were added.
  EXPECT_GE(*after - *before, (bytes / (page * (page / 8)) - 2) * page);
}

}  // namespace
}  // namespace mapbench
