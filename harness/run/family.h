// How a workload family declares its cases and registers itself (MAPBENCH_FAMILY in
// benchmarks/<family>.cc); run/registry turns them into Google Benchmark cases.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <string>
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
  // The column compare and regress test by default for this family's rows: ns_per_op, or
  // one of `metrics` when the op's time is not the answer (crossover: the steady state).
  // Better direction from its name, as for every column.
  std::string headline = "ns_per_op";
};

// Called from a static initializer in each benchmarks/<family>.cc.
bool RegisterFamily(Family family);

#define MAPBENCH_CONCAT_INNER(a, b) a##b
#define MAPBENCH_CONCAT(a, b) MAPBENCH_CONCAT_INNER(a, b)
#define MAPBENCH_FAMILY(...) \
  static const bool MAPBENCH_CONCAT(mapbench_family_, __LINE__) = ::mapbench::RegisterFamily(__VA_ARGS__)

}  // namespace mapbench
