#include "harness/writeback.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "harness/resources.h"

namespace mapbench {

std::map<std::string, int64_t> CounterDeltas(const CounterValues& before,
                                             const CounterValues& after,
                                             const std::vector<std::string>& keys) {
  std::map<std::string, int64_t> deltas;
  for (const std::string& key : keys) {
    auto b = before.find(key), a = after.find(key);
    if (b == before.end() || a == after.end()) continue;
    deltas[key] = static_cast<int64_t>(a->second - b->second);
  }
  return deltas;
}

std::optional<CounterValues> ParseBlockStat(std::string_view text) {
  // Field order of Documentation/block/stat.rst; 11, 15 or 17 fields by kernel version.
  static const char* const kNames[] = {
      "reads",         "reads_merged",    "sectors_read",    "read_ticks",        "writes",
      "writes_merged", "sectors_written", "write_ticks",     "in_flight",         "io_ticks",
      "time_in_queue", "discards",        "discards_merged", "sectors_discarded", "discard_ticks",
      "flushes",       "flush_ticks"};
  std::istringstream in{std::string(text)};
  std::vector<uint64_t> fields;
  std::string word;
  while (in >> word) {
    auto value = ParseUnsigned(word);
    if (!value) return std::nullopt;
    fields.push_back(*value);
  }
  if (fields.size() < 11) return std::nullopt;
  CounterValues values;
  for (size_t i = 0; i < fields.size() && i < std::size(kNames); ++i) values[kNames[i]] = fields[i];
  return values;
}

std::optional<std::string> BlockStatPathFor(int fd, const SystemFiles& system, std::string* error) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = SysError("fstat(fd=" + std::to_string(fd) + ")");
    return std::nullopt;
  }
  const std::string path = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                           std::to_string(minor(st.st_dev)) + "/stat";
  auto text = system.Read(path);
  if (!text || !ParseBlockStat(*text)) {
    *error = "no block device stat at " + path + " (filesystem not on a block device?)";
    return std::nullopt;
  }
  return path;
}

void DeltaSeries::Add(const std::map<std::string, int64_t>& deltas) {
  for (const auto& [key, value] : deltas) values_[key].push_back(value);
}

std::optional<double> DeltaSeries::Median(const std::string& key) const {
  auto found = values_.find(key);
  if (found == values_.end() || found->second.empty()) return std::nullopt;
  std::vector<int64_t> sorted = found->second;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  if (n % 2 == 1) return static_cast<double>(sorted[n / 2]);
  return (static_cast<double>(sorted[n / 2 - 1]) + static_cast<double>(sorted[n / 2])) / 2;
}

size_t DeltaSeries::samples(const std::string& key) const {
  auto found = values_.find(key);
  return found == values_.end() ? 0 : found->second.size();
}

namespace {

// From include/uapi/linux/mman.h (Linux 6.5); Debian 12's headers predate it.
struct KernelCachestatRange {
  uint64_t off;
  uint64_t len;
};
struct KernelCachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};
#ifdef __NR_cachestat
constexpr long kCachestat = __NR_cachestat;
#else
constexpr long kCachestat = 451;  // the same number on every architecture
#endif

}  // namespace

std::optional<CacheStat> FileCacheStat(int fd, uint64_t offset, uint64_t length,
                                       std::string* error) {
  KernelCachestatRange range{offset, length};
  KernelCachestat cs{};
  if (syscall(kCachestat, fd, &range, &cs, 0) != 0) {
    *error = SysError("cachestat(fd=" + std::to_string(fd) + ")") +
             (errno == ENOSYS ? " (needs Linux 6.5)" : "");
    return std::nullopt;
  }
  return CacheStat{cs.nr_cache, cs.nr_dirty, cs.nr_writeback, cs.nr_evicted,
                   cs.nr_recently_evicted};
}

}  // namespace mapbench
