// Fuzzes what a user types: flags (arguments split at NUL bytes), counter lists and
// tunings, checked against a fixture allowlist.
#include <cstdint>
#include <string>
#include <vector>

#include "harness/measure/counters.h"
#include "harness/run/flags.h"
#include "harness/run/tunings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"mapbench"};
  size_t start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || input[i] == '\0') {
      args.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string error;
  mapbench::ParseFlags(args, &error);
  mapbench::ParseCounterList(input, &error);
  if (auto request = mapbench::ParseTuning(input, &error)) {
    for (const char* allowed : {"always|madvise|never", "integer 0..200", "integer 1024..2147483648"}) {
      mapbench::CheckValue(mapbench::KnobInfo{request->knob, "/x", allowed, ""}, request->value);
    }
  }
  return 0;
}
