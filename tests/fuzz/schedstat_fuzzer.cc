// Fuzzes ParseSchedstat (/proc/thread-self/schedstat: "cpu_ns wait_ns timeslices").
// Invariants: what it accepts are the first three words of the text, each a whole
// unsigned number; three numbers written as the kernel writes them read back unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>

#include "harness/measure/parallel.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto parsed = mapbench::ParseSchedstat(text)) {
    std::istringstream words(text);
    std::string cpu, wait, slices;
    FUZZ_CHECK(words >> cpu >> wait >> slices);
    FUZZ_CHECK(mapbench::ParseUnsigned(cpu) == parsed->cpu_ns);
    FUZZ_CHECK(mapbench::ParseUnsigned(wait) == parsed->wait_ns);
    FUZZ_CHECK(mapbench::ParseUnsigned(slices) == parsed->timeslices);
  }

  uint64_t values[3] = {0, 0, 0};
  std::memcpy(values, data, std::min(size, sizeof(values)));
  const std::string written = std::to_string(values[0]) + " " + std::to_string(values[1]) + " " +
                              std::to_string(values[2]) + "\n";
  const auto read = mapbench::ParseSchedstat(written);
  FUZZ_CHECK(read && read->cpu_ns == values[0] && read->wait_ns == values[1] &&
             read->timeslices == values[2]);
  return 0;
}
