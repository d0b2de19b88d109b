#include "harness/kernel/smaps.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include "harness/run/csv_reporter.h"

namespace mapbench {
namespace {

const char kSmaps[] = R"(55d0c0000000-55d0c0200000 rw-p 00000000 00:00 0                          [heap]
Size:               2048 kB
Rss:                2048 kB
AnonHugePages:         0 kB
KernelPageSize:        4 kB
VmFlags: rd wr mr mw me ac
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
Size:               4096 kB
Rss:                4096 kB
AnonHugePages:      4096 kB
Private_Hugetlb:       0 kB
KernelPageSize:        4 kB
THPeligible:    1
VmFlags: rd wr mr mw me ac hg
7f0000400000-7f0000600000 rw-s 00000000 00:0f 1234                       /anon_hugepage (deleted)
Size:               2048 kB
Rss:                   0 kB
Shared_Hugetlb:     2048 kB
KernelPageSize:     2048 kB
VmFlags: rd wr sh mr mw me ms de ht
)";

TEST(Smaps, SumsTheVmasOfARange) {
  auto thp = SmapsForRange(kSmaps, 0x7f0000000000, 0x7f0000400000);
  ASSERT_TRUE(thp);
  EXPECT_EQ((*thp)["AnonHugePages"], 4096u * 1024);
  EXPECT_EQ((*thp)["Rss"], 4096u * 1024);
  auto both = SmapsForRange(kSmaps, 0x7f0000200000, 0x7f0000500000);
  ASSERT_TRUE(both);
  EXPECT_EQ((*both)["Shared_Hugetlb"], 2048u * 1024);
  EXPECT_EQ((*both)["KernelPageSize"], 2048u * 1024);  // largest, not summed
  EXPECT_EQ((*both)["Size"], 6144u * 1024);
}

TEST(Smaps, NoOverlapAndGarbage) {
  EXPECT_FALSE(SmapsForRange(kSmaps, 0x1000, 0x2000));
  EXPECT_FALSE(SmapsForRange("", 0, ~uintptr_t{0}));
  EXPECT_FALSE(SmapsForRange("zzzz-yyyy rw-p\nRss: 4 kB\n", 0, ~uintptr_t{0}));
}

TEST(Smaps, ReadsOwnMappingFromTheKernel) {
  const size_t size = 1 << 20;
  void* region = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  static_cast<char*>(region)[0] = 1;
  auto fields = ReadSmapsForRange(SystemFiles(), region, size);
  munmap(region, size);
  ASSERT_TRUE(fields);
  EXPECT_GE((*fields)["Rss"], 4096u);
  EXPECT_GE((*fields)["Size"], size);  // may have merged with a neighbour
}

TEST(Layout, CounterPlaceholderExpandsPerCounter) {
  RegisterFamily(Family{"phase_family", "", {"touch_ns_per_op", "touch_{counter}_per_op"},
                        [](Suite) { return std::vector<Case>{}; }});
  std::vector<CaseInfo> cases = {{"phase_family/x:1", "phase_family", "phase_family", {{"x", "1"}}}};
  CounterSet set = CounterSet::Resolve({{"minor_faults", "minor-faults"}, {"major_faults", "major-faults"}},
                                       [](perf_event_attr*, pid_t, int, int, unsigned long) { return dup(0); },
                                       nullptr);
  CsvLayout layout = LayoutFor(cases, set);
  EXPECT_EQ(layout.metric_names, (std::vector<std::string>{"touch_ns_per_op", "touch_minor_faults_per_op",
                                                           "touch_major_faults_per_op"}));
}

}  // namespace
}  // namespace mapbench
