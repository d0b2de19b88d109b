// Cases that run on several threads or processes: totals over all workers, so a row's
// counters and checks cover every worker and not only the thread that reports.
//
// Google Benchmark's ->Threads(n) runs the body on n threads. Each has its own State:
// it sums their counters and iterations, divides kAvgIterations counters by the summed
// iterations and kAvgThreads values by n, and averages the threads' real time. So a
// Measurement per thread gives per-op counts over all threads, ns_per_op is wall time
// per op of all threads together, and Report() values must be the same in every thread
// (they are averaged). SharedTotals lets every thread report the same totals.
#pragma once

#include <benchmark/benchmark.h>
#include <sched.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/system_files.h"
#include "harness/measure/counters.h"

namespace mapbench {

// One spin-wait step: tells the CPU (and, on a VM, the host) that this thread is waiting.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

// Counter totals of a worker that counted itself (another thread, or a child process
// that sends them back through a pipe), parallel to CounterSet::statuses().
struct WorkerCounts {
  static constexpr size_t kMax = 32;
  uint32_t count = 0;
  double values[kMax];  // NaN: not counted
  double min_run_fraction = 1;
};
WorkerCounts ToWorkerCounts(const CounterGroup::Readings& readings);
// Field-by-field sum (NaN stays NaN only where both are NaN).
void Accumulate(WorkerCounts& total, const WorkerCounts& more);

// Adds a worker's totals to the counter cells benchmark thread `thread_index` reports
// (the cells a Measurement fills), so the row counts every worker and its running
// fraction is the smallest of all. Call after Measurement::Stop(), which assigns its own
// thread's counts.
void AddWorkerCounts(benchmark::UserCounters& counters, int thread_index, const CounterSet& set,
                     const WorkerCounts& counts);

// Reports metric `name` as a total over all benchmark threads per second of wall time:
// each thread passes its own count; Google Benchmark sums the threads' counts and divides
// by the run's real time (kIsRate). `name` must be a declared metric ("pages_per_second").
void ReportTotalRate(benchmark::UserCounters& counters, const std::string& name, double count);

// What the benchmark threads of one case share, so that each can report totals over all
// of them. One per case, shared by the threads of each of its runs:
//   - Arrive(): a reusable barrier for the case's `threads` threads. Every thread must
//     call it the same number of times, so a case must skip in all threads or in none.
//   - Reset(): thread 0 only, before the timed loop (the loop's own start barrier orders
//     it before any Add of the same run; the previous run's threads have all returned).
//   - After the loop: Add() in each thread, then Arrive(), then read the totals.
//   - SetNote() by one thread before an Arrive() and Note() by all after it share a
//     decision, e.g. thread 0's "skip: not enough memory", so all threads act alike.
class SharedTotals {
 public:
  explicit SharedTotals(int threads) : threads_(threads) {}
  void Arrive();
  void Reset();
  void Add(const std::map<std::string, double>& values, const std::string& failure = "");
  void AddCounts(const WorkerCounts& counts);
  double Get(const std::string& key) const;  // 0 when nobody added it
  std::string Failures() const;              // "; "-joined, empty when none
  WorkerCounts Counts() const;
  void SetNote(const std::string& key, const std::string& text);
  std::string Note(const std::string& key) const;  // empty when not set
  int threads() const { return threads_; }

 private:
  const int threads_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_all_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  std::map<std::string, double> values_;
  std::vector<std::string> failures_;
  std::map<std::string, std::string> notes_;
  WorkerCounts counts_;
  bool have_counts_ = false;
};

// /proc/thread-self/schedstat: time on a CPU, time waiting runnable for one (other load
// took it), and timeslices. A worker's wait over its wall time says how far "N workers
// in parallel" held on a shared machine.
struct SchedStat {
  uint64_t cpu_ns = 0;
  uint64_t wait_ns = 0;
  uint64_t timeslices = 0;
};
std::optional<SchedStat> ParseSchedstat(std::string_view text);
std::optional<SchedStat> ReadThreadSchedstat(const SystemFiles& system);  // the calling thread

// Did `workers` workers really run in parallel? Their summed runqueue wait over
// (wall time x workers) is the share of time they were ready but had no CPU (other load).
struct ParallelismCheck {
  double wait_fraction = 0;
  bool ok = true;
  std::string note;  // "workers waited for a CPU 23.4% of the time (other load)"
};
// wait_seconds < 0: unknown (no schedstat), which passes with a note.
ParallelismCheck CheckParallelism(double wait_seconds, double wall_seconds, int workers,
                                  double max_wait_fraction);

// CPUs the calling thread may run on (sched_getaffinity), ascending.
std::vector<int> AllowedCpus();

// Pins the calling thread to one CPU while it lives, then restores its previous mask.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu);
  ~ScopedPin();
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  const std::string& error() const { return error_; }  // empty when pinned

 private:
  cpu_set_t previous_;
  bool restore_ = false;
  std::string error_;
};

}  // namespace mapbench
