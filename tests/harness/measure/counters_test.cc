#include "harness/measure/counters.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>

#include "harness/measure/phases.h"
#include "harness/measure/run_context.h"
#include "harness/workload.h"
#include "tests/harness/fake_perf.h"
#include "tests/harness/sanitizers.h"

namespace mapbench {
namespace {

TEST(ScaleGroupRead, UnscaledWhenAlwaysRunning) {
  const uint64_t words[] = {2, 1000, 1000, 7, 9};
  auto group = ScaleGroupRead(words, 5);
  ASSERT_TRUE(group);
  EXPECT_DOUBLE_EQ(group->run_fraction, 1.0);
  EXPECT_EQ(group->values, (std::vector<double>{7, 9}));
}

TEST(ScaleGroupRead, ScalesMultiplexedCounts) {
  const uint64_t words[] = {1, 1000, 250, 100};
  auto group = ScaleGroupRead(words, 4);
  ASSERT_TRUE(group);
  EXPECT_DOUBLE_EQ(group->run_fraction, 0.25);
  EXPECT_DOUBLE_EQ(group->values[0], 400);
}

TEST(ScaleGroupRead, NeverScheduledGivesNoValues) {
  const uint64_t words[] = {1, 1000, 0, 0};
  auto group = ScaleGroupRead(words, 4);
  ASSERT_TRUE(group);
  EXPECT_DOUBLE_EQ(group->run_fraction, 0);
  EXPECT_TRUE(group->values.empty());
}

TEST(ScaleGroupRead, RejectsMalformedBuffer) {
  const uint64_t words[] = {3, 1000, 1000, 1};  // claims 3 values, holds 1
  EXPECT_FALSE(ScaleGroupRead(words, 4));
  EXPECT_FALSE(ScaleGroupRead(words, 2));
}

TEST(ParseCounterList, DefaultNoneAndLists) {
  std::string error;
  EXPECT_EQ(ParseCounterList("default", &error)->size(), DefaultCounters().size());
  EXPECT_TRUE(ParseCounterList("none", &error)->empty());
  auto list = ParseCounterList("cycles:u,tlb=dTLB-load-misses", &error);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].column, "cycles_u");
  EXPECT_EQ((*list)[0].event, "cycles:u");
  EXPECT_EQ((*list)[1].column, "tlb");
  EXPECT_EQ((*list)[1].event, "dTLB-load-misses");
}

TEST(ParseCounterList, RejectsEmptyEntriesAndDuplicateColumns) {
  std::string error;
  EXPECT_FALSE(ParseCounterList("cycles,,instructions", &error));
  EXPECT_NE(error.find("empty entry"), std::string::npos);
  EXPECT_FALSE(ParseCounterList("cycles,", &error));
  EXPECT_FALSE(ParseCounterList("a=cycles,a=instructions", &error));
  EXPECT_NE(error.find("share the column"), std::string::npos);
  EXPECT_FALSE(ParseCounterList("=cycles", &error));
}

TEST(EncodeEvent, UnknownNameSaysHowToList) {
  std::string error;
  EXPECT_FALSE(EncodeEvent("no_such_event_xyz", &error));
  EXPECT_NE(error.find("no_such_event_xyz"), std::string::npos);
  EXPECT_NE(error.find("--list_counters"), std::string::npos);
}

TEST(EncodeEvent, KnowsGenericAndSoftwareEvents) {
  std::string error;
  auto cycles = EncodeEvent("cycles:u", &error);
  ASSERT_TRUE(cycles) << error;
  EXPECT_EQ(cycles->exclude_kernel, 1u);
  auto faults = EncodeEvent("minor-faults", &error);
  ASSERT_TRUE(faults) << error;
  EXPECT_EQ(faults->type, static_cast<uint32_t>(PERF_TYPE_SOFTWARE));
}

// A perf_event_open that fails as a machine would, without touching the kernel.
struct FakePerf {
  int hardware_errno = 0;          // 0: hardware events open
  int software_errno = 0;          // 0: software events open
  bool refuse_kernel = false;      // EACCES unless exclude_kernel (perf_event_paranoid)
  int next_fd = 1000;
  PerfOpenFn Opener() {
    return [this](perf_event_attr* attr, pid_t, int, int, unsigned long) -> int {
      bool hardware = attr->type != PERF_TYPE_SOFTWARE;
      int fail = hardware ? hardware_errno : software_errno;
      if (fail == 0 && refuse_kernel && !attr->exclude_kernel) fail = EACCES;
      if (fail != 0) {
        errno = fail;
        return -1;
      }
      return dup(0);  // a real descriptor, so the owners can close it
    };
  }
};

const CounterStatus& Status(const CounterSet& set, const std::string& column) {
  for (const auto& s : set.statuses()) {
    if (s.spec.column == column) return s;
  }
  static CounterStatus missing;
  ADD_FAILURE() << "no status for " << column;
  return missing;
}

TEST(CounterSet, AllAvailable) {
  FakePerf perf;
  std::vector<std::string> warnings;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), &warnings);
  EXPECT_EQ(set.Mode(), "hardware+software");
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(Status(set, "cycles_kernel").available);
}

TEST(CounterSet, MissingPmuFallsBackToSoftwareWithOneWarningPerCounter) {
  FakePerf perf;
  perf.hardware_errno = ENOENT;
  std::vector<std::string> warnings;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), &warnings);
  EXPECT_EQ(set.Mode(), "software");
  EXPECT_FALSE(Status(set, "cycles_user").available);
  EXPECT_NE(Status(set, "cycles_user").detail.find("no PMU"), std::string::npos);
  EXPECT_TRUE(Status(set, "minor_faults").available);
  EXPECT_EQ(warnings.size(), 5u);  // the five hardware counters, once each
}

TEST(CounterSet, OnlyHardwareRequestedFallsBackToSoftwareSet) {
  FakePerf perf;
  perf.hardware_errno = ENOENT;
  std::vector<std::string> warnings;
  CounterSet set = CounterSet::Resolve({{"cycles", "cycles"}}, perf.Opener(), &warnings);
  EXPECT_EQ(set.Mode(), "software");
  EXPECT_TRUE(Status(set, "minor_faults").available);
  EXPECT_FALSE(Status(set, "cycles").available);
}

// perf_event_paranoid=2 without CAP_PERFMON refuses every attr that counts kernel mode.
TEST(CounterSet, RefusedKernelCountingLeavesKernelOnlyCountersEmptyWithTheReason) {
  GroupReadPerf perf;
  perf.refuse_kernel = true;
  std::vector<std::string> warnings;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), &warnings);
  // cycles:k excludes user mode; context switches happen in kernel mode only: a user-mode
  // count of either would be a 0 that means nothing.
  for (const char* column : {"cycles_kernel", "instructions_kernel", "context_switches"}) {
    const CounterStatus& s = Status(set, column);
    EXPECT_FALSE(s.available) << column;
    EXPECT_NE(s.detail.find("kernel counting refused by perf_event_paranoid"), std::string::npos)
        << column << ": " << s.detail;
    bool warned = false;
    for (const std::string& w : warnings) warned |= w.find(column) != std::string::npos;
    EXPECT_TRUE(warned) << column;
  }
  for (const perf_event_attr& attr : perf.opened) {
    EXPECT_FALSE(attr.exclude_user && attr.exclude_kernel) << "an attr that counts nothing opened";
  }
  EXPECT_TRUE(Status(set, "cycles_user").available);
  EXPECT_FALSE(Status(set, "cycles_user").user_only);  // user mode is all it was asked for
}

TEST(CounterSet, RefusedKernelCountingMakesBothModeCountersUserOnlyAndSaysSo) {
  GroupReadPerf perf;
  perf.refuse_kernel = true;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), nullptr);
  for (const char* column : {"dtlb_load_misses", "minor_faults", "major_faults"}) {
    const CounterStatus& s = Status(set, column);
    EXPECT_TRUE(s.available) << column;
    EXPECT_TRUE(s.user_only) << column;
    EXPECT_NE(s.detail.find("user mode only"), std::string::npos) << s.detail;
  }
  // A user-mode fault count leaves out faults taken inside the kernel: another quantity.
  EXPECT_NE(Status(set, "minor_faults").detail.find("inside the kernel"), std::string::npos)
      << Status(set, "minor_faults").detail;
  CounterGroup group(set);  // the runs open them user-only too, so the cells fill
  group.Enable();
  group.Disable();
  CounterGroup::Readings readings = group.Read();
  for (size_t i = 0; i < set.statuses().size(); ++i) {
    EXPECT_EQ(readings.values[i].has_value(), set.statuses()[i].available)
        << set.statuses()[i].spec.column;
  }
}

TEST(CounterSet, TheRowSaysWhetherKernelModeCountedAndWhichCountersLostIt) {
  GroupReadPerf refused;
  refused.refuse_kernel = true;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), refused.Opener(), nullptr, 2);
  EXPECT_EQ(set.KernelCounting(), "0");
  EXPECT_EQ(set.UserOnlyColumns(), "dtlb_load_misses minor_faults major_faults");
  EXPECT_EQ(set.Mode(), "hardware+software");  // what kinds count; counters_kernel says how
  EXPECT_NE(
      Status(set, "cycles_kernel").detail.find("perf_event_paranoid=2: needs <=1 or CAP_PERFMON"),
      std::string::npos)
      << Status(set, "cycles_kernel").detail;
  EXPECT_EQ(Status(set, "cycles_kernel").modes, "");
  EXPECT_EQ(Status(set, "minor_faults").modes, "user");
  EXPECT_EQ(Status(set, "cycles_user").modes, "user");

  GroupReadPerf allowed;
  CounterSet all = CounterSet::Resolve(DefaultCounters(), allowed.Opener(), nullptr, -1);
  EXPECT_EQ(all.KernelCounting(), "1");
  EXPECT_EQ(all.UserOnlyColumns(), "");
  EXPECT_EQ(Status(all, "minor_faults").modes, "user+kernel");
  EXPECT_EQ(Status(all, "cycles_kernel").modes, "kernel");
  EXPECT_EQ(Status(all, "context_switches").modes, "kernel");

  EXPECT_EQ(CounterSet::Resolve({}, allowed.Opener(), nullptr).KernelCounting(), "");
}

// No PMU and no kernel counting (this VM as a normal user): both reasons are given.
TEST(CounterSet, KernelOnlyEventWithoutPmuSaysBoth) {
  GroupReadPerf perf;
  perf.refuse_kernel = true;
  perf.hardware_errno = ENOENT;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), nullptr, 2);
  const std::string& detail = Status(set, "cycles_kernel").detail;
  EXPECT_FALSE(Status(set, "cycles_kernel").available);
  EXPECT_NE(detail.find("no PMU support"), std::string::npos) << detail;
  EXPECT_NE(detail.find("kernel counting refused"), std::string::npos) << detail;
  EXPECT_EQ(set.Mode(), "software");
  EXPECT_EQ(set.KernelCounting(), "0");
  EXPECT_EQ(set.UserOnlyColumns(), "minor_faults major_faults");
}

TEST(ParseParanoid, SignedWholeNumbersOnly) {
  EXPECT_EQ(ParseParanoid("2\n"), 2);
  EXPECT_EQ(ParseParanoid("-1"), -1);
  EXPECT_EQ(ParseParanoid("4"), 4);
  EXPECT_FALSE(ParseParanoid(""));
  EXPECT_FALSE(ParseParanoid("-"));
  EXPECT_FALSE(ParseParanoid("two"));
}

TEST(CounterSet, NothingOpensMeansNone) {
  FakePerf perf;
  perf.hardware_errno = EACCES;
  perf.software_errno = EACCES;
  std::vector<std::string> warnings;
  CounterSet set = CounterSet::Resolve(DefaultCounters(), perf.Opener(), &warnings);
  EXPECT_EQ(set.Mode(), "none");
  EXPECT_NE(Status(set, "minor_faults").detail.find("perf_event_paranoid"), std::string::npos);
  CounterGroup group(set);  // runs fine with nothing to count
  group.Enable();
  group.Disable();
  EXPECT_FALSE(group.Read().any);
}

TEST(CounterSet, EmptyRequestIsNone) {
  FakePerf perf;
  CounterSet set = CounterSet::Resolve({}, perf.Opener(), nullptr);
  EXPECT_EQ(set.Mode(), "none");
  EXPECT_TRUE(set.statuses().empty());
}

double Metric(const Outcome& outcome, const std::string& name) {
  for (const auto& [key, value] : outcome.metrics) {
    if (key == name) return value;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

// Each phase's group runs beside the row's own and can be multiplexed: its counts are
// scaled and its running fraction recorded.
TEST(Phases, RecordEachPhasesCounterRunFraction) {
  GroupReadPerf perf;
  // Group leaders in order: the probe, then the map and touch phases' groups.
  perf.times = [](int leader) {
    return leader == 2 ? std::pair<uint64_t, uint64_t>{1000, 250}
                       : std::pair<uint64_t, uint64_t>{1000, 1000};
  };
  RunContext context;
  context.counters =
      CounterSet::Resolve({{"minor_faults", "minor-faults"}}, perf.Opener(), nullptr);
  ASSERT_TRUE(context.counters.statuses()[0].available);
  Phases phases(context, {"map", "touch"});
  for (size_t phase : {0, 1}) {
    phases.Begin(phase);
    phases.End(phase);
  }
  Outcome outcome;
  phases.AddTo(outcome, 4);
  EXPECT_DOUBLE_EQ(Metric(outcome, "map_minor_faults_per_op"), 25);     // 100 over 4 ops
  EXPECT_DOUBLE_EQ(Metric(outcome, "touch_minor_faults_per_op"), 100);  // 400 scaled, over 4 ops
  EXPECT_DOUBLE_EQ(Metric(outcome, "map_counter_run_fraction"), 1.0);
  EXPECT_DOUBLE_EQ(Metric(outcome, "touch_counter_run_fraction"), 0.25);
  std::vector<std::string> declared = PhaseMetricNames({"map", "touch"});
  for (const char* name : {"map_counter_run_fraction", "touch_counter_run_fraction"}) {
    EXPECT_NE(std::find(declared.begin(), declared.end(), name), declared.end()) << name;
  }
}

TEST(Phases, NoCountersRecordNoRunFraction) {
  RunContext context;  // no counters resolved
  Phases phases(context, {"map"});
  phases.Begin(0);
  phases.End(0);
  Outcome outcome;
  phases.AddTo(outcome, 1);
  for (const auto& [key, value] : outcome.metrics) EXPECT_NE(key, "map_counter_run_fraction");
}

// Against the real kernel: touching fresh anonymous pages must count minor faults.
TEST(CounterGroup, CountsRealMinorFaults) {
  CounterSet set = CounterSet::Resolve({{"minor_faults", "minor-faults"}}, RealPerfOpen(), nullptr);
  if (!set.statuses()[0].available) GTEST_SKIP() << set.statuses()[0].detail;
  constexpr size_t kPages = 64;
  const size_t size = kPages * 4096;
  char* region = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  madvise(region, size, MADV_NOHUGEPAGE);
  CounterGroup group(set);
  group.Reset();
  group.Enable();
  for (size_t i = 0; i < size; i += 4096) region[i] = 1;
  group.Disable();
  munmap(region, size);
  auto readings = group.Read();
  ASSERT_TRUE(readings.values[0]);
  EXPECT_GE(*readings.values[0], kPages);  // one per page (anonymous memory has no fault-around)
  if (!kThreadSanitizer) EXPECT_LT(*readings.values[0], kPages + 16);  // TSan: shadow faults
  EXPECT_DOUBLE_EQ(readings.min_run_fraction, 1.0);
}

}  // namespace
}  // namespace mapbench
