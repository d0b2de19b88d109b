// The noise around a row's timed stretches, recorded beside its timings: the share of the
// machine's CPU time stolen by the host (/proc/stat steal: a guest's vCPUs waiting for a
// physical CPU) and the share of the timed time this thread waited runnable on a run queue
// (schedstat: other load here took its CPU). Read outside the timed stretches.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mapbench {

// The aggregate "cpu " line of /proc/stat: every field summed (guest time is already in
// user) and steal (the 8th). nullopt when the line is missing or malformed.
struct CpuTicks {
  uint64_t total = 0;
  uint64_t steal = 0;
};
std::optional<CpuTicks> ParseProcStatCpu(std::string_view text);

// "123 456 " (/proc/self/task/TID/children) -> pids; nullopt when malformed.
std::optional<std::vector<int64_t>> ParseChildren(std::string_view text);

// CPU time of this process and its children: every thread of this process
// (CLOCK_PROCESS_CPUTIME_ID), the children already waited for (RUSAGE_CHILDREN) and the
// children still running (their threads' schedstat), so forked workers count too. A
// child reaped between two readings moves from the third part to the second: the
// difference stays right.
uint64_t ProcessTreeCpuNs();

struct NoiseSample {
  std::optional<CpuTicks> cpu;     // the whole machine
  std::optional<uint64_t> wait_ns;  // this thread's run-queue wait so far
  uint64_t wall_ns = 0;             // CLOCK_MONOTONIC
  uint64_t tree_cpu_ns = 0;         // ProcessTreeCpuNs()
};
NoiseSample ReadNoise();  // the real /proc, even under --system_root: load is real

// Sums of the stretches between pairs of samples.
class NoiseTotals {
 public:
  void Add(const NoiseSample& begin, const NoiseSample& end);
  // Steal ticks over all ticks; nullopt without /proc/stat or without a tick elapsed.
  std::optional<double> StealFraction() const;
  // Run-queue wait over wall time; nullopt without schedstat.
  std::optional<double> CpuWaitFraction() const;
  // CPU time of the process tree over the stretches, ns.
  uint64_t TreeCpuNs() const { return tree_cpu_ns_; }

 private:
  uint64_t ticks_ = 0, steal_ = 0, wait_ns_ = 0, wall_ns_ = 0, tree_cpu_ns_ = 0;
  bool cpu_known_ = true, wait_known_ = true, any_ = false;
};

}  // namespace mapbench
