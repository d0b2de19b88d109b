// Fuzzes the smaps parser: the first 16 bytes choose the address range.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "harness/kernel/smaps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uintptr_t range[2] = {0, ~uintptr_t{0}};
  if (size >= sizeof(range)) {
    std::memcpy(range, data, sizeof(range));
    data += sizeof(range);
    size -= sizeof(range);
  }
  mapbench::SmapsForRange(std::string_view(reinterpret_cast<const char*>(data), size), range[0],
                          range[1]);
  return 0;
}
