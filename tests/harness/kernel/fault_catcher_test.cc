#include "harness/kernel/fault_catcher.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "harness/kernel/resources.h"

namespace mapbench {
namespace {

size_t Page() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

void Marker(int, siginfo_t*, void*) {}

// A private anonymous region of `pages` pages, written, then read-only.
Mapping ReadOnlyRegion(size_t pages) {
  Mapping m(mmap(nullptr, pages * Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            pages * Page());
  if (m.valid()) {
    std::memset(m.data(), 1, m.size());
    mprotect(m.data(), m.size(), PROT_READ);
  }
  return m;
}

FaultCatcher::Expect SegvIn(const Mapping& m, size_t capacity) {
  FaultCatcher::Expect e;
  e.signal = SIGSEGV;
  e.code = SEGV_ACCERR;
  e.begin = reinterpret_cast<uintptr_t>(m.data());
  e.end = e.begin + m.size();
  e.action = FaultCatcher::Action::kProtect;
  e.capacity = capacity;
  return e;
}

TEST(FaultCatcher, ProtectionFaultsAreFixedRecordedAndTheOldHandlerComesBack) {
  struct sigaction marker {}, old {};
  marker.sa_sigaction = Marker;
  marker.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGSEGV, &marker, &old), 0);
  {
    Mapping m = ReadOnlyRegion(4);
    ASSERT_TRUE(m.valid());
    std::string error;
    auto catcher = FaultCatcher::Install(SegvIn(m, 4), &error);
    ASSERT_TRUE(catcher) << error;
    std::vector<uintptr_t> expected;
    for (size_t i = 0; i < 4; ++i) {
      auto* word = reinterpret_cast<volatile uint64_t*>(m.data() + i * Page() + 8);
      *word = 100 + i;  // faults once, the handler makes the page writable, the store retries
      expected.push_back(reinterpret_cast<uintptr_t>(word));
    }
    for (size_t i = 0; i < 4; ++i)
      EXPECT_EQ(*reinterpret_cast<uint64_t*>(m.data() + i * Page() + 8), 100 + i);
    EXPECT_EQ(catcher->count(), 4u);
    EXPECT_EQ(catcher->Check(expected), std::nullopt);
    EXPECT_EQ(catcher->addresses(), expected);
    // A second pass after Reset: only the new deliveries count.
    catcher->Reset();
    mprotect(m.data(), m.size(), PROT_READ);
    *reinterpret_cast<volatile char*>(m.data()) = 7;
    EXPECT_EQ(catcher->Check({reinterpret_cast<uintptr_t>(m.data())}), std::nullopt);
    auto wrong = catcher->Check({reinterpret_cast<uintptr_t>(m.data()) + 1});
    ASSERT_TRUE(wrong);
    EXPECT_NE(wrong->find("delivery 0 at 0x"), std::string::npos) << *wrong;
    EXPECT_EQ(*catcher->Check({}), "1 Segmentation fault deliveries, expected 0");
  }
  struct sigaction now {};
  ASSERT_EQ(sigaction(SIGSEGV, &old, &now), 0);
  EXPECT_EQ(now.sa_sigaction, &Marker);
  EXPECT_TRUE(now.sa_flags & SA_SIGINFO);
}

TEST(FaultCatcher, BusErrorsBeyondTheEndOfAFileJumpBack) {
  const int fd = static_cast<int>(syscall(SYS_memfd_create, "fault_catcher_test", 0));
  ASSERT_GE(fd, 0);
  UniqueFd file(fd);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(Page())), 0);
  Mapping m(mmap(nullptr, 3 * Page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), 3 * Page());
  ASSERT_TRUE(m.valid());
  FaultCatcher::Expect e;
  e.signal = SIGBUS;
  e.code = BUS_ADRERR;
  e.begin = reinterpret_cast<uintptr_t>(m.data()) + Page();
  e.end = reinterpret_cast<uintptr_t>(m.data()) + 3 * Page();
  e.action = FaultCatcher::Action::kJump;
  e.capacity = 2;
  std::string error;
  auto catcher = FaultCatcher::Install(e, &error);
  ASSERT_TRUE(catcher) << error;
  volatile int completed = 0;
  catcher->Arm(true);
  m.data()[0] = 5;  // inside the file: no signal
  volatile size_t i = 1;  // lives across the jumps
  while (i < 3) {
    if (sigsetjmp(*catcher->jump_buffer(), 0) == 0) {
      (void)*reinterpret_cast<volatile char*>(m.data() + i * Page());
      completed = completed + 1;
    }
    i = i + 1;
  }
  catcher->Arm(false);
  EXPECT_EQ(completed, 0);
  EXPECT_EQ(catcher->Check({e.begin, e.begin + Page()}), std::nullopt);
  EXPECT_EQ(m.data()[0], 5);
}

TEST(FaultCatcher, RefusesASecondCatcherAndOtherSignals) {
  Mapping m = ReadOnlyRegion(1);
  std::string error;
  auto first = FaultCatcher::Install(SegvIn(m, 1), &error);
  ASSERT_TRUE(first) << error;
  EXPECT_FALSE(FaultCatcher::Install(SegvIn(m, 1), &error));
  EXPECT_NE(error.find("already caught"), std::string::npos) << error;
  auto e = SegvIn(m, 1);
  e.signal = SIGUSR1;
  EXPECT_FALSE(FaultCatcher::Install(e, &error));
  e = SegvIn(m, 1);
  e.end = e.begin;
  EXPECT_FALSE(FaultCatcher::Install(e, &error));
  first.reset();
  EXPECT_TRUE(FaultCatcher::Install(SegvIn(m, 1), &error)) << "free again once the first is gone";
}

// Real crashes are never masked: they die of the signal's default action.
TEST(FaultCatcherDeathTest, AFaultOutsideTheRangeStillKills) {
  Mapping m = ReadOnlyRegion(2);
  ASSERT_TRUE(m.valid());
  FaultCatcher::Expect e = SegvIn(m, 2);
  e.end = e.begin + Page();  // only the first page is expected
  EXPECT_EXIT(
      {
        std::string error;
        auto catcher = FaultCatcher::Install(e, &error);
        *reinterpret_cast<volatile char*>(m.data() + Page()) = 1;
        _exit(0);
      },
      testing::KilledBySignal(SIGSEGV), "");
}

TEST(FaultCatcherDeathTest, ASignalSentByKillIsNotAFault) {
  Mapping m = ReadOnlyRegion(1);
  ASSERT_TRUE(m.valid());
  EXPECT_EXIT(
      {
        std::string error;
        auto catcher = FaultCatcher::Install(SegvIn(m, 1), &error);
        kill(getpid(), SIGSEGV);
        _exit(0);
      },
      testing::KilledBySignal(SIGSEGV), "");
}

TEST(FaultCatcherDeathTest, AJumpNotArmedIsACrash) {
  const int fd = static_cast<int>(syscall(SYS_memfd_create, "fault_catcher_test", 0));
  ASSERT_GE(fd, 0);
  UniqueFd file(fd);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(Page())), 0);
  Mapping m(mmap(nullptr, 2 * Page(), PROT_READ, MAP_SHARED, fd, 0), 2 * Page());
  ASSERT_TRUE(m.valid());
  FaultCatcher::Expect e;
  e.signal = SIGBUS;
  e.code = BUS_ADRERR;
  e.begin = reinterpret_cast<uintptr_t>(m.data());
  e.end = e.begin + m.size();
  e.action = FaultCatcher::Action::kJump;
  EXPECT_EXIT(
      {
        std::string error;
        auto catcher = FaultCatcher::Install(e, &error);
        (void)*reinterpret_cast<volatile char*>(m.data() + Page());
        _exit(0);
      },
      testing::KilledBySignal(SIGBUS), "");
}

}  // namespace
}  // namespace mapbench
