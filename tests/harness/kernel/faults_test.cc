#include "harness/kernel/faults.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "tests/harness/sanitizers.h"

namespace mapbench {
namespace {

TEST(Faults, NearZeroAcceptsAFewStrayFaultsOnly) {
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kNearZero, 0, 16384).ok);
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kNearZero, 3, 16384).ok);
  // Populate did nothing: every page faulted during the touch.
  FaultVerdict none = CheckTouchFaults(TouchExpectation::kNearZero, 16384, 16384);
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.note.find("1.0000 per page"), std::string::npos) << none.note;
  EXPECT_NE(none.note.find("near zero"), std::string::npos) << none.note;
}

TEST(Faults, OnePerPage) {
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 16384, 16384).ok);
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 16390, 16384).ok);
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 32, 16384).ok);     // huge pages
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 32768, 16384).ok);  // twice
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 0, 16384).ok);
}

TEST(Faults, OnePerFolioCountsTheFoliosReallyMapped) {
  // 16384 pages in 64 KiB folios (mTHP): 1024 faults is right, one per page is not.
  FaultVerdict mthp = CheckTouchFaults(TouchExpectation::kOnePerFolio, 1024, 16384, 1024);
  EXPECT_TRUE(mthp.ok) << mthp.note;
  EXPECT_NE(mthp.note.find("1024 folios mapped"), std::string::npos) << mthp.note;
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 16384, 16384, 1024).ok);
  // Base pages: a folio per page, as when the folios are unknown (0).
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 16384, 16384, 16384).ok);
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kOnePerFolio, 1024, 16384, 16384).ok);
}

TEST(Faults, SomeMeansAtLeastOneAndAtMostOnePerPage) {
  EXPECT_TRUE(CheckTouchFaults(TouchExpectation::kSome, 79, 16384).ok);  // large folios
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kSome, 0, 16384).ok);
  EXPECT_FALSE(CheckTouchFaults(TouchExpectation::kSome, 40000, 16384).ok);
}

// Synthetic CPU times: the decision only, no timing.
TEST(Faults, ReturnedToHostWhenTheFirstTouchCostsThreeTimesTheSteadyMedian) {
  const HostReports reported{3, 36864};
  ReturnedCheck returned = CheckReturnedToHost(43.5e6, {7.2e6, 8.2e6, 7.0e6}, reported);
  EXPECT_TRUE(returned.ok) << returned.note;
  EXPECT_NEAR(returned.ratio, 43.5 / 7.2, 1e-9);  // the median, not the mean
  EXPECT_NE(returned.note.find("memory returned to the host"), std::string::npos);
  EXPECT_NE(returned.note.find("3 free page reports, 36864 KiB"), std::string::npos)
      << returned.note;
  EXPECT_TRUE(CheckReturnedToHost(21e6, {6e6, 8e6}, {}).ok);         // exactly 3x the even median
  EXPECT_TRUE(CheckReturnedToHost(4.51e6, {1e6, 1e6, 1e6}, {}).ok);  // the smallest seen returned
}

TEST(Faults, NotReturnedWhenTheFirstTouchCostsLikeTheSteadyState) {
  // Ratios seen with nothing (or a few blocks) returned: up to 2.15x the steady median.
  ReturnedCheck steady = CheckReturnedToHost(14.2e6, {8.54e6, 9.0e6, 8.0e6}, {1, 40960});
  EXPECT_FALSE(steady.ok);
  EXPECT_NEAR(steady.ratio, 14.2 / 8.54, 1e-9);
  EXPECT_NE(steady.note.find("memory NOT returned to the host"), std::string::npos) << steady.note;
  EXPECT_NE(steady.note.find("needs >= 3x"), std::string::npos) << steady.note;
  EXPECT_FALSE(CheckReturnedToHost(2.15e6, {1e6, 1e6, 1e6}, {}).ok);
  EXPECT_FALSE(CheckReturnedToHost(2.99e6, {1e6}, {}).ok);
  EXPECT_TRUE(CheckReturnedToHost(1.9e6, {1e6}, {}, 1.5).ok);  // the threshold is a parameter
}

TEST(Faults, ReturnedToHostIsNotClaimedWithoutASteadyReference) {
  ReturnedCheck none = CheckReturnedToHost(50e6, {}, {});
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.ratio, 0);
  EXPECT_NE(none.note.find("NOT checked"), std::string::npos) << none.note;
  EXPECT_NE(none.note.find("free page reports not visible"), std::string::npos) << none.note;
  EXPECT_FALSE(CheckReturnedToHost(0, {1e6, 1e6}, {}).ok);
}

TEST(Faults, HostReportsDeltaNeedsBothSides) {
  HostReports delta = HostReportsDelta({10, 1000}, {12, 5096});
  EXPECT_EQ(delta.reports, 2u);
  EXPECT_EQ(delta.reported_kib, 4096u);
  HostReports partial = HostReportsDelta({10, std::nullopt}, {9, 5});
  EXPECT_FALSE(partial.reports);  // went backwards
  EXPECT_FALSE(partial.reported_kib);
}

TEST(Faults, ThreadFaultsCountFirstTouches) {
  const size_t pages = 64, size = pages * 4096;
  char* p = static_cast<char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  madvise(p, size, MADV_NOHUGEPAGE);
  ThreadFaults before = CurrentThreadFaults();
  for (size_t o = 0; o < size; o += 4096) p[o] = 1;
  ThreadFaults after = CurrentThreadFaults();
  EXPECT_GE(after.minor - before.minor, pages);
  // ASan builds also fault in a few shadow pages; TSan's shadow is several times larger.
  if (!kThreadSanitizer) EXPECT_LE(after.minor - before.minor, pages + 16);
  munmap(p, size);
}

const char kStatusRoot[] = "Name:\tmapbench\nVmLck:\t       0 kB\nCapEff:\t000001ffffffffff\n";
const char kStatusUser[] = "Name:\tmapbench\nVmLck:\t    4096 kB\nCapEff:\t0000000000000000\n";

TEST(Faults, CapabilityFromStatus) {
  EXPECT_TRUE(HasCapability(kStatusRoot, 14));
  EXPECT_FALSE(HasCapability(kStatusUser, 14));
  EXPECT_FALSE(HasCapability("no caps here\n", 14));
  EXPECT_TRUE(HasCapability("CapEff:\t0000000000004000\n", 14));
}

TEST(Faults, MemlockShortage) {
  EXPECT_FALSE(MemlockShortage(kStatusRoot, 8 << 20, 1ull << 30));  // CAP_IPC_LOCK
  EXPECT_FALSE(MemlockShortage(kStatusUser, RLIM_INFINITY, 1ull << 30));
  EXPECT_FALSE(MemlockShortage(kStatusUser, 8 << 20, 4 << 20));  // 8 MiB limit, 4 MiB locked
  auto why = MemlockShortage(kStatusUser, 8 << 20, 16 << 20);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("RLIMIT_MEMLOCK allows 4096 KiB"), std::string::npos) << *why;
  EXPECT_NE(why->find("16384 KiB needed"), std::string::npos) << *why;
}

}  // namespace
}  // namespace mapbench
