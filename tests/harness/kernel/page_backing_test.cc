#include "harness/kernel/page_backing.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/kernel/smaps.h"

namespace mapbench {
namespace {

constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kHead = 1ull << kpf::kCompoundHead;
constexpr uint64_t kTail = 1ull << kpf::kCompoundTail;

// A range of `pages` pages starting at virtual page `first_page`.
PageFrames Frames(uint64_t first_page) {
  PageFrames frames;
  frames.first_page = first_page;
  frames.pfns_visible = true;
  return frames;
}
void AddFolio(PageFrames& frames, uint64_t pfn, uint64_t pages, uint64_t extra_flags = 0) {
  for (uint64_t i = 0; i < pages; ++i) {
    frames.pagemap.push_back(kPresent | (pfn + i));
    frames.flags.push_back(pages == 1 ? extra_flags : ((i == 0 ? kHead : kTail) | extra_flags));
  }
}
void AddSmallPages(PageFrames& frames, uint64_t pfn, uint64_t pages) {
  for (uint64_t i = 0; i < pages; ++i) AddFolio(frames, pfn + 7 * i, 1);
}

TEST(PageBacking, DecodePagemapWord) {
  PagemapEntry e = DecodePagemap(kPresent | (1ull << 56) | 0x1234);
  EXPECT_TRUE(e.present);
  EXPECT_TRUE(e.exclusive);
  EXPECT_EQ(e.pfn, 0x1234u);
  PagemapEntry swapped = DecodePagemap((1ull << 62) | 0x55);
  EXPECT_FALSE(swapped.present);
  EXPECT_TRUE(swapped.swapped);
  EXPECT_EQ(swapped.pfn, 0u);
  EXPECT_TRUE(DecodePagemap(kPresent | (1ull << 61)).file_or_shared);
}

TEST(PageBacking, HistogramOfPmdFolios) {
  PageFrames frames = Frames(512 * 100);  // 2 MiB aligned
  AddFolio(frames, 512 * 7, 512, 1ull << kpf::kThp);
  AddFolio(frames, 512 * 3, 512, 1ull << kpf::kThp);
  BackingHistogram h = FolioHistogram(frames);
  EXPECT_EQ(h.total_pages, 1024u);
  EXPECT_DOUBLE_EQ(FractionInFolios(h, 512), 1.0);
  EXPECT_DOUBLE_EQ(FractionInFolios(h, 1), 0.0);
  EXPECT_EQ(DescribeHistogram(h), "2 MiB 100.0%");
}

TEST(PageBacking, HistogramMixesSizesAndCountsTheRestApart) {
  PageFrames frames = Frames(0);
  AddFolio(frames, 1600, 16);      // 64 KiB mTHP at page 0
  AddSmallPages(frames, 100, 16);  // 16 base pages
  frames.pagemap.push_back(0);     // not present
  frames.flags.push_back(0);
  frames.pagemap.push_back(kPresent | 99);  // the zero page
  frames.flags.push_back(1ull << kpf::kZeroPage);
  BackingHistogram h = FolioHistogram(frames);
  EXPECT_EQ(h.total_pages, 34u);
  EXPECT_EQ(h.pages_by_folio_pages[16], 16u);
  EXPECT_EQ(h.pages_by_folio_pages[1], 16u);
  EXPECT_EQ(h.not_present, 1u);
  EXPECT_EQ(h.zero_page, 1u);
  EXPECT_NEAR(FractionInFolios(h, 16), 16.0 / 34, 1e-12);
  EXPECT_EQ(DescribeHistogram(h), "64 KiB 47.1%, 4 KiB 47.1%, zero page 2.9%, not present 2.9%");
}

TEST(PageBacking, FoliosMappedIsOneFaultPerFolio) {
  PageFrames frames = Frames(0);
  AddFolio(frames, 1600, 16);  // one 64 KiB folio
  AddFolio(frames, 1616, 16);  // another
  AddSmallPages(frames, 100, 3);
  frames.pagemap.push_back(kPresent | 99);  // the zero page: one entry, one fault
  frames.flags.push_back(1ull << kpf::kZeroPage);
  EXPECT_EQ(FoliosMapped(FolioHistogram(frames)), 2u + 3u + 1u);

  PageFrames hidden = Frames(0);
  AddSmallPages(hidden, 100, 4);
  hidden.pfns_visible = false;
  EXPECT_EQ(FoliosMapped(FolioHistogram(hidden)), std::nullopt);
}

// Populate rows pin base pages this way; prctl state is the process's, so restore it.
TEST(PageBacking, ScopedThpDisableTurnsThpOffAndRestores) {
  const int before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  ASSERT_GE(before, 0);
  {
    ScopedThpDisable off;
    EXPECT_EQ(off.error(), "");
    EXPECT_GT(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
    // A mapping made now faults in base pages whatever the THP settings say.
    const size_t size = 4 << 20;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    madvise(p, size, MADV_HUGEPAGE);  // ignored: THP is off for the process
    for (size_t o = 0; o < size; o += 4096) static_cast<char*>(p)[o] = 1;
    auto fields = ReadSmapsForRange(SystemFiles(), p, size);
    ASSERT_TRUE(fields);
    EXPECT_EQ((*fields)["AnonHugePages"], 0u);
    munmap(p, size);
  }
  EXPECT_EQ(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), before);
}

TEST(PageBacking, MisalignedCutOrHiddenFoliosAreUnknown) {
  // A 16-page folio mapped at virtual page 8: not naturally aligned.
  PageFrames misaligned = Frames(8);
  AddFolio(misaligned, 1600, 16);
  EXPECT_EQ(FolioHistogram(misaligned).unknown, 16u);
  // The range starts inside a folio: tails without their head.
  PageFrames cut = Frames(0);
  AddFolio(cut, 1600, 16);
  cut.pagemap.erase(cut.pagemap.begin(), cut.pagemap.begin() + 8);
  cut.flags.erase(cut.flags.begin(), cut.flags.begin() + 8);
  EXPECT_EQ(FolioHistogram(cut).unknown, 8u);
  // The range ends inside a bigger folio: a 2 MiB page seen through its first 16 pages.
  PageFrames truncated = Frames(0);
  AddFolio(truncated, 512, 16);
  truncated.flags_after_last = kTail;
  EXPECT_EQ(FolioHistogram(truncated).unknown, 16u);
  truncated.flags_after_last = kHead;  // next PFN starts another folio: this one is whole
  EXPECT_EQ(FolioHistogram(truncated).pages_by_folio_pages[16], 16u);
  // PFNs hidden (not root): nothing can be said about folio sizes.
  PageFrames hidden = Frames(0);
  AddFolio(hidden, 1600, 16);
  hidden.pfns_visible = false;
  EXPECT_EQ(FolioHistogram(hidden).unknown, 16u);
  EXPECT_DOUBLE_EQ(FractionInFolios(FolioHistogram(hidden), 16), 0.0);
}

TEST(PageBacking, MergeHistogramsOfSeveralRanges) {
  PageFrames a = Frames(0), b = Frames(64);
  AddFolio(a, 1600, 16);
  AddSmallPages(b, 100, 16);
  b.pagemap.push_back(0);
  b.flags.push_back(0);
  BackingHistogram h = FolioHistogram(a);
  MergeHistograms(h, FolioHistogram(b));
  EXPECT_EQ(h.total_pages, 33u);
  EXPECT_EQ(h.pages_by_folio_pages[16], 16u);
  EXPECT_EQ(h.pages_by_folio_pages[1], 16u);
  EXPECT_EQ(h.not_present, 1u);
}

TEST(PageBacking, FlagsShorterThanPagemapReadAsZero) {
  PageFrames frames = Frames(0);
  AddFolio(frames, 1600, 16);
  frames.flags.resize(1);  // only the head's word: the tails read as 0, not past the end
  BackingHistogram h = FolioHistogram(frames);
  EXPECT_EQ(h.total_pages, 16u);
  EXPECT_EQ(h.pages_by_folio_pages[1], 16u);  // no tail flags seen: 16 single pages
}

TEST(PageBacking, AdjacentFoliosWithConsecutivePfnsStayApart) {
  PageFrames frames = Frames(0);
  AddFolio(frames, 1600, 16);
  AddFolio(frames, 1616, 16);  // starts with its own head
  EXPECT_EQ(FolioHistogram(frames).pages_by_folio_pages[16], 32u);
}

TEST(PageBacking, LiveBasePagesAreSmallFolios) {
  const size_t size = 64 * 4096;
  char* p = static_cast<char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  madvise(p, size, MADV_NOHUGEPAGE);
  for (size_t o = 0; o < size / 2; o += 4096) p[o] = 1;  // half the pages
  SystemFiles system;
  std::string error;
  auto frames = ReadPageFrames(system, p, size, &error);
  ASSERT_TRUE(frames) << error;
  ASSERT_EQ(frames->pagemap.size(), 64u);
  BackingHistogram h = FolioHistogram(*frames);
  EXPECT_EQ(h.not_present, 32u);
  if (!frames->pfns_visible) {
    EXPECT_EQ(h.unknown, 32u);
    munmap(p, size);
    GTEST_SKIP() << "PFNs hidden without CAP_SYS_ADMIN";
  }
  EXPECT_EQ(h.pages_by_folio_pages[1], 32u);
  munmap(p, size);
}

const char kSmaps[] = R"(7f0000000000-7f0004000000 rw-p 00000000 00:00 0
Size:              65536 kB
Rss:               65536 kB
AnonHugePages:     61440 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Private_Hugetlb:       0 kB
KernelPageSize:        4 kB
VmFlags: rd wr mr mw me ac hg
7f1000000000-7f1004000000 rw-s 00000000 00:0f 1234                       /memfd:x (deleted)
Size:              65536 kB
Rss:                   0 kB
Shared_Hugetlb:    65536 kB
KernelPageSize:     2048 kB
VmFlags: rd wr sh mr mw me ms de ht
)";

TEST(PageBacking, SmapsFractions) {
  auto thp = SmapsForRange(kSmaps, 0x7f0000000000, 0x7f0004000000);
  ASSERT_TRUE(thp);
  const uint64_t len = 64ull << 20;
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*thp, BackingKind::kAnonThp, 2 << 20, len), 60.0 / 64);
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*thp, BackingKind::kBasePages, 4096, len), 4.0 / 64);
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*thp, BackingKind::kShmemThp, 2 << 20, len), 0.0);
  auto hugetlb = SmapsForRange(kSmaps, 0x7f1000000000, 0x7f1004000000);
  ASSERT_TRUE(hugetlb);
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*hugetlb, BackingKind::kHugetlb, 2 << 20, len), 1.0);
  // Claimed 1 GiB pages, found 2 MiB ones: not backed as claimed.
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*hugetlb, BackingKind::kHugetlb, 1 << 30, len), 0.0);
  EXPECT_DOUBLE_EQ(SmapsBackedFraction(*hugetlb, BackingKind::kBasePages, 4096, len), 0.0);
}

TEST(PageBacking, SizeNames) {
  EXPECT_EQ(ParseHugepagesDirName("hugepages-64kB"), 65536u);
  EXPECT_EQ(ParseHugepagesDirName("hugepages-2048kB"), 2u << 20);
  EXPECT_EQ(ParseHugepagesDirName("hugepages-1048576kB"), 1u << 30);
  EXPECT_FALSE(ParseHugepagesDirName("hugepages-kB"));
  EXPECT_FALSE(ParseHugepagesDirName("hugepages-64MB"));
  EXPECT_FALSE(ParseHugepagesDirName("enabled"));
  EXPECT_FALSE(ParseHugepagesDirName("hugepages-18014398509481984kB"));  // 2^64 bytes: no wrap
  EXPECT_EQ(ParseHugepagesDirName("hugepages-18014398509481983kB"), 18014398509481983ull << 10);
  EXPECT_EQ(PageSizeText(4096), "4 KiB");
  EXPECT_EQ(PageSizeText(64 << 10), "64 KiB");
  EXPECT_EQ(PageSizeText(2 << 20), "2 MiB");
  EXPECT_EQ(PageSizeText(1 << 30), "1 GiB");
}

TEST(PageBacking, Policies) {
  EXPECT_EQ(ResolveInherit("inherit", "madvise"), "madvise");
  EXPECT_EQ(ResolveInherit("never", "always"), "never");
  EXPECT_TRUE(AnonPolicyAllowsMadvised("madvise"));
  EXPECT_TRUE(AnonPolicyAllowsMadvised("always"));
  EXPECT_FALSE(AnonPolicyAllowsMadvised("never"));
  EXPECT_FALSE(AnonPolicyAllowsMadvised(""));
  EXPECT_TRUE(ShmemPolicyAllowsMadvised("advise"));
  EXPECT_TRUE(ShmemPolicyAllowsMadvised("within_size"));
  EXPECT_FALSE(ShmemPolicyAllowsMadvised("never"));
  EXPECT_FALSE(ShmemPolicyAllowsMadvised("deny"));
}

// A fake /sys tree shaped like this kernel's (6.18): mTHP sizes 8 kB (shmem only) .. 2 MB.
class PageBackingSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/page_backing_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path) << text;
  }
  void ThisKernel() {
    const std::string thp = kThpDir;
    Write(thp + "/enabled", "always [madvise] never\n");
    Write(thp + "/shmem_enabled", "always within_size advise [never] deny force\n");
    Write(thp + "/hpage_pmd_size", "2097152\n");
    Write(thp + "/hugepages-8kB/shmem_enabled", "always inherit within_size advise [never]\n");
    for (const char* kib : {"16", "64", "1024"}) {
      Write(thp + "/hugepages-" + kib + "kB/enabled", "always inherit madvise [never]\n");
      Write(thp + "/hugepages-" + kib + "kB/shmem_enabled",
            "always inherit within_size advise [never]\n");
    }
    Write(thp + "/hugepages-2048kB/enabled", "always [inherit] madvise never\n");
    Write(thp + "/hugepages-2048kB/shmem_enabled", "always [inherit] within_size advise never\n");
    Write(thp + "/hugepages-64kB/stats/anon_fault_alloc", "17\n");
  }
  std::string root_;
};

TEST_F(PageBackingSysfs, ThpSettingsOfThisKernel) {
  ThisKernel();
  SystemFiles system(root_);
  ThpSettings s = ReadThpSettings(system);
  ASSERT_TRUE(s.present);
  EXPECT_EQ(s.enabled, "madvise");
  EXPECT_EQ(s.shmem_enabled, "never");
  EXPECT_EQ(s.pmd_bytes, 2u << 20);
  ASSERT_EQ(s.sizes.size(), 5u);
  EXPECT_EQ(s.sizes[0].bytes, 8u << 10);
  EXPECT_EQ(s.sizes[0].anon_choice, "");
  EXPECT_EQ(s.sizes.back().bytes, 2u << 20);
  EXPECT_EQ(s.sizes.back().anon_policy, "madvise");
  EXPECT_EQ(s.sizes.back().shmem_policy, "never");

  EXPECT_FALSE(AnonThpUnavailable(s, 2 << 20));  // PMD THP via inherit -> madvise
  auto mthp = AnonThpUnavailable(s, 64 << 10);
  ASSERT_TRUE(mthp);
  EXPECT_NE(mthp->find("64 KiB THP not enabled"), std::string::npos) << *mthp;
  EXPECT_NE(mthp->find("hugepages-64kB/enabled=never"), std::string::npos) << *mthp;
  auto shmem_only = AnonThpUnavailable(s, 8 << 10);
  ASSERT_TRUE(shmem_only);
  EXPECT_NE(shmem_only->find("shmem only"), std::string::npos) << *shmem_only;
  auto absent = AnonThpUnavailable(s, 32 << 10);
  ASSERT_TRUE(absent);
  EXPECT_NE(absent->find("offers no 32 KiB"), std::string::npos) << *absent;

  auto shmem = ShmemThpUnavailable(s, 2 << 20);
  ASSERT_TRUE(shmem);
  EXPECT_NE(shmem->find("inherit (shmem_enabled=never)"), std::string::npos) << *shmem;
  EXPECT_EQ(ReadThpSizeStat(system, 64 << 10, "anon_fault_alloc"), 17u);
  EXPECT_FALSE(ReadThpSizeStat(system, 16 << 10, "anon_fault_alloc"));
}

TEST_F(PageBackingSysfs, EnabledSizesAndOldKernels) {
  ThisKernel();
  const std::string thp = kThpDir;
  Write(thp + "/hugepages-64kB/enabled", "always inherit [madvise] never\n");
  Write(thp + "/hugepages-16kB/enabled", "always [inherit] madvise never\n");
  Write(thp + "/shmem_enabled", "always within_size [advise] never deny force\n");
  ThpSettings s = ReadThpSettings(SystemFiles(root_));
  EXPECT_FALSE(AnonThpUnavailable(s, 64 << 10));
  EXPECT_FALSE(AnonThpUnavailable(s, 16 << 10));  // inherit -> top-level madvise
  EXPECT_FALSE(ShmemThpUnavailable(s, 2 << 20));
  EXPECT_TRUE(ShmemThpUnavailable(s, 64 << 10));  // per-size shmem never

  // Before mTHP (no hugepages-* directories) the top-level knob governs the PMD size.
  ThpSettings old;
  old.present = true;
  old.enabled = "never";
  old.shmem_enabled = "advise";
  old.pmd_bytes = 2 << 20;
  auto why = AnonThpUnavailable(old, 2 << 20);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("enabled=never"), std::string::npos) << *why;
  EXPECT_FALSE(ShmemThpUnavailable(old, 2 << 20));
  EXPECT_TRUE(AnonThpUnavailable(ThpSettings{}, 2 << 20));
}

TEST_F(PageBackingSysfs, HugetlbPools) {
  const std::string dir = "/sys/kernel/mm/hugepages/hugepages-2048kB/";
  Write(dir + "nr_hugepages", "0\n");
  Write(dir + "free_hugepages", "0\n");
  Write(dir + "resv_hugepages", "0\n");
  Write(dir + "surplus_hugepages", "0\n");
  SystemFiles system(root_);
  auto pool = ReadHugetlbPool(system, 2 << 20);
  ASSERT_TRUE(pool);
  auto why = HugetlbShortage(pool, 2 << 20, 64 << 20);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no free 2 MiB hugetlb pages (0 available, 32 needed)"), std::string::npos)
      << *why;
  EXPECT_NE(why->find("echo 32 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
            std::string::npos)
      << *why;

  Write(dir + "nr_hugepages", "40\n");
  Write(dir + "free_hugepages", "40\n");
  Write(dir + "resv_hugepages", "10\n");  // 30 really available
  pool = ReadHugetlbPool(system, 2 << 20);
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->Available(), 30u);
  why = HugetlbShortage(pool, 2 << 20, 64 << 20);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("echo 42 >"), std::string::npos) << *why;
  EXPECT_FALSE(HugetlbShortage(pool, 2 << 20, 60 << 20));

  auto missing = HugetlbShortage(ReadHugetlbPool(system, 1 << 30), 1 << 30, 1 << 30);
  ASSERT_TRUE(missing);
  EXPECT_NE(missing->find("no 1 GiB hugetlb pool"), std::string::npos) << *missing;
}

}  // namespace
}  // namespace mapbench
