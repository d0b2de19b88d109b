#include "harness/measure/phases.h"

#include <time.h>

#include "harness/measure/report_keys.h"

namespace mapbench {
namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

}  // namespace

Phases::Phases(const RunContext& context, std::vector<std::string> names) : context_(context) {
  for (std::string& name : names) {
    Phase phase{std::move(name), std::make_unique<CounterGroup>(context.counters), 0, 0};
    phase.counters->Reset();
    phases_.push_back(std::move(phase));
  }
}

void Phases::Begin(size_t phase) {
  Phase& p = phases_[phase];
  p.counters->Enable();
  p.started_ns = NowNs();
}

void Phases::End(size_t phase) {
  Phase& p = phases_[phase];
  p.total_ns += NowNs() - p.started_ns;
  p.counters->Disable();
}

void Phases::AddTo(Outcome& outcome, uint64_t operations) const {
  if (operations == 0) return;
  const auto& statuses = context_.counters.statuses();
  for (const Phase& p : phases_) {
    outcome.metrics.emplace_back(p.name + "_ns_per_op", static_cast<double>(p.total_ns) / operations);
    CounterGroup::Readings readings = p.counters->Read();
    for (size_t i = 0; i < statuses.size(); ++i) {
      if (!readings.values[i]) continue;
      outcome.metrics.emplace_back(p.name + "_" + statuses[i].spec.column + "_per_op",
                                   *readings.values[i] / operations);
    }
    // The phase's groups run beside the row's own and may be multiplexed apart from it.
    if (readings.any) {
      outcome.metrics.emplace_back(p.name + std::string(kRunFractionSuffix),
                                   readings.min_run_fraction);
    }
  }
}

std::vector<std::string> PhaseMetricNames(const std::vector<std::string>& phases) {
  std::vector<std::string> names;
  for (const std::string& phase : phases) {
    names.push_back(phase + "_ns_per_op");
    names.push_back(phase + "_{counter}_per_op");  // one column per counter of the run
    names.push_back(phase + std::string(kRunFractionSuffix));
  }
  return names;
}

}  // namespace mapbench
