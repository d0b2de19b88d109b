// Page-cache state of a file: make it warm or cold, and check what is resident.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mapbench {

// Writes back and drops the file's cached pages (fdatasync + POSIX_FADV_DONTNEED).
// Works without root; pages mapped by someone keep their place. Error text or nullopt.
std::optional<std::string> EvictFromCache(int fd);

// Reads the whole file once so its pages are cached. Error text or nullopt.
std::optional<std::string> WarmCache(int fd, uint64_t size);

// Fraction of the file's pages in the page cache (mincore over a fresh mapping),
// or nullopt with *error.
std::optional<double> ResidentFraction(int fd, uint64_t size, std::string* error);

}  // namespace mapbench
