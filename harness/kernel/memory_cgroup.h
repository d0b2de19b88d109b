// A memory limit for one case: a memory cgroup (v1 memory.limit_in_bytes, or v2
// memory.max) made under the runner's own cgroup, joined by the case's process and
// removed when the case ends. The runner removes what a crashed case left (after each
// case, on signals, and for runners that died, at the next start), so no cgroup
// outlives a run. Nothing here changes an existing cgroup's settings.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/system_files.h"

namespace mapbench {

// Where this process's memory cgroup lives in the filesystem.
struct CgroupLocation {
  std::string dir;  // absolute, e.g. /sys/fs/cgroup/memory/user.slice
  bool v2 = false;
};

// From /proc/self/cgroup and /proc/self/mountinfo text: the directory of this
// process's memory cgroup (the v1 "memory" hierarchy if mounted, else cgroup v2), or
// nullopt with *why ("no memory cgroup controller is mounted").
std::optional<CgroupLocation> FindMemoryCgroup(std::string_view proc_self_cgroup,
                                               std::string_view mountinfo, std::string* why);

// The name of the cgroup a runner's cases use: "mapbench-<runner pid>".
std::string CaseCgroupName(pid_t runner);
// The runner pid in such a name, or nullopt for any other name.
std::optional<pid_t> CaseCgroupRunner(std::string_view name);

// Called once by the runner before any case: remembers where its cases' cgroup goes,
// so the cleanup below (also from a signal handler) knows the path.
void PrepareCaseCgroups(const SystemFiles& system);

class MemoryLimit {
 public:
  // Creates the case cgroup with `limit_bytes`, moves this process into it. nullptr
  // with *why when it cannot (no controller, not root, v2 without memory delegated).
  static std::unique_ptr<MemoryLimit> Enter(uint64_t limit_bytes, std::string* why);
  // Moves the process back to where it was and removes the cgroup.
  ~MemoryLimit();
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;

  uint64_t limit_bytes() const { return limit_; }
  bool v2() const { return location_.v2; }
  const std::string& dir() const { return dir_; }
  std::optional<uint64_t> UsageBytes() const;  // memory.usage_in_bytes / memory.current
  std::optional<uint64_t> PeakBytes() const;   // memory.max_usage_in_bytes / memory.peak
  // Counters of memory.stat: "pgmajfault", and "evicted_pages" (v1 pgpgout, v2 pgsteal).
  std::map<std::string, uint64_t> Stat() const;

 private:
  MemoryLimit(CgroupLocation location, std::string dir, uint64_t limit)
      : location_(std::move(location)), dir_(std::move(dir)), limit_(limit) {}
  CgroupLocation location_;  // the cgroup the process came from
  std::string dir_;
  uint64_t limit_;
};

// Removes case cgroups left behind: those of `runner`, or with nullopt, those of every
// runner that is no longer alive. Processes still inside are moved to the parent first.
// Returns what it could not remove, with the reason.
std::vector<std::string> RemoveCaseCgroups(std::optional<pid_t> runner);

// For the runner's signal handler, after its case process has been reaped.
void RemoveCaseCgroupFromSignalHandler();

}  // namespace mapbench
