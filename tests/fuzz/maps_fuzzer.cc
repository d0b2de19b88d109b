// Fuzzes the /proc/<pid>/maps parser (harness/kernel/vma). The raw input is parsed as maps
// text: every entry it keeps must be a real range with a 4-letter permission field.
// Then the input drives a FuzzedDataProvider that builds an address-ordered list of
// VMAs, written as the kernel writes them: it must parse back to the same entries, and
// RangeHasPermissions / VmasInRange must agree with a page-by-page check.
#include <fuzzer/FuzzedDataProvider.h>

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/vma.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr uintptr_t kPage = 4096;

bool SameEntry(const mapbench::VmaEntry& a, const mapbench::VmaEntry& b) {
  return a.begin == b.begin && a.end == b.end && a.permissions == b.permissions && a.path == b.path;
}

// "7f0000200000-7f0000400000 rw-p 00000000 00:00 0    [heap]" (path padded to column 73).
std::string MapsLine(const mapbench::VmaEntry& e, uint64_t offset, uint64_t inode) {
  char head[128];
  int n = std::snprintf(head, sizeof(head),
                        "%08" PRIxPTR "-%08" PRIxPTR " %s %08" PRIx64 " fd:01 %" PRIu64 " ",
                        e.begin, e.end, e.permissions.c_str(), offset, inode);
  std::string line(head, static_cast<size_t>(n));
  if (!e.path.empty()) {
    if (line.size() < 73) line.append(73 - line.size(), ' ');
    line += e.path;
  }
  return line + "\n";
}

// A path as the kernel prints it: no newline, no leading blank (the parser cannot tell
// those from padding).
std::string PathFrom(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return "";
    case 1:
      return "[heap]";
    case 2:
      return "/dev/shm/x (deleted)";
    default:
      break;
  }
  std::string path = in.ConsumeRandomLengthString(64);
  for (char& c : path) {
    if (c == '\n' || c == '\0') c = '_';
  }
  size_t first = path.find_first_not_of(" \t\n\v\f\r");
  return first == std::string::npos ? "" : path.substr(first);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const mapbench::VmaEntry& e : mapbench::ParseMaps(text)) {
    FUZZ_CHECK(e.begin < e.end);
    FUZZ_CHECK(e.permissions.size() == 4);
    FUZZ_CHECK(e.path.find('\n') == std::string::npos);
  }

  FuzzedDataProvider in(data, size);
  std::vector<mapbench::VmaEntry> entries;
  uintptr_t next = kPage * (1 + in.ConsumeIntegralInRange<uintptr_t>(0, uintptr_t{1} << 34));
  const int count = in.ConsumeIntegralInRange<int>(0, 24);
  std::string maps;
  for (int i = 0; i < count; ++i) {
    mapbench::VmaEntry e;
    e.begin = next + kPage * in.ConsumeIntegralInRange<uintptr_t>(0, 3);
    e.end = e.begin + kPage * in.ConsumeIntegralInRange<uintptr_t>(1, 8);
    static const char* const kPermissions[] = {"rw-p", "r--p", "---p", "rw-s"};
    e.permissions = kPermissions[in.ConsumeIntegralInRange<int>(0, 3)];
    e.path = PathFrom(in);
    next = e.end;
    maps += MapsLine(e, in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>());
    entries.push_back(e);
  }
  const std::vector<mapbench::VmaEntry> parsed = mapbench::ParseMaps(maps);
  FUZZ_CHECK(parsed.size() == entries.size());
  for (size_t i = 0; i < parsed.size(); ++i) FUZZ_CHECK(SameEntry(parsed[i], entries[i]));
  if (entries.empty()) return 0;

  // Queries inside and around the mapped span, checked page by page.
  const uintptr_t low = entries.front().begin - kPage, high = entries.back().end + kPage;
  const uintptr_t pages = (high - low) / kPage;
  for (int query = 0; query < 4 && in.remaining_bytes() > 0; ++query) {
    uintptr_t a = low + kPage * in.ConsumeIntegralInRange<uintptr_t>(0, pages);
    uintptr_t b = low + kPage * in.ConsumeIntegralInRange<uintptr_t>(0, pages);
    if (a > b) std::swap(a, b);
    static const char* const kWanted[] = {"rw-p", "r--p"};
    const std::string wanted = kWanted[in.ConsumeBool()];
    bool expected = true;
    for (uintptr_t page = a; page < b; page += kPage) {
      bool covered = false;
      for (const mapbench::VmaEntry& e : entries) {
        covered = covered || (e.begin <= page && page < e.end && e.permissions == wanted);
      }
      expected = expected && covered;
    }
    FUZZ_CHECK(mapbench::RangeHasPermissions(parsed, a, b, wanted) == expected);
    size_t overlapping = 0;
    for (const mapbench::VmaEntry& e : entries) overlapping += a < b && e.begin < b && e.end > a;
    const auto found = mapbench::VmasInRange(parsed, a, b);
    FUZZ_CHECK(found.size() == overlapping);
    for (const mapbench::VmaEntry& e : found) FUZZ_CHECK(e.begin < b && e.end > a);
  }
  return 0;
}
