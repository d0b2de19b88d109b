// Fuzzes the /proc text parsers: meminfo, "name value" files (vmstat), sysfs choices.
// Invariant for meminfo: lines written as the kernel writes them, from the input's
// numbers, read back as those numbers, times 1024 for "kB"; a kB value whose byte count
// does not fit in 64 bits is dropped, never wrapped. Names never span lines.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "harness/kernel/system_files.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& [name, bytes] : mapbench::ParseMeminfo(text)) {
    FUZZ_CHECK(name.find('\n') == std::string::npos);
    (void)bytes;
  }
  mapbench::ParseKeyValues(text);
  mapbench::SelectedChoice(text);
  mapbench::ParseUnsigned(text);
  mapbench::Trim(text);

  // "MemTotal:       24682416 kB" and "HugePages_Total:       0" from the input's bytes.
  std::map<std::string, uint64_t> expected;
  std::string written;
  for (size_t i = 0; i + 8 <= size && i < 8 * 64; i += 8) {
    uint64_t number;
    std::memcpy(&number, data + i, 8);
    const bool kb = number & 1;
    const std::string name = "Field" + std::to_string(i / 8) + (kb ? "_kB" : "");
    written += name + ":" + std::string(16, ' ') + std::to_string(number) + (kb ? " kB\n" : "\n");
    if (!kb) {
      expected[name] = number;
    } else if (number <= UINT64_MAX / 1024) {
      expected[name] = number * 1024;
    }
  }
  FUZZ_CHECK(mapbench::ParseMeminfo(written) == expected);
  return 0;
}
