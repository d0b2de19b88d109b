// What really backs a mapping: /proc/self/smaps fields for the VMA(s) of a range.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "harness/kernel/system_files.h"

namespace mapbench {

// Sums, in bytes, of the smaps fields ("Rss", "AnonHugePages", "ShmemPmdMapped",
// "FilePmdMapped", "Private_Hugetlb", "Shared_Hugetlb", ...) over every VMA that
// overlaps [begin, end). "KernelPageSize" and "MMUPageSize" keep the largest value.
// nullopt when no VMA overlaps.
std::optional<std::map<std::string, uint64_t>> SmapsForRange(std::string_view smaps_text,
                                                             uintptr_t begin, uintptr_t end);

// Reads /proc/self/smaps through `system` and sums the fields for the range.
std::optional<std::map<std::string, uint64_t>> ReadSmapsForRange(const SystemFiles& system,
                                                                 const void* begin, size_t length);

}  // namespace mapbench
