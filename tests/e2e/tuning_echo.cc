// tuning_echo — a test-only family (in build/tests/mapbench_with_faults) whose cases
// read the THP setting their own process runs under and say it in config_note, so the
// --interleave tests can check that each row ran under the value its `variant` names.
#include "harness/workload.h"

namespace mapbench {
namespace {

void Echo(benchmark::State& state, const RunContext& ctx) {
  const std::string seen = ctx.system.ReadLine("/sys/kernel/mm/transparent_hugepage/enabled").value_or("?");
  for (auto _ : state) benchmark::DoNotOptimize(seen.size());
  Report(state, Outcome{0, 0, true, "nothing to check", true, "thp.enabled=" + seen, {}});
}

std::vector<Case> Cases(Suite) {
  std::vector<Case> cases;
  for (const char* which : {"a", "b", "c"}) {
    cases.push_back(Case{"", {{"case", which}}, Echo, {}});
  }
  return cases;
}

MAPBENCH_FAMILY(Family{"tuning_echo", "test only: says the THP setting its case ran under", {}, Cases});

}  // namespace
}  // namespace mapbench
