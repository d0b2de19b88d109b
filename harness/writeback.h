// Where written data is on its way to the disk: deltas of the system's writeback
// counters (/proc/vmstat, the block device's stat file) and a file's own page-cache
// state (cachestat). Parsers take text so tests run on fixture text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/system_files.h"

namespace mapbench {

using CounterValues = std::map<std::string, uint64_t>;

// after - before for each key present in both (gauges such as nr_dirty may go down).
std::map<std::string, int64_t> CounterDeltas(const CounterValues& before,
                                             const CounterValues& after,
                                             const std::vector<std::string>& keys);

// A block device's stat file (Documentation/block/stat.rst) as named counters:
// "reads", "sectors_read", "writes", "sectors_written", "in_flight", and, where the
// kernel has them, "discards", "flushes". nullopt for text that is not a stat line.
std::optional<CounterValues> ParseBlockStat(std::string_view text);

// "/sys/dev/block/MAJOR:MINOR/stat" of the device holding `fd`'s filesystem, or
// nullopt (with *error) when it has none (tmpfs, overlay, ...).
std::optional<std::string> BlockStatPathFor(int fd, const SystemFiles& system, std::string* error);

// One delta per sample (e.g. one per timed operation), summarised by the median so a
// burst from another process on a shared machine does not move the figure.
class DeltaSeries {
 public:
  void Add(const std::map<std::string, int64_t>& deltas);
  // Median over the samples that had the key; nullopt when none had it.
  std::optional<double> Median(const std::string& key) const;
  size_t samples(const std::string& key) const;

 private:
  std::map<std::string, std::vector<int64_t>> values_;
};

// A file's page-cache state over a byte range, in 4 KiB pages (cachestat(2), Linux 6.5+).
struct CacheStat {
  uint64_t cached = 0;
  uint64_t dirty = 0;
  uint64_t writeback = 0;
  uint64_t evicted = 0;
  uint64_t recently_evicted = 0;
};
// length 0 means to the end of the file. nullopt with *error (e.g. ENOSYS before 6.5).
std::optional<CacheStat> FileCacheStat(int fd, uint64_t offset, uint64_t length,
                                       std::string* error);

}  // namespace mapbench
