// Fuzzes ParseKeyValues, the parser of /proc/vmstat ("name value" lines). The input
// drives a FuzzedDataProvider: names and values written one per line, as the kernel
// writes them, must read back unchanged (the last of a repeated name wins), and lines
// that are not "name number" (one word, a word for a value, blank) inserted anywhere
// must change nothing. The raw input is parsed too: every name it yields is one word.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "harness/kernel/system_files.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A vmstat name: one word of [a-z_0-9] (at least one letter, so never a number).
std::string NameFrom(FuzzedDataProvider& in) {
  std::string name = "n";
  const size_t length = in.ConsumeIntegralInRange<size_t>(0, 24);
  for (size_t i = 0; i < length; ++i) {
    name += "abcdefghijklmnopqrstuvwxyz_0123456789"[in.ConsumeIntegralInRange<int>(0, 36)];
  }
  return name;
}

std::string NoiseLineFrom(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      return "\n";
    case 1:
      return NameFrom(in) + "\n";  // one word
    case 2:
      return NameFrom(in) + " " + NameFrom(in) + "\n";  // a word for a value
    case 3:
      return NameFrom(in) + " -1\n";
    default:
      return "   \t \n";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const auto& [name, value] :
       mapbench::ParseKeyValues(std::string_view(reinterpret_cast<const char*>(data), size))) {
    FUZZ_CHECK(!name.empty() && name.find_first_of(" \t\n\v\f\r") == std::string::npos);
  }

  FuzzedDataProvider in(data, size);
  std::map<std::string, uint64_t> written;
  std::string clean, noisy;
  while (in.remaining_bytes() > 0) {
    if (in.ConsumeBool()) noisy += NoiseLineFrom(in);
    const std::string name = NameFrom(in);
    const uint64_t value = in.ConsumeIntegral<uint64_t>();
    written[name] = value;
    const std::string line = name + " " + std::to_string(value) + "\n";
    clean += line;
    noisy += line;
  }
  FUZZ_CHECK(mapbench::ParseKeyValues(clean) == written);
  FUZZ_CHECK(mapbench::ParseKeyValues(noisy) == written);
  if (!clean.empty()) {
    clean.pop_back();  // the last line without its newline
    FUZZ_CHECK(mapbench::ParseKeyValues(clean) == written);
  }
  return 0;
}
