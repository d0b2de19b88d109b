#include "harness/measure/parallel.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "harness/measure/run_context.h"
#include "harness/run/csv_reporter.h"
#include "harness/run/registry.h"
#include "harness/workload.h"
#include "tests/harness/fake_perf.h"
#include "tests/harness/sanitizers.h"

namespace mapbench {
namespace {

// Captures the runs Google Benchmark reports.
class Capture : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration) this->runs.push_back(run);
    }
  }
  std::vector<Run> runs;
};

// What Report()/Measurement rely on: with ->Threads(n), iterations and counter values
// are summed over threads, kAvgIterations divides by the summed iterations and
// kAvgThreads by n.
TEST(GoogleBenchmarkThreads, SumsIterationsAndCountersOverThreads) {
  benchmark::RegisterBenchmark(
      "parallel_test/accounting",
      [](benchmark::State& state) {
        const double mine = state.thread_index() + 1;  // threads 0..2 count 1, 2, 3 per op
        for (auto _ : state) {
        }
        state.counters["per_op"] =
            benchmark::Counter(mine * state.iterations(), benchmark::Counter::kAvgIterations);
        state.counters["same_everywhere"] =
            benchmark::Counter(0.5, benchmark::Counter::kAvgThreads);
        state.counters["differs"] = benchmark::Counter(mine, benchmark::Counter::kAvgThreads);
      })
      ->Threads(3)
      ->Iterations(10);
  Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture, "^parallel_test/accounting");
  ASSERT_EQ(capture.runs.size(), 1u);
  const auto& run = capture.runs[0];
  EXPECT_EQ(run.threads, 3);
  EXPECT_EQ(run.iterations, 30);  // 10 per thread, summed
  // (1 + 2 + 3) * 10 counted over 30 ops: 2 per op, the average over all threads' ops.
  EXPECT_DOUBLE_EQ(run.counters.at("per_op").value, 2.0);
  EXPECT_DOUBLE_EQ(run.counters.at("same_everywhere").value, 0.5);
  EXPECT_DOUBLE_EQ(run.counters.at("differs").value, 2.0);  // an average, not a total
}

// A Measurement in every benchmark thread counts that thread; the row gets the sum.
TEST(GoogleBenchmarkThreads, MeasurementPerThreadCountsEveryThreadsFaults) {
  static RunContext context;
  context.counters =
      CounterSet::Resolve({{"minor_faults", "minor-faults"}}, RealPerfOpen(), nullptr);
  if (!context.counters.statuses()[0].available) {
    GTEST_SKIP() << context.counters.statuses()[0].detail;
  }
  constexpr size_t kPages = 64;
  benchmark::RegisterBenchmark(
      "parallel_test/faults",
      [](benchmark::State& state) {
        const size_t size = kPages * 4096;
        {
          Measurement measure(state, context);
          for (auto _ : state) {
            char* region = static_cast<char*>(
                mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
            madvise(region, size, MADV_NOHUGEPAGE);
            for (size_t i = 0; i < size; i += 4096) region[i] = 1;
            munmap(region, size);
          }
        }
        Outcome outcome;
        outcome.pages_per_op = kPages;
        outcome.valid = true;
        Report(state, outcome);
      })
      ->Threads(2)
      ->Iterations(8);
  Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture, "^parallel_test/faults");
  ASSERT_EQ(capture.runs.size(), 1u);
  const auto& counters = capture.runs[0].counters;
  const double faults_per_op =
      counters.at(std::string(keys::kCounterPrefix) + "minor_faults").value;
  // Counting one thread only would give about kPages / 2 per op. (TSan's shadow pages
  // fault too: no upper bound there.)
  EXPECT_GE(faults_per_op, kPages);
  if (!kThreadSanitizer) EXPECT_LT(faults_per_op, kPages * 1.5);
  EXPECT_DOUBLE_EQ(counters.at(keys::kPagesPerOp).value, kPages);
  EXPECT_DOUBLE_EQ(counters.at(keys::kValid).value, 1.0);
}

// Google Benchmark averages kAvgThreads values over threads: the row's running fraction
// must still be the smallest of any thread's groups, not their mean.
TEST(GoogleBenchmarkThreads, RowRunFractionIsTheSmallestOverThreads) {
  static GroupReadPerf perf;
  // Group leaders in order: the probe, then one per benchmark thread; one is multiplexed.
  perf.times = [](int leader) {
    return leader == 2 ? std::pair<uint64_t, uint64_t>{1000, 500}
                       : std::pair<uint64_t, uint64_t>{1000, 1000};
  };
  static RunContext context;
  context.counters =
      CounterSet::Resolve({{"minor_faults", "minor-faults"}}, perf.Opener(), nullptr);
  ASSERT_TRUE(context.counters.statuses()[0].available);
  benchmark::RegisterBenchmark("parallel_test/run_fraction",
                               [](benchmark::State& state) {
                                 {
                                   Measurement measure(state, context);
                                   for (auto _ : state) {
                                   }
                                 }
                                 Outcome outcome;
                                 outcome.valid = true;
                                 Report(state, outcome);
                               })
      ->Threads(2)
      ->Iterations(4);
  Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture, "^parallel_test/run_fraction");
  ASSERT_EQ(capture.runs.size(), 1u);
  std::map<std::string, std::string> cells = RowCells(capture.runs[0], RowContext{});
  EXPECT_EQ(cells["counter_run_fraction"], "0.5");
  EXPECT_EQ(cells["minor_faults_per_op"], "37.5");  // (100 + 200 scaled) over 8 ops
}

// Totals over the threads and a rate over the run's wall time.
TEST(GoogleBenchmarkThreads, TotalRateIsTheSumOverThreadsPerSecond) {
  benchmark::RegisterBenchmark("parallel_test/rate",
                               [](benchmark::State& state) {
                                 for (auto _ : state) usleep(1000);
                                 ReportTotalRate(state.counters, "items_per_second",
                                                 100.0 * state.iterations());
                               })
      ->Threads(2)
      ->Iterations(20)
      ->UseRealTime();
  Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture, "^parallel_test/rate");
  ASSERT_EQ(capture.runs.size(), 1u);
  const auto& run = capture.runs[0];
  const double rate = run.counters.at(std::string(keys::kMetricPrefix) + "items_per_second").value;
  // 4000 items over the average thread's wall time (the same figure, by construction).
  EXPECT_NEAR(rate, 4000.0 / run.real_accumulated_time, 1e-6 * rate);
}

struct FakeOpener {
  PerfOpenFn Opener() {
    return [](perf_event_attr*, pid_t, int, int, unsigned long) -> int { return dup(0); };
  }
};

TEST(WorkerCounts, AddsToTheRowsCounterCells) {
  FakeOpener fake;
  CounterSet set = CounterSet::Resolve(
      {{"minor_faults", "minor-faults"}, {"context_switches", "context-switches"}}, fake.Opener(),
      nullptr);
  ASSERT_EQ(set.statuses().size(), 2u);
  CounterGroup::Readings readings;
  readings.values = {120.0, std::nullopt};
  readings.min_run_fraction = 0.5;
  readings.any = true;
  WorkerCounts counts = ToWorkerCounts(readings);
  EXPECT_EQ(counts.count, 2u);
  EXPECT_TRUE(std::isnan(counts.values[1]));

  benchmark::UserCounters cells;
  const std::string faults = std::string(keys::kCounterPrefix) + "minor_faults";
  cells[faults] = benchmark::Counter(5, benchmark::Counter::kAvgIterations);  // the thread's own
  cells[keys::RunFraction(0)] = benchmark::Counter(1);
  AddWorkerCounts(cells, 0, set, counts);
  EXPECT_DOUBLE_EQ(cells[faults].value, 125);
  EXPECT_EQ(cells[faults].flags, benchmark::Counter::kAvgIterations);
  EXPECT_EQ(cells.count(std::string(keys::kCounterPrefix) + "context_switches"), 0u);  // NaN: empty
  EXPECT_DOUBLE_EQ(cells[keys::RunFraction(0)].value, 0.5);
}

TEST(WorkerCounts, AccumulateKeepsNanOnlyWhereNobodyCounted) {
  WorkerCounts a, b;
  a.count = b.count = 2;
  a.values[0] = 1;
  a.values[1] = std::numeric_limits<double>::quiet_NaN();
  b.values[0] = 2;
  b.values[1] = std::numeric_limits<double>::quiet_NaN();
  b.min_run_fraction = 0.75;
  Accumulate(a, b);
  EXPECT_DOUBLE_EQ(a.values[0], 3);
  EXPECT_TRUE(std::isnan(a.values[1]));
  EXPECT_DOUBLE_EQ(a.min_run_fraction, 0.75);
}

TEST(SharedTotals, EveryThreadSeesTheTotalsOfAll) {
  constexpr int kThreads = 4;
  SharedTotals totals(kThreads);
  for (int run = 0; run < 3; ++run) {  // reused across runs, reset by thread 0
    totals.Reset();
    std::vector<double> seen(kThreads);
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        totals.Arrive();
        totals.Add({{"pages", 10.0 * (t + 1)}}, t == 2 ? "worker 2 failed" : "");
        totals.Arrive();
        seen[t] = totals.Get("pages");
        failures[t] = totals.Failures();
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_DOUBLE_EQ(seen[t], 100);
      EXPECT_EQ(failures[t], "worker 2 failed");
    }
    EXPECT_DOUBLE_EQ(totals.Get("missing"), 0);
  }
}

TEST(SharedTotals, OneThreadsDecisionReachesAll) {
  constexpr int kThreads = 3;
  SharedTotals totals(kThreads);
  std::vector<std::string> decisions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (t == 0) totals.SetNote("skip", "not enough memory");
      totals.Arrive();
      decisions[t] = totals.Note("skip");
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(decisions, std::vector<std::string>(kThreads, "not enough memory"));
  EXPECT_EQ(totals.Note("other"), "");
}

TEST(Schedstat, ParsesAndRejects) {
  auto stat = ParseSchedstat("123456 789 42\n");
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->cpu_ns, 123456u);
  EXPECT_EQ(stat->wait_ns, 789u);
  EXPECT_EQ(stat->timeslices, 42u);
  EXPECT_FALSE(ParseSchedstat("1 2\n"));
  EXPECT_FALSE(ParseSchedstat("1 -2 3\n"));
  EXPECT_FALSE(ParseSchedstat(""));
}

TEST(Schedstat, ThisThreadRuns) {
  // The kernel adds a running thread's time to schedstat at a tick or when it is switched
  // out: a test process younger than a tick can read 0. Sleeping switches it out.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto stat = ReadThreadSchedstat(SystemFiles());
  if (!stat) GTEST_SKIP() << "no /proc/thread-self/schedstat (CONFIG_SCHED_INFO off)";
  EXPECT_GT(stat->cpu_ns, 0u);
}

TEST(CheckParallelism, WaitingForACpuBeyondTheLimitFails) {
  // Two workers, 1 s of wall time each, 0.1 s waiting in all: 5%.
  ParallelismCheck fine = CheckParallelism(0.1, 1.0, 2, 0.10);
  EXPECT_TRUE(fine.ok);
  EXPECT_DOUBLE_EQ(fine.wait_fraction, 0.05);
  EXPECT_NE(fine.note.find("5.0%"), std::string::npos) << fine.note;
  ParallelismCheck starved = CheckParallelism(1.0, 1.0, 2, 0.10);
  EXPECT_FALSE(starved.ok);
  EXPECT_NE(starved.note.find("50.0%"), std::string::npos);
  EXPECT_NE(starved.note.find("other load"), std::string::npos);
  ParallelismCheck unknown = CheckParallelism(-1, 1.0, 2, 0.10);
  EXPECT_TRUE(unknown.ok);
  EXPECT_NE(unknown.note.find("unknown"), std::string::npos);
}

TEST(Cpus, PinAndRestore) {
  std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  {
    ScopedPin pin(cpus.back());
    ASSERT_EQ(pin.error(), "");
    EXPECT_EQ(AllowedCpus(), std::vector<int>{cpus.back()});
    EXPECT_EQ(sched_getcpu(), cpus.back());
  }
  EXPECT_EQ(AllowedCpus(), cpus);
  ScopedPin bad(CPU_SETSIZE - 1);
  if (cpus.back() != CPU_SETSIZE - 1) {
    EXPECT_NE(bad.error(), "");
  }
}

}  // namespace
}  // namespace mapbench
