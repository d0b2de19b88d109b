// Family registration and case registration with Google Benchmark.
#pragma once

#include <string>
#include <vector>

#include "harness/workload.h"

namespace mapbench {

const std::vector<Family>& Families();

struct CaseInfo {
  std::string name;  // Google Benchmark name: family[/workload]/key:value/...
  std::string family;
  std::string workload;
  std::vector<Param> params;
};

std::string CaseName(const std::string& family, const std::string& workload,
                     const std::vector<Param>& params);

// The cases of the suite matching the filter, in registration order.
std::vector<CaseInfo> SelectCases(Suite suite, const std::string& filter);

// Registers the selected cases with Google Benchmark; bodies get the context.
std::vector<CaseInfo> RegisterCases(const RunContext& context);

// Names of the reserved counter keys a reporter understands.
namespace keys {
inline constexpr char kValid[] = "mb.valid";
inline constexpr char kConfigOk[] = "mb.config_ok";
inline constexpr char kBytesPerOp[] = "mb.bytes_per_op";
inline constexpr char kPagesPerOp[] = "mb.pages_per_op";
inline constexpr char kRunFraction[] = "mb.counter_run_fraction";
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
