#include "harness/tunings.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mapbench {
namespace {

namespace fs = std::filesystem;

// A writable copy of the fixture tree, so the real /sys is never touched.
class TuningsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::absolute("tunings-root-" + std::to_string(getpid()) + "-" +
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::copy(MAPBENCH_TEST_FIXTURES "/sysroot", root_, fs::copy_options::recursive);
    journal_ = root_.string() + "/journal";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Read(const std::string& path) {
    return SystemFiles(root_.string()).ReadLine(path).value_or("<missing>");
  }
  fs::path root_;
  std::string journal_;
};

const KnobInfo* Find(const std::vector<KnobInfo>& knobs, const std::string& name) {
  for (const KnobInfo& k : knobs) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

TEST_F(TuningsTest, AllowlistComesFromTheTree) {
  auto knobs = ListKnobs(SystemFiles(root_.string()), "");
  ASSERT_TRUE(Find(knobs, "thp.enabled"));
  EXPECT_EQ(Find(knobs, "thp.enabled")->allowed, "always|madvise|never");
  EXPECT_TRUE(Find(knobs, "mthp.64K.enabled"));
  EXPECT_TRUE(Find(knobs, "hugetlb.2M.nr_hugepages"));
  EXPECT_TRUE(Find(knobs, "hugetlb.1G.nr_hugepages"));
  EXPECT_TRUE(Find(knobs, "vm.swappiness"));
  EXPECT_FALSE(Find(knobs, "vm.dirty_bytes"));  // absent from the tree: not offered
  EXPECT_FALSE(Find(knobs, "block.read_ahead_kb"));
}

TEST_F(TuningsTest, ValuesAreChecked) {
  auto knobs = ListKnobs(SystemFiles(root_.string()), "");
  EXPECT_EQ(CheckValue(*Find(knobs, "thp.enabled"), "always"), "");
  EXPECT_NE(CheckValue(*Find(knobs, "thp.enabled"), "sometimes"), "");
  EXPECT_NE(CheckValue(*Find(knobs, "thp.enabled"), "always|never"), "");
  EXPECT_EQ(CheckValue(*Find(knobs, "vm.swappiness"), "10"), "");
  for (const char* bad : {"-1", "201", "ten", "", "1e3", "99999999999999999999999"}) {
    EXPECT_NE(CheckValue(*Find(knobs, "vm.swappiness"), bad), "") << bad;
  }
  std::string error;
  EXPECT_FALSE(ParseTuning("thp.enabled", &error));
  EXPECT_FALSE(ParseTuning("=always", &error));
  EXPECT_FALSE(ParseTuning("thp.enabled=", &error));
  EXPECT_TRUE(ParseTuning("thp.enabled=always", &error));
}

TEST_F(TuningsTest, AppliesJournalsAndRestores) {
  SystemFiles sys(root_.string());
  auto knobs = ListKnobs(sys, "");
  {
    Tuner tuner(sys, journal_);
    ASSERT_EQ(tuner.Apply({{"thp.enabled", "always"}, {"vm.swappiness", "10"}}, knobs), "");
    EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "always");
    EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "10");
    EXPECT_TRUE(fs::exists(journal_));
    ASSERT_EQ(tuner.applied().size(), 2u);
    EXPECT_EQ(tuner.applied()[0].before, "madvise");
    EXPECT_EQ(tuner.applied()[1].after, "10");
    EXPECT_EQ(tuner.Restore(), "");
  }
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "madvise");
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
  EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(TuningsTest, DestructorRestoresOnEarlyExit) {
  SystemFiles sys(root_.string());
  {
    Tuner tuner(sys, journal_);
    ASSERT_EQ(tuner.Apply({{"vm.swappiness", "5"}}, ListKnobs(sys, "")), "");
  }
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
}

TEST_F(TuningsTest, BadRequestChangesNothing) {
  SystemFiles sys(root_.string());
  auto knobs = ListKnobs(sys, "");
  Tuner tuner(sys, journal_);
  EXPECT_NE(tuner.Apply({{"vm.swappiness", "10"}, {"kernel.panic", "1"}}, knobs).find("allowlist"),
            std::string::npos);
  EXPECT_NE(tuner.Apply({{"vm.swappiness", "10"}, {"thp.enabled", "bogus"}}, knobs), "");
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
  EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(TuningsTest, KilledRunIsRestoredFromTheJournal) {
  SystemFiles sys(root_.string());
  auto knobs = ListKnobs(sys, "");
  pid_t child = fork();
  if (child == 0) {
    Tuner tuner(sys, journal_);
    tuner.Apply({{"thp.enabled", "never"}, {"vm.swappiness", "1"}}, knobs);
    _exit(0);  // dies without restoring, as kill -9 would
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "never");
  ASSERT_TRUE(fs::exists(journal_));
  Tuner next(sys, journal_);
  std::string error;
  auto restored = next.RecoverFromJournal(&error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "madvise");
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
  EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(TuningsTest, UntrustedJournalIsRefused) {
  SystemFiles sys(root_.string());
  {
    std::ofstream out(journal_);
    out << "/etc/passwd\tpwned\n";
  }
  chmod(journal_.c_str(), 0600);
  std::string error;
  Tuner tuner(sys, journal_);
  EXPECT_TRUE(tuner.RecoverFromJournal(&error).empty());
  EXPECT_NE(error.find("not a tunable"), std::string::npos);
  chmod(journal_.c_str(), 0666);
  error.clear();
  EXPECT_TRUE(tuner.RecoverFromJournal(&error).empty());
  EXPECT_NE(error.find("writable only"), std::string::npos);
}

TEST_F(TuningsTest, JournalPathsMustStayUnderSysOrProcSys) {
  SystemFiles sys(root_.string());
  const std::string root = root_.string();
  const std::vector<JournalEntry> entries = {
      {root + "/sys/kernel/mm/transparent_hugepage/enabled", "madvise"},
      {root + "/proc/sys/vm/swappiness", ""},
      {root + "/sys/dev/block/8:1/../queue/read_ahead_kb", "128"}};  // a partition's disk
  std::string error;
  auto parsed = ParseTuningsJournal(FormatTuningsJournal(entries), sys, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(*parsed, entries);
  for (const std::string& escape :
       {root + "/sys/../etc/passwd", root + "/proc/sys/../../etc/shadow",
        root + "/sys/kernel/../../../etc/passwd", root + "/sysfs/x", root + "/sys"}) {
    error.clear();
    EXPECT_FALSE(ParseTuningsJournal(escape + "\tpwned\n", sys, &error)) << escape;
    EXPECT_NE(error.find("not a tunable"), std::string::npos) << escape;
  }
}

}  // namespace
}  // namespace mapbench
