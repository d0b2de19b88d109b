// Reads /proc and /sys through a root prefix, so tests can point the harness at a
// fixture tree instead of the running kernel. Parsers are pure functions over text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mapbench {

class SystemFiles {
 public:
  explicit SystemFiles(std::string root = "/") : root_(std::move(root)) {}

  // The whole file, or nullopt if it cannot be read (missing, no permission).
  std::optional<std::string> Read(std::string_view path) const;
  // First line without surrounding whitespace.
  std::optional<std::string> ReadLine(std::string_view path) const;
  // Names in a directory (no "." or ".."), sorted; empty if unreadable.
  std::vector<std::string> List(std::string_view dir) const;
  std::string Resolve(std::string_view path) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

std::string Trim(std::string_view text);

// "always [madvise] never" -> "madvise"; text without brackets is returned trimmed.
std::string SelectedChoice(std::string_view sysfs_text);

// "MemAvailable:   123 kB" lines -> bytes, keyed by field name.
std::map<std::string, uint64_t> ParseMeminfo(std::string_view text);

// "/proc/vmstat" style "name value" lines.
std::map<std::string, uint64_t> ParseKeyValues(std::string_view text);

// Strict unsigned parse of a whole string (no sign, no trailing junk).
std::optional<uint64_t> ParseUnsigned(std::string_view text);

// The machine's base page size in bytes (sysconf(_SC_PAGESIZE)): 4 KiB on x86-64, 4, 16
// or 64 KiB on arm64. Every "per page" figure and one-word-per-page touch uses it.
uint64_t PageSize();

}  // namespace mapbench
