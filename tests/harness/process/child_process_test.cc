#include "harness/process/child_process.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "harness/measure/file_content.h"

namespace mapbench {
namespace {

TEST(ChildReport, RoundTripsAndRejectsDamage) {
  ChildReport report{true, {1.5, -2, 1e12}, ""};
  std::string bytes = EncodeChildReport(report);
  auto back = DecodeChildReport(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->values, report.values);
  ChildReport failed{false, {}, "mmap: Cannot allocate memory"};
  EXPECT_EQ(DecodeChildReport(EncodeChildReport(failed))->error, failed.error);
  EXPECT_FALSE(DecodeChildReport(""));
  EXPECT_FALSE(DecodeChildReport(bytes.substr(0, bytes.size() - 1)));  // cut short
  EXPECT_FALSE(DecodeChildReport(bytes + "x"));                        // trailing junk
  bytes[0] ^= 1;
  EXPECT_FALSE(DecodeChildReport(bytes));
}

TEST(ChildProcess, ReturnsValuesAfterTheParentReleasesIt) {
  std::string error;
  // The child reports what it sees after the parent wrote: the shared page changed.
  const size_t size = 4096;
  char* shared = static_cast<char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(shared, MAP_FAILED);
  auto child = ChildProcess::Start(
      [&](ChildProcess::Link& link, std::string* err) -> std::vector<double> {
        if (!link.WaitForParent()) *err = "parent went away";
        return {static_cast<double>(shared[0]), static_cast<double>(getpid())};
      },
      &error);
  ASSERT_TRUE(child) << error;
  shared[0] = 42;
  EXPECT_TRUE(child->Release());
  const pid_t pid = child->pid();
  ChildReport report = child->Wait();
  ASSERT_TRUE(report.ok) << report.error;
  ASSERT_EQ(report.values.size(), 2u);
  EXPECT_EQ(report.values[0], 42);
  EXPECT_EQ(report.values[1], pid);
  EXPECT_FALSE(child->Release());  // reaped: nothing left to release
  munmap(shared, size);
}

TEST(ChildProcess, WaitWithoutReleaseLetsTheChildSeeTheParentLeave) {
  std::string error;
  auto child = ChildProcess::Start(
      [](ChildProcess::Link& link, std::string*) -> std::vector<double> {
        return {link.WaitForParent() ? 1.0 : 0.0};
      },
      &error);
  ASSERT_TRUE(child) << error;
  ChildReport report = child->Wait();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.values, std::vector<double>{0.0});
}

TEST(ChildProcess, ErrorsCrashesAndSilentExitsAreReported) {
  std::string error;
  auto failing = ChildProcess::Start(
      [](ChildProcess::Link&, std::string* err) -> std::vector<double> {
        *err = "check failed";
        return {1};
      },
      &error);
  ASSERT_TRUE(failing);
  ChildReport report = failing->Wait();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.error, "check failed");

  auto crashing = ChildProcess::Start(
      [](ChildProcess::Link&, std::string*) -> std::vector<double> { std::abort(); }, &error);
  ASSERT_TRUE(crashing);
  report = crashing->Wait();
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find("killed by signal"), std::string::npos) << report.error;

  auto silent = ChildProcess::Start(
      [](ChildProcess::Link&, std::string*) -> std::vector<double> { _exit(3); }, &error);
  ASSERT_TRUE(silent);
  report = silent->Wait();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.error, "child exited with status 3 without a report");

  auto throwing = ChildProcess::Start(
      [](ChildProcess::Link&, std::string*) -> std::vector<double> {
        throw std::runtime_error("boom");
      },
      &error);
  ASSERT_TRUE(throwing);
  EXPECT_EQ(throwing->Wait().error, "exception: boom");
}

TEST(ChildProcess, DroppingAChildKillsAndReapsIt) {
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  pid_t pid;
  {
    auto child = ChildProcess::Start(
        [](ChildProcess::Link&, std::string*) -> std::vector<double> {
          sleep(60);
          return {};
        },
        &error);
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(kill(pid, 0), 0);  // gone and reaped (no zombie left)
}

// The sharing family's fork checks: a child's write to a private anonymous mapping is
// its own copy, to a shared one the parent sees it; the child counts its own faults.
TEST(ChildProcess, ChildWritesAreSeenOnlyThroughSharedMappings) {
  const size_t pages = 64, size = pages * 4096;
  for (int flags : {MAP_PRIVATE, MAP_SHARED}) {
    void* region = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(region, MAP_FAILED);
    const Expected before{1, 512, std::nullopt}, after{2, 512, std::nullopt};
    StampWords(region, size, 0, before);  // faulted in by the parent
    std::string error;
    auto child = ChildProcess::Start(
        [&](ChildProcess::Link&, std::string* err) -> std::vector<double> {
          const SelfUsage start = ReadSelfUsage();
          StampWords(region, size, 0, after);
          const SelfUsage end = ReadSelfUsage();
          if (auto wrong = CheckRegion(region, size, 0, after)) *err = *wrong;
          return {static_cast<double>(end.minor_faults - start.minor_faults)};
        },
        &error);
    ASSERT_TRUE(child) << error;
    ChildReport report = child->Wait();
    ASSERT_TRUE(report.ok) << report.error;
    // Private: one copy-on-write fault per page; shared: the child maps the pages lazily.
    EXPECT_GE(report.values[0], flags == MAP_PRIVATE ? pages : 1);
    if (flags == MAP_PRIVATE) {
      EXPECT_FALSE(CheckRegion(region, size, 0, before));
    } else {
      EXPECT_FALSE(CheckRegion(region, size, 0, after));
    }
    munmap(region, size);
  }
}

}  // namespace
}  // namespace mapbench
