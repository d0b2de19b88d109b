// Where written data is on its way to the disk: deltas of the system's writeback
// counters (/proc/vmstat, the block device's stat file), whether the device has a
// volatile write cache, a file's own page-cache state (cachestat, or pagemap +
// kpageflags, or smaps where cachestat is missing), O_DIRECT reads of what the device
// holds, and the verdict on what a sync call proved. Parsers and decisions take text
// or values so tests run on fixtures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/page_backing.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/system_files.h"

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

// The device's write cache from its queue/write_cache text: true "write back" (volatile:
// only a cache flush makes written data durable), false "write through", nullopt other.
std::optional<bool> ParseWriteCache(std::string_view text);

// Whether the block device holding `fd`'s filesystem has a volatile write cache (a
// partition's queue is its disk's), or nullopt with *error when it cannot be told.
std::optional<bool> VolatileWriteCacheFor(int fd, const SystemFiles& system, std::string* error);

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

// A file's page-cache state over a byte range, in pages (cachestat(2), Linux 6.5+).
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

// ---- a file's dirty and writeback pages ----------------------------------------------

// How the page state is read. cachestat(2): exact per file range, dirty and writeback,
// Linux 6.5+. kpageflags: /proc/self/pagemap PFNs + /proc/kpageflags bits (dirty 4,
// writeback 8) of a mapping of the file, exact per page, needs CAP_SYS_ADMIN for the
// PFNs and root for kpageflags. smaps: Shared_Dirty + Private_Dirty of a mapping of
// the file in /proc/self/smaps, any kernel and user, exact for dirty pages but blind to
// writeback (a page under writeback is no longer dirty).
enum class PageStateMethod { kCachestat, kKpageflags, kSmaps };
const char* PageStateMethodName(PageStateMethod method);
// "cachestat", "kpageflags", "smaps" -> the method; nullopt for "auto" and anything else.
std::optional<PageStateMethod> ParsePageStateMethod(std::string_view name);
// The values --page_state takes: "auto" or a method's name.
bool ValidPageStateRequest(std::string_view text);

struct PageState {
  uint64_t pages = 0;  // pages of the range looked at
  uint64_t dirty = 0;
  std::optional<uint64_t> writeback;  // nullopt: the method cannot see writeback
  uint64_t unseen = 0;                // pages whose state could not be read
};
PageState PageStateFromCacheStat(const CacheStat& stat, uint64_t pages);
// From pagemap + kpageflags words (ReadPageFrames): a page that is not present, or
// whose PFN or flags are hidden, is unseen.
PageState PageStateFromFrames(const PageFrames& frames);
// From SmapsForRange fields of a mapping `length` bytes long: pages not resident in
// the mapping (Rss short of `length`) are unseen, as smaps counts mapped pages only.
PageState PageStateFromSmaps(const std::map<std::string, uint64_t>& fields, uint64_t length,
                             uint64_t page_bytes);

// Whether each method works here: nullopt, or why not.
struct PageStateProbe {
  std::optional<std::string> cachestat;
  std::optional<std::string> kpageflags;
  std::optional<std::string> smaps;
};
// The requested method if it works, or with no request (auto) the first that works in
// the order cachestat, kpageflags, smaps. nullopt with *why when none fits.
std::optional<PageStateMethod> ChoosePageStateMethod(std::optional<PageStateMethod> requested,
                                                     const PageStateProbe& probe, std::string* why);

// A file's page state by one method. kpageflags and smaps read through a shared mapping
// of the file: the caller's (read-faulted first, so every page is present), or one made
// for the reading and removed after it.
class FilePageState {
 public:
  // Probes the methods on `fd` and chooses (ChoosePageStateMethod).
  static std::optional<FilePageState> Open(int fd, uint64_t size, const SystemFiles& system,
                                           std::optional<PageStateMethod> requested,
                                           std::string* error);
  // The state of the whole file; `mapping` is a MAP_SHARED mapping of all of it, or null.
  std::optional<PageState> Read(const char* mapping, std::string* error) const;
  PageStateMethod method() const { return method_; }
  // "cachestat" or e.g. "smaps (cachestat(fd=3): Function not implemented (needs Linux 6.5))".
  const std::string& description() const { return description_; }

 private:
  FilePageState(int fd, uint64_t size, const SystemFiles& system, PageStateMethod method,
                std::string description)
      : fd_(fd),
        size_(size),
        system_(system),
        method_(method),
        description_(std::move(description)) {}
  int fd_;
  uint64_t size_;
  SystemFiles system_;  // a copy: only a root path
  PageStateMethod method_;
  std::string description_;
};

// ---- what the device holds, and what a sync call proved ------------------------------

// Refuses filesystems whose files live in memory only (tmpfs, ramfs): nothing there is
// ever on a device. nullopt when `fd`'s filesystem keeps files on a device, else why.
std::optional<std::string> InMemoryFilesystem(int fd);

// A second, separate open file description of `fd`'s file with O_DIRECT (reopened
// through /proc/self/fd, so an unlinked file works too). Invalid with *error where the
// filesystem refuses O_DIRECT.
UniqueFd OpenDirect(int fd, std::string* error);

// Reads [offset, offset + bytes) with pread into `buffer` (aligned for O_DIRECT: page
// size); a short or failed read is an error text.
std::optional<std::string> PreadExact(int fd, void* buffer, uint64_t bytes, uint64_t offset);

// What a sync call promises. kDurable: data (and what is needed to find it) written,
// waited on, and the device cache flushed (fsync, fdatasync, msync MS_SYNC on a real
// filesystem). kWrittenNoFlush: data written and waited on, no device flush and no
// metadata (sync_file_range): not durable. kNone: nothing (MS_ASYNC, no call).
enum class Durability { kDurable, kWrittenNoFlush, kNone };
const char* DurabilityName(Durability durability);  // "durable", "written_no_flush", "none"

// What was seen after one call, before any other sync.
struct SyncEvidence {
  Durability promise = Durability::kNone;
  PageState after;  // the file's page state right after the call
  // The O_DIRECT read of the dirtied blocks: nullopt when it held the generation written.
  // For kNone it comes after the check's own fdatasync (it proves the bytes, not the call).
  std::optional<std::string> read_back_error;
  std::optional<bool> volatile_cache;  // the device's write cache: write back / through
  std::optional<int64_t> flushes;      // device cache flushes completed during the call
};
struct SyncVerdict {
  // The bytes the promise covers were on the device after the call alone (kNone: after
  // the check's sync), checked by the O_DIRECT read of a clean range.
  bool valid = true;
  // A durable promise on a volatile write cache was seen flushing it (or not checkable).
  bool flushed = true;
  std::string problem;  // what failed, empty when nothing did
};
SyncVerdict JudgeSync(const SyncEvidence& evidence);

}  // namespace mapbench
