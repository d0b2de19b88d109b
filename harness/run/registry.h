// Family registration and case registration with Google Benchmark.
#pragma once

#include <string>
#include <vector>

#include "harness/measure/report_keys.h"
#include "harness/run/family.h"

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

}  // namespace mapbench
