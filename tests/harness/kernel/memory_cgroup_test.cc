#include "harness/kernel/memory_cgroup.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace mapbench {
namespace {

// This machine's layout: cgroup v1 controllers plus an empty unified hierarchy.
const char kHybridCgroup[] = R"(9:name=systemd:/
4:memory:/process_api/8624db2c
3:cpuset:/
0::/
)";
const char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(FindMemoryCgroup, PrefersTheV1MemoryHierarchy) {
  std::string why;
  auto location = FindMemoryCgroup(kHybridCgroup, kHybridMountinfo, &why);
  ASSERT_TRUE(location) << why;
  EXPECT_EQ(location->dir, "/sys/fs/cgroup/memory/process_api/8624db2c");
  EXPECT_FALSE(location->v2);
}

TEST(FindMemoryCgroup, FindsAPureV2Hierarchy) {
  std::string why;
  auto location = FindMemoryCgroup("0::/user.slice/session-3.scope\n",
                                   "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", &why);
  ASSERT_TRUE(location) << why;
  EXPECT_EQ(location->dir, "/sys/fs/cgroup/user.slice/session-3.scope");
  EXPECT_TRUE(location->v2);
}

TEST(FindMemoryCgroup, MapsAMountOfASubtree) {
  // A container sees its own cgroup mounted as the root of the hierarchy.
  std::string why;
  auto location = FindMemoryCgroup("5:memory:/docker/abc/inner\n",
                                   "40 30 0:40 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
                                   &why);
  ASSERT_TRUE(location) << why;
  EXPECT_EQ(location->dir, "/sys/fs/cgroup/memory/inner");
}

TEST(FindMemoryCgroup, UnescapesMountPoints) {
  std::string why;
  auto location = FindMemoryCgroup("4:memory:/\n", "35 31 0:32 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n",
                                   &why);
  ASSERT_TRUE(location) << why;
  EXPECT_EQ(location->dir, "/mnt/my cgroups");
}

TEST(FindMemoryCgroup, SaysWhyWithoutAController) {
  std::string why;
  EXPECT_FALSE(FindMemoryCgroup("3:cpuset:/\n", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", &why));
  EXPECT_NE(why.find("no memory cgroup controller"), std::string::npos) << why;

  why.clear();  // the process's memory cgroup is outside what is mounted
  EXPECT_FALSE(FindMemoryCgroup("4:memory:/elsewhere\n",
                                "35 31 0:32 /mine /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", &why));
  EXPECT_NE(why.find("not visible"), std::string::npos) << why;

  why.clear();
  EXPECT_FALSE(FindMemoryCgroup("", "", &why));
  EXPECT_FALSE(why.empty());
}

TEST(FindMemoryCgroup, IgnoresMalformedLines) {
  std::string why;
  auto location = FindMemoryCgroup("garbage\n4:memory\n4:memory:relative\n4:memory:/ok\n",
                                   "no dash here\n1 2 3\n35 31 0:32 / /m rw - cgroup cgroup rw,memory\n", &why);
  ASSERT_TRUE(location) << why;
  EXPECT_EQ(location->dir, "/m/ok");
}

TEST(CaseCgroupName, RoundTripsOnlyItsOwnNames) {
  EXPECT_EQ(CaseCgroupName(1234), "mapbench-1234");
  EXPECT_EQ(CaseCgroupRunner("mapbench-1234"), 1234);
  EXPECT_FALSE(CaseCgroupRunner("mapbench-"));
  EXPECT_FALSE(CaseCgroupRunner("mapbench-12x"));
  EXPECT_FALSE(CaseCgroupRunner("mapbench-0"));
  EXPECT_FALSE(CaseCgroupRunner("mapbench--5"));
  EXPECT_FALSE(CaseCgroupRunner("system.slice"));
  EXPECT_FALSE(CaseCgroupRunner("xmapbench-12"));
}

// The real thing, in a child process (joining moves the whole process): root and a
// memory controller are needed, else the test is skipped.
// The directory this process's cases would use, or empty (with *why) where they cannot.
std::string CaseCgroupDirHere(std::string* why) {
  auto location = FindMemoryCgroup(SystemFiles().Read("/proc/self/cgroup").value_or(""),
                                   SystemFiles().Read("/proc/self/mountinfo").value_or(""), why);
  if (!location) return "";
  if (geteuid() != 0) {
    *why = "needs root";
    return "";
  }
  PrepareCaseCgroups(SystemFiles());
  return location->dir + "/" + CaseCgroupName(getpid());
}

TEST(MemoryLimit, LimitsJoinsAndLeavesNothingBehind) {
  std::string why;
  const std::string dir = CaseCgroupDirHere(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  pid_t child = fork();
  if (child == 0) {
    std::string error;
    auto limit = MemoryLimit::Enter(64 << 20, &error);
    if (!limit) _exit(10);
    if (limit->dir() != dir) _exit(11);
    const std::string limit_file = limit->v2() ? "/memory.max" : "/memory.limit_in_bytes";
    if (SystemFiles().ReadLine(dir + limit_file) != std::to_string(64 << 20)) _exit(12);
    if (SystemFiles().Read(dir + "/cgroup.procs").value_or("").find(std::to_string(getpid())) ==
        std::string::npos) {
      _exit(13);
    }
    if (!limit->UsageBytes()) _exit(14);
    limit.reset();
    _exit(access(dir.c_str(), F_OK) == 0 ? 15 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 enter, 11 dir, 12 limit, 13 procs, 14 usage, 15 left behind";
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

TEST(MemoryLimit, RunnerRemovesWhatACrashedCaseLeft) {
  std::string why;
  const std::string dir = CaseCgroupDirHere(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  pid_t child = fork();
  if (child == 0) {
    std::string error;
    auto limit = MemoryLimit::Enter(64 << 20, &error);
    _exit(limit ? 0 : 1);  // no destructor: as if killed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(access(dir.c_str(), F_OK), 0) << "the case left its cgroup, as a crash would";
  EXPECT_TRUE(RemoveCaseCgroups(getpid()).empty());
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace mapbench
