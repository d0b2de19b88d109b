// The VMAs of this process from /proc/self/maps text: which mappings cover a range and
// with what permissions, so a case can check that mprotect, mremap or munmap did what
// it claims (outside the timed region).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/system_files.h"

namespace mapbench {

struct VmaEntry {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  std::string permissions;  // "rw-p", "r--s", "---p"
  std::string path;         // empty for anonymous memory
};

// Parses /proc/<pid>/maps lines; malformed lines are ignored.
std::vector<VmaEntry> ParseMaps(std::string_view text);

// The entries overlapping [begin, end), in address order; none when the range is empty.
std::vector<VmaEntry> VmasInRange(const std::vector<VmaEntry>& entries, uintptr_t begin,
                                  uintptr_t end);

// True when [begin, end) is covered by mappings without a gap, all with `permissions`
// (an empty range is).
bool RangeHasPermissions(const std::vector<VmaEntry>& entries, uintptr_t begin, uintptr_t end,
                         std::string_view permissions);

// Reads /proc/self/maps through `system`.
std::vector<VmaEntry> ReadOwnMaps(const SystemFiles& system);

// How many VMAs /proc/<pid>/maps text lists: its non-empty lines, counted without parsing
// (a process with 64k VMAs has 64k lines).
size_t CountVmas(std::string_view maps_text);

// The page tables of a process in bytes: VmPTE of /proc/<pid>/status text (every level
// the kernel counts, PTE and PMD tables and above); nullopt when the field is missing.
std::optional<uint64_t> PageTableBytes(std::string_view status_text);

// VmPTE of this process, through `system` (/proc/self/status).
std::optional<uint64_t> ReadOwnPageTableBytes(const SystemFiles& system);

}  // namespace mapbench
