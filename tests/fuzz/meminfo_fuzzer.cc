// Fuzzes the /proc text parsers: meminfo, "name value" files (vmstat), sysfs choices.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "harness/system_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mapbench::ParseMeminfo(text);
  mapbench::ParseKeyValues(text);
  mapbench::SelectedChoice(text);
  mapbench::ParseUnsigned(text);
  mapbench::Trim(text);
  return 0;
}
