// What a workload body does around its timed loop: count events (Measurement), report
// what it verified (Outcome, Report), skip a case that cannot run here (Skip,
// CheckMemory). Values travel as Google Benchmark counters under report_keys.h names;
// nothing here knows about CSV.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/measure/run_context.h"

namespace mapbench {

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
