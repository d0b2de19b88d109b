#include "harness/run/tunings.h"

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

std::string FixtureText(const std::string& name) {
  std::ifstream in(MAPBENCH_TEST_FIXTURES "/kernel-text/" + name);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteJournalText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  chmod(path.c_str(), 0600);
}

TEST(TuningsJournalOwner, OwnerLineReadsBackAndEntriesSkipIt) {
  const std::string text = FixtureText("tunings-journal");
  auto owner = ParseJournalOwner(text);
  ASSERT_TRUE(owner);
  EXPECT_EQ(*owner, (JournalOwner{16229, 152686, "6ed6793e-2ce1-4f48-aa6d-ffd4f04d0c45"}));
  std::string error;
  auto entries = ParseTuningsJournal(text, SystemFiles("/"), &error);
  ASSERT_TRUE(entries) << error;
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ(FormatTuningsJournal(*entries, *owner), text);
  EXPECT_EQ(ParseJournalOwner(FormatTuningsJournal(*entries, JournalOwner{7, 9, ""})),
            (JournalOwner{7, 9, ""}));
}

TEST(TuningsJournalOwner, OldOrMalformedOwnerLinesNameNobody) {
  // An earlier version's journal: entries only.
  EXPECT_FALSE(ParseJournalOwner("/proc/sys/vm/swappiness\t60\n"));
  EXPECT_FALSE(ParseJournalOwner(""));
  for (const char* bad :
       {"owner pid=0 start=5\n", "owner pid=-3 start=5\n", "owner pid=x start=5\n",
        "owner start=5\n", "owner pid=5\n", "owner pid=4294967297 start=5\n",
        "owner pid=5 start=5 junk\n", "owner pid=5\tstart=5\n", " owner pid=5 start=5\n",
        "/proc/sys/vm/swappiness\t60\nowner pid=5 start=5\n"}) {
    EXPECT_FALSE(ParseJournalOwner(bad)) << bad;
  }
  EXPECT_EQ(ParseJournalOwner("owner start=5 pid=2 later=x\n"), (JournalOwner{2, 5, ""}));
}

TEST(TuningsJournalOwner, ProcessStatCountsFieldsAfterTheName) {
  auto stat = ParseProcessStat(FixtureText("proc-pid-stat"));  // name "a b) (c"
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->start_ticks, 152686u);
  for (const char* bad : {"", "12 (x", "12 (x) S 1 2 3",
                          "12 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                          "15 16 17 18 19 20"}) {
    EXPECT_FALSE(ParseProcessStat(bad)) << bad;
  }
  auto self = ThisProcess();
  EXPECT_EQ(self.pid, getpid());
  EXPECT_GT(self.start_ticks, 0u);
  EXPECT_TRUE(OwnerIsRunning(self));
}

TEST(TuningsJournalOwner, RunningMeansSamePidStartTimeAndBoot) {
  const std::string stat = FixtureText("proc-pid-stat");
  const std::string boot = "6ed6793e-2ce1-4f48-aa6d-ffd4f04d0c45";
  const JournalOwner owner{16229, 152686, boot};
  EXPECT_TRUE(OwnerIsRunning(owner, stat, boot));
  EXPECT_TRUE(OwnerIsRunning(owner, stat, ""));  // boot id unknown here: pid and start decide
  EXPECT_FALSE(OwnerIsRunning(owner, std::nullopt, boot)) << "no such process";
  EXPECT_FALSE(OwnerIsRunning({16229, 152687, boot}, stat, boot)) << "the pid was reused";
  EXPECT_FALSE(OwnerIsRunning(owner, stat, "another-boot")) << "rebooted since";
  std::string zombie = stat;
  zombie.replace(zombie.find(") S ") + 2, 1, "Z");
  EXPECT_FALSE(OwnerIsRunning(owner, zombie, boot)) << "a zombie restores nothing";
  EXPECT_TRUE(OwnerIsRunning(owner, std::string("garbled"), boot)) << "cannot tell: keep it";
}

TEST_F(TuningsTest, JournalOfARunningOwnerIsNotReplayed) {
  SystemFiles sys(root_.string());
  const std::string knob = root_.string() + "/proc/sys/vm/swappiness";
  // pid 1 runs as long as the machine does: its journal must stay.
  JournalOwner init{1,
                    ParseProcessStat(SystemFiles().Read("/proc/1/stat").value_or(""))->start_ticks,
                    SystemFiles().ReadLine("/proc/sys/kernel/random/boot_id").value_or("")};
  WriteJournalText(journal_, FormatTuningsJournal({{knob, "33"}}, init));
  Tuner tuner(sys, journal_);
  std::string error;
  EXPECT_TRUE(tuner.RecoverFromJournal(&error).empty());
  EXPECT_EQ(error, "another mapbench (pid 1) holds the tunings journal " + journal_);
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
  EXPECT_TRUE(fs::exists(journal_));
  EXPECT_NE(tuner.Apply({{"vm.swappiness", "5"}}, ListKnobs(sys, "")).find("(pid 1) holds"),
            std::string::npos);
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
}

TEST_F(TuningsTest, JournalOfAGoneOwnerIsReplayed) {
  SystemFiles sys(root_.string());
  const std::string knob = root_.string() + "/proc/sys/vm/swappiness";
  JournalOwner reused = ThisProcess();
  reused.start_ticks += 1;  // this pid, but another process
  JournalOwner rebooted = ThisProcess();
  rebooted.boot_id = "00000000-0000-0000-0000-000000000000";
  for (const std::string& text : {FormatTuningsJournal({{knob, "33"}}, reused),
                                  FormatTuningsJournal({{knob, "34"}}, rebooted),
                                  FormatTuningsJournal({{knob, "35"}})}) {  // an earlier version's
    WriteJournalText(journal_, text);
    Tuner tuner(sys, journal_);
    std::string error;
    EXPECT_EQ(tuner.RecoverFromJournal(&error).size(), 1u) << text;
    EXPECT_EQ(error, "") << text;
    EXPECT_FALSE(fs::exists(journal_));
  }
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "35");
}

// A tuned run in another process: its lock and its journal keep every other start off
// its settings until it is gone, kill -9 included.
TEST_F(TuningsTest, AnotherProcessHoldsTheJournalUntilItDies) {
  SystemFiles sys(root_.string());
  auto knobs = ListKnobs(sys, "");
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    Tuner tuner(sys, journal_);
    char byte = tuner.Apply({{"thp.enabled", "never"}}, knobs).empty() ? 'y' : 'n';
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    while (read(release[0], &byte, 1) > 0) {
    }
    _exit(0);  // dies without restoring, as kill -9 would
  }
  close(ready[1]);
  close(release[0]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  {
    std::ifstream in(journal_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto owner = ParseJournalOwner(text);
    ASSERT_TRUE(owner) << text;
    EXPECT_EQ(owner->pid, child);
  }
  const std::string busy =
      "another mapbench (pid " + std::to_string(child) + ") holds the tunings journal " + journal_;
  {
    Tuner other(sys, journal_);
    std::string message;
    EXPECT_EQ(other.TakeLock(&message), Tuner::Lock::kBusy);
    EXPECT_EQ(message, busy);
    std::string error;
    EXPECT_TRUE(other.RecoverFromJournal(&error).empty());
    EXPECT_EQ(error, busy);
    EXPECT_EQ(other.Apply({{"vm.swappiness", "1"}}, knobs), busy + "; nothing was changed");
  }
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "never");
  EXPECT_EQ(Read("/proc/sys/vm/swappiness"), "60");
  // Without its lock file, the journal still names a running writer.
  fs::remove(journal_ + ".lock");
  {
    Tuner other(sys, journal_);
    std::string message;
    EXPECT_EQ(other.TakeLock(&message), Tuner::Lock::kBusy);
    EXPECT_EQ(message, busy);
  }
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "never");
  close(release[1]);
  int status = 0;
  waitpid(child, &status, 0);
  Tuner next(sys, journal_);
  EXPECT_NE(next.Apply({{"vm.swappiness", "1"}}, knobs).find("not restored yet"),
            std::string::npos);
  std::string error;
  EXPECT_EQ(next.RecoverFromJournal(&error).size(), 1u);
  EXPECT_EQ(error, "");
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "madvise");
  EXPECT_FALSE(fs::exists(journal_));
  close(ready[0]);
}

// --interleave: the first switch journals the value from before the run, later ones
// rewrite the setting in place; restoring brings back the value from before the run.
TEST_F(TuningsTest, SwitchJournalsOnceAndRestoresTheOriginal) {
  SystemFiles sys(root_.string());
  auto knobs = ListKnobs(sys, "");
  {
    Tuner tuner(sys, journal_);
    for (const char* value : {"always", "never", "always", "never"}) {
      ASSERT_EQ(tuner.Switch({"thp.enabled", value}, knobs), "");
      EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), value);
      ASSERT_EQ(tuner.applied().size(), 1u);
      EXPECT_EQ(tuner.applied()[0].before, "madvise");
      EXPECT_EQ(tuner.applied()[0].after, value);
    }
    std::ifstream in(journal_);
    std::string journal((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(journal.find("\tmadvise"), std::string::npos) << journal;
    EXPECT_EQ(journal.find("\talways"), std::string::npos) << journal;
    EXPECT_NE(tuner.Switch({"thp.enabled", "sometimes"}, knobs), "");
    EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "never");
  }  // the destructor restores
  EXPECT_EQ(Read("/sys/kernel/mm/transparent_hugepage/enabled"), "madvise");
  EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(TuningsTest, HugetlbPoolsAreWholeRunOnly) {
  auto knobs = ListKnobs(SystemFiles(root_.string()), "");
  EXPECT_FALSE(Find(knobs, "hugetlb.2M.nr_hugepages")->runtime);
  EXPECT_TRUE(Find(knobs, "thp.enabled")->runtime);
  EXPECT_TRUE(Find(knobs, "vm.swappiness")->runtime);
}

}  // namespace
}  // namespace mapbench
