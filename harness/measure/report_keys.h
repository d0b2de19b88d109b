// The names a row's values travel under, from a workload body through Google
// Benchmark's counters and label to the CSV reporter (run/csv_reporter), which
// understands them. Shared by measure/ (which writes them) and run/ (which reads them).
#pragma once

#include <string>
#include <string_view>

namespace mapbench {

// In a Family metric name, stands for each counter of the run ("touch_{counter}_per_op").
inline constexpr char kCounterPlaceholder[] = "{counter}";
// Metrics named "..._counter_run_fraction" are running fractions: a row with several
// benchmark threads keeps the smallest, not the mean.
inline constexpr std::string_view kRunFractionSuffix = "_counter_run_fraction";

// Names of the reserved counter keys a reporter understands.
namespace keys {
inline constexpr char kValid[] = "mb.valid";
inline constexpr char kConfigOk[] = "mb.config_ok";
inline constexpr char kBytesPerOp[] = "mb.bytes_per_op";
inline constexpr char kPagesPerOp[] = "mb.pages_per_op";
inline constexpr char kRunFraction[] = "mb.counter_run_fraction";
inline constexpr char kStealFraction[] = "mb.steal_fraction";          // thread 0's timed stretches
inline constexpr char kCpuWaitFraction[] = "mb.cpu_wait_fraction";
inline constexpr char kTreeCpuNs[] = "mb.tree_cpu_ns";  // thread 0: the whole process tree
// "<key>@<thread>": one value per benchmark thread, which Google Benchmark keeps apart
// (it would average a kAvgThreads value); the row takes the smallest.
inline constexpr char kPerThread = '@';
inline constexpr char kCounterPrefix[] = "ctr.";
inline constexpr char kMetricPrefix[] = "metric.";
inline constexpr char kSkipPrefix[] = "skipped: ";
inline constexpr char kLabelSeparator = '\t';
// The row's counter_run_fraction as one benchmark thread reports it.
inline std::string RunFraction(int thread_index) {
  return kRunFraction + std::string(1, kPerThread) + std::to_string(thread_index);
}
}  // namespace keys

}  // namespace mapbench
