#include "harness/kernel/vma.h"

#include <sstream>

namespace mapbench {
namespace {

std::optional<uintptr_t> ParseHex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uintptr_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = value * 16 + static_cast<uintptr_t>(digit);
  }
  return value;
}

}  // namespace

std::vector<VmaEntry> ParseMaps(std::string_view text) {
  std::vector<VmaEntry> entries;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    // "begin-end perms offset dev inode [path]"
    std::istringstream fields(line);
    std::string range, permissions, offset, device, inode;
    if (!(fields >> range >> permissions >> offset >> device >> inode)) continue;
    size_t dash = range.find('-');
    if (dash == std::string::npos || permissions.size() != 4) continue;
    auto begin = ParseHex(std::string_view(range).substr(0, dash));
    auto end = ParseHex(std::string_view(range).substr(dash + 1));
    if (!begin || !end || *end <= *begin) continue;
    std::string path;
    std::getline(fields >> std::ws, path);
    entries.push_back({*begin, *end, permissions, path});
  }
  return entries;
}

std::vector<VmaEntry> VmasInRange(const std::vector<VmaEntry>& entries, uintptr_t begin,
                                  uintptr_t end) {
  std::vector<VmaEntry> found;
  if (begin >= end) return found;  // an empty range overlaps nothing, even inside a VMA
  for (const VmaEntry& e : entries) {
    if (e.begin < end && e.end > begin) found.push_back(e);
  }
  return found;
}

bool RangeHasPermissions(const std::vector<VmaEntry>& entries, uintptr_t begin, uintptr_t end,
                         std::string_view permissions) {
  uintptr_t covered = begin;
  for (const VmaEntry& e : VmasInRange(entries, begin, end)) {
    if (e.begin > covered || e.permissions != permissions) return false;
    covered = e.end;
  }
  return covered >= end;
}

std::vector<VmaEntry> ReadOwnMaps(const SystemFiles& system) {
  return ParseMaps(system.Read("/proc/self/maps").value_or(""));
}

size_t CountVmas(std::string_view maps_text) {
  size_t count = 0;
  size_t start = 0;
  while (start < maps_text.size()) {
    size_t end = maps_text.find('\n', start);
    if (end == std::string_view::npos) end = maps_text.size();
    if (end > start) ++count;
    start = end + 1;
  }
  return count;
}

std::optional<uint64_t> PageTableBytes(std::string_view status_text) {
  auto fields = ParseMeminfo(status_text);
  auto it = fields.find("VmPTE");
  if (it == fields.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> ReadOwnPageTableBytes(const SystemFiles& system) {
  auto text = system.Read("/proc/self/status");
  if (!text) return std::nullopt;
  return PageTableBytes(*text);
}

}  // namespace mapbench
