// --interleave KNOB=A,B[,...]: one runtime knob whose values take turns, case by case and
// process by process, in a seeded balanced order, so that every comparison of two values
// is made of pairs measured next to each other in time (randomized interleaved trials).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/tunings.h"

namespace mapbench {

struct InterleaveRequest {
  std::string knob;
  std::vector<std::string> values;  // 2 or more; a value may repeat (an A/A run)
};

// "knob=a,b,..." -> request; nullopt with *error for malformed text or fewer than 2 values.
std::optional<InterleaveRequest> ParseInterleave(const std::string& text, std::string* error);

// Error text or empty: unknown knob, a knob that cannot change between cases (hugetlb
// pools), a bad value, or the same knob also given to --tune.
std::string CheckInterleave(const InterleaveRequest& request, const std::vector<KnobInfo>& knobs,
                            const std::vector<TuningRequest>& tunings);

// orders[process][case] = the arms (indices into the values) in the order that process
// runs them for that case. Each order is a rotation of 0..arms-1 (a Latin square row, so
// every arm comes first, second, ... equally often); per case, the rotations are dealt
// to the processes from shuffled decks of all `arms` rotations, so with a multiple of
// `arms` processes each arm holds each position equally often in every case. Seeded.
std::vector<std::vector<std::vector<int>>> ArmOrders(int arms, int processes, int cases,
                                                     uint64_t seed);

}  // namespace mapbench
