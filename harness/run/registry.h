// Family registration and case registration with Google Benchmark.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// Why a family of `cases` declares a headline that is not one of its columns ("" if none does).
std::string CheckHeadlines(const std::vector<CaseInfo>& cases);

// {family: {"headline": column}} for the families of `cases`, for environment.json.
nlohmann::json FamiliesJson(const std::vector<CaseInfo>& cases);

// Registers the selected cases with Google Benchmark; bodies get the context.
std::vector<CaseInfo> RegisterCases(const RunContext& context);

}  // namespace mapbench
