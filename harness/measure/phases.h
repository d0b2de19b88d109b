// Splits each timed operation into named phases (e.g. "map" and "touch"), timing each
// and counting its events, so one row can say what the mapping call cost and what the
// first touch cost. Reported as metrics "<phase>_ns_per_op", "<phase>_<counter>_per_op"
// and "<phase>_counter_run_fraction" (the smallest time_running / time_enabled of the
// phase's groups: < 1 means multiplexed and scaled), declared with PhaseMetricNames in
// the family's metrics.
#pragma once

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "harness/measure/counters.h"
#include "harness/measure/measurement.h"
#include "harness/measure/run_context.h"

namespace mapbench {

class Phases {
 public:
  Phases(const RunContext& context, std::vector<std::string> names);
  // Begin/End around the phase's code, inside the timed loop. Each costs a clock read
  // and two ioctls (about a microsecond): use for phases of tens of microseconds and up.
  void Begin(size_t phase);
  void End(size_t phase);
  // Adds the per-op metrics for `operations` operations to the outcome.
  void AddTo(Outcome& outcome, uint64_t operations) const;

 private:
  struct Phase {
    std::string name;
    std::unique_ptr<CounterGroup> counters;
    uint64_t total_ns = 0;
    uint64_t started_ns = 0;
  };
  const RunContext& context_;
  std::vector<Phase> phases_;
};

// The metric names a family using Phases declares ("{counter}" expands per counter).
std::vector<std::string> PhaseMetricNames(const std::vector<std::string>& phases);

}  // namespace mapbench
