#include "harness/kernel/smaps.h"

#include <charconv>
#include <sstream>

namespace mapbench {

std::optional<std::map<std::string, uint64_t>> SmapsForRange(std::string_view smaps_text,
                                                             uintptr_t begin, uintptr_t end) {
  std::map<std::string, uint64_t> sums;
  bool any = false, inside = false;
  std::istringstream in{std::string(smaps_text)};
  std::string line;
  while (std::getline(in, line)) {
    // A VMA header: "start-end perms offset dev inode [path]"; hex start has no colon.
    size_t dash = line.find('-');
    size_t space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space &&
        line.find(':') > space) {
      uintptr_t vma_begin = 0, vma_end = 0;
      auto first = std::from_chars(line.data(), line.data() + dash, vma_begin, 16);
      auto second = std::from_chars(line.data() + dash + 1, line.data() + space, vma_end, 16);
      if (first.ec != std::errc() || second.ec != std::errc()) {
        inside = false;
        continue;
      }
      inside = vma_begin < end && begin < vma_end;
      any = any || inside;
      continue;
    }
    if (!inside) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream fields(line.substr(colon + 1));
    std::string number, unit;
    fields >> number >> unit;
    auto value = ParseUnsigned(number);
    if (!value || unit != "kB") continue;  // VmFlags and THPeligible carry no size
    std::string key = line.substr(0, colon);
    uint64_t bytes = *value * 1024;
    if (key == "KernelPageSize" || key == "MMUPageSize") {
      sums[key] = std::max(sums[key], bytes);
    } else {
      sums[key] += bytes;
    }
  }
  if (!any) return std::nullopt;
  return sums;
}

std::optional<std::map<std::string, uint64_t>> ReadSmapsForRange(const SystemFiles& system,
                                                                 const void* begin, size_t length) {
  auto text = system.Read("/proc/self/smaps");
  if (!text) return std::nullopt;
  uintptr_t start = reinterpret_cast<uintptr_t>(begin);
  return SmapsForRange(*text, start, start + length);
}

}  // namespace mapbench
