// The one header a workload family includes: how to declare cases, measure the timed
// loop under counters, and report what was verified. Nothing here knows about CSV.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/measure/report_keys.h"
#include "harness/measure/run_context.h"

namespace mapbench {

struct Param {
  std::string key;    // snake_case, with its unit: "block_kib", "method"
  std::string value;
};

struct Case {
  std::string workload;          // empty: the family's name
  std::vector<Param> params;     // become "key:value" name segments and CSV columns
  std::function<void(benchmark::State&, const RunContext&)> body;
  // Optional Google Benchmark settings for this case (e.g. a fixed iteration count).
  std::function<void(benchmark::internal::Benchmark*)> configure;
  // The body times each operation itself (state.SetIterationTime) instead of wall time
  // around the loop: for one call amid untimed work, where pausing costs more than it.
  bool manual_time = false;
};

struct Family {
  std::string name;                  // same word as the file, the CSV family column, the plot
  std::string summary;               // one line for --list
  // Extra per-row columns the bodies report (unit in name); "{counter}" in a name
  // stands for each counter of the run, e.g. "touch_{counter}_per_op".
  std::vector<std::string> metrics;
  std::function<std::vector<Case>(Suite)> cases;
};

// Called from a static initializer in each benchmarks/<family>.cc.
bool RegisterFamily(Family family);

#define MAPBENCH_CONCAT_INNER(a, b) a##b
#define MAPBENCH_CONCAT(a, b) MAPBENCH_CONCAT_INNER(a, b)
#define MAPBENCH_FAMILY(...) \
  static const bool MAPBENCH_CONCAT(mapbench_family_, __LINE__) = ::mapbench::RegisterFamily(__VA_ARGS__)

// Counts events over the timed loop: construct right before `for (auto _ : state)`,
// call Stop() right after it. Pause()/Resume() exclude untimed work from both the
// timer and the counters.
class Measurement {
 public:
  Measurement(benchmark::State& state, const RunContext& context);
  ~Measurement();
  Measurement(const Measurement&) = delete;
  Measurement& operator=(const Measurement&) = delete;
  void Pause();
  void Resume();
  void Stop();

 private:
  struct Impl;
  benchmark::State& state_;
  Impl* impl_;
};

// What one benchmark run did and what was checked; every workload reports it.
struct Outcome {
  double bytes_per_op = 0;        // for bytes_per_second and per-byte figures
  double pages_per_op = 0;        // base pages (PageSize()) per op, for *_per_page counters
  std::optional<bool> valid;      // the result was verified (checksum, fault count, ...)
  std::string validation;         // what was checked, e.g. "checksum 0x... matches"
  std::optional<bool> config_ok;  // the configuration the row claims really took effect
  std::string config;             // what was found, e.g. "0.0% resident before each pass"
  std::vector<std::pair<std::string, double>> metrics;  // declared in Family::metrics
};
void Report(benchmark::State& state, const Outcome& outcome);

// A case that cannot run here (too big, no permission, feature missing): the row is
// recorded as skipped with the reason and the suite goes on.
void Skip(benchmark::State& state, const std::string& reason);

// Fits checks made before a case allocates: nullopt when it fits, else the reason.
std::optional<std::string> CheckMemory(const RunContext& context, uint64_t bytes);

}  // namespace mapbench
