#include "harness/run/interleave.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace mapbench {

std::optional<InterleaveRequest> ParseInterleave(const std::string& text, std::string* error) {
  std::optional<TuningRequest> knob_values = ParseTuning(text, error);
  if (!knob_values) {
    *error = "--interleave: " + *error;
    return std::nullopt;
  }
  InterleaveRequest request{knob_values->knob, {}};
  const std::string& list = knob_values->value;
  for (size_t start = 0;;) {
    size_t comma = list.find(',', start);
    std::string value = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (value.empty()) {
      *error = "--interleave " + text + ": an empty value (expected KNOB=A,B[,...])";
      return std::nullopt;
    }
    request.values.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (request.values.size() < 2) {
    *error = "--interleave " + text + ": needs two or more values to alternate (KNOB=A,B[,...])";
    return std::nullopt;
  }
  return request;
}

std::string CheckInterleave(const InterleaveRequest& request, const std::vector<KnobInfo>& knobs,
                            const std::vector<TuningRequest>& tunings) {
  auto knob = std::find_if(knobs.begin(), knobs.end(), [&](const KnobInfo& k) { return k.name == request.knob; });
  if (knob == knobs.end()) {
    return "--interleave: unknown tuning '" + request.knob + "' (not in the allowlist; see --list_tunings)";
  }
  if (!knob->runtime) {
    return "--interleave " + request.knob + ": cannot change between cases (" + knob->help +
           "); compare whole runs with --tune or `mapbench matrix`";
  }
  for (const std::string& value : request.values) {
    if (std::string e = CheckValue(*knob, value); !e.empty()) return "--interleave: " + e;
  }
  for (const TuningRequest& tuning : tunings) {
    if (tuning.knob == request.knob) {
      return "--interleave " + request.knob + ": also given to --tune; give it to one of them";
    }
  }
  return "";
}

std::vector<std::vector<std::vector<int>>> ArmOrders(int arms, int processes, int cases, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<std::vector<int>>> orders(processes, std::vector<std::vector<int>>(cases));
  std::vector<int> deck(arms);
  for (int c = 0; c < cases; ++c) {
    for (int p = 0; p < processes; ++p) {
      if (p % arms == 0) {
        std::iota(deck.begin(), deck.end(), 0);
        std::shuffle(deck.begin(), deck.end(), random);
      }
      const int rotation = deck[p % arms];
      std::vector<int>& order = orders[p][c];
      for (int i = 0; i < arms; ++i) order.push_back((rotation + i) % arms);
    }
  }
  return orders;
}

}  // namespace mapbench
