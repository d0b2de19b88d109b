#include "harness/run/registry.h"

#include <algorithm>
#include <regex>

#include "harness/run/series.h"

namespace mapbench {
namespace {

std::vector<Family>& MutableFamilies() {
  static std::vector<Family> families;
  return families;
}

}  // namespace

bool RegisterFamily(Family family) {
  MutableFamilies().push_back(std::move(family));
  return true;
}

const std::vector<Family>& Families() { return MutableFamilies(); }

std::string CaseName(const std::string& family, const std::string& workload,
                     const std::vector<Param>& params) {
  std::string name = family;
  if (!workload.empty() && workload != family) name += "/" + workload;
  for (const Param& p : params) name += "/" + p.key + ":" + p.value;
  return name;
}

namespace {

template <typename Visit>
void ForEachSelected(Suite suite, const std::string& filter, Visit visit) {
  std::regex pattern(filter.empty() ? "." : filter);
  for (const Family& family : Families()) {
    for (const Case& c : family.cases(suite)) {
      std::string workload = c.workload.empty() ? family.name : c.workload;
      CaseInfo info{CaseName(family.name, workload, c.params), family.name, workload, c.params};
      if (std::regex_search(info.name, pattern)) visit(info, c);
    }
  }
}

}  // namespace

namespace {

// The families with a case among `cases`, in registration order.
std::vector<const Family*> FamiliesOf(const std::vector<CaseInfo>& cases) {
  std::vector<const Family*> used;
  for (const Family& family : Families()) {
    for (const CaseInfo& c : cases) {
      if (c.family == family.name) {
        used.push_back(&family);
        break;
      }
    }
  }
  return used;
}

}  // namespace

std::string CheckHeadlines(const std::vector<CaseInfo>& cases) {
  for (const Family* family : FamiliesOf(cases)) {
    const std::vector<std::string>& m = family->metrics;
    if (family->headline != "ns_per_op" && std::find(m.begin(), m.end(), family->headline) == m.end()) {
      return "family '" + family->name + "' declares headline '" + family->headline +
             "', which is neither ns_per_op nor one of its metrics";
    }
  }
  return "";
}

nlohmann::json FamiliesJson(const std::vector<CaseInfo>& cases) {
  nlohmann::json out = nlohmann::json::object();
  for (const Family* family : FamiliesOf(cases)) out[family->name] = {{"headline", family->headline}};
  return out;
}

std::vector<CaseInfo> SelectCases(Suite suite, const std::string& filter) {
  std::vector<CaseInfo> selected;
  ForEachSelected(suite, filter, [&](const CaseInfo& info, const Case&) { selected.push_back(info); });
  return selected;
}

std::vector<CaseInfo> RegisterCases(const RunContext& context) {
  std::vector<CaseInfo> registered;
  ForEachSelected(context.config.suite, context.config.filter, [&](const CaseInfo& info, const Case& c) {
    auto body = c.body;
    auto* bench = benchmark::RegisterBenchmark(
        info.name.c_str(), [body, &context](benchmark::State& state) {
          if (state.thread_index() == 0) NextSeriesRepetition();
          body(state, context);
        });
    // Wall time: page-cache misses and faults block, and blocking is part of the cost.
    if (c.manual_time) {
      bench->UseManualTime()->Unit(benchmark::kMicrosecond);
    } else {
      bench->UseRealTime()->Unit(benchmark::kMicrosecond);
    }
    if (c.configure) c.configure(bench);
    registered.push_back(info);
  });
  return registered;
}

}  // namespace mapbench
