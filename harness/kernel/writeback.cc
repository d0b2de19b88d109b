#include "harness/kernel/writeback.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "harness/kernel/resources.h"
#include "harness/kernel/smaps.h"

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

std::optional<bool> ParseWriteCache(std::string_view text) {
  const std::string mode = Trim(text);
  if (mode == "write back") return true;
  if (mode == "write through") return false;
  return std::nullopt;
}

std::optional<bool> VolatileWriteCacheFor(int fd, const SystemFiles& system, std::string* error) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = SysError("fstat(fd=" + std::to_string(fd) + ")");
    return std::nullopt;
  }
  const std::string block =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  // A partition keeps its queue settings on the parent disk.
  for (const char* queue : {"/queue/write_cache", "/../queue/write_cache"}) {
    auto text = system.Read(block + queue);
    if (!text) continue;
    if (auto cache = ParseWriteCache(*text)) return cache;
    *error = block + queue + " says '" + Trim(*text) + "'";
    return std::nullopt;
  }
  *error = "no " + block + "/queue/write_cache (filesystem not on a block device?)";
  return std::nullopt;
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

namespace {

constexpr int kKpfDirty = 4;      // KPF_DIRTY (include/uapi/linux/kernel-page-flags.h)
constexpr int kKpfWriteback = 8;  // KPF_WRITEBACK

uint64_t PageBytes() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

struct MethodName {
  PageStateMethod method;
  const char* name;
};
constexpr MethodName kMethodNames[] = {{PageStateMethod::kCachestat, "cachestat"},
                                       {PageStateMethod::kKpageflags, "kpageflags"},
                                       {PageStateMethod::kSmaps, "smaps"}};

// Read-faults every page of a shared mapping so pagemap and smaps see each one; a read
// fault neither dirties a page nor starts or waits for writeback.
void TouchPages(const char* data, uint64_t size) {
  uint64_t sum = 0;
  for (uint64_t offset = 0; offset < size; offset += PageBytes()) {
    sum += *reinterpret_cast<volatile const unsigned char*>(data + offset);
  }
  asm volatile("" : : "r"(sum));
}

}  // namespace

const char* PageStateMethodName(PageStateMethod method) {
  for (const MethodName& m : kMethodNames) {
    if (m.method == method) return m.name;
  }
  return "?";
}

std::optional<PageStateMethod> ParsePageStateMethod(std::string_view name) {
  for (const MethodName& m : kMethodNames) {
    if (name == m.name) return m.method;
  }
  return std::nullopt;
}

bool ValidPageStateRequest(std::string_view text) {
  return text == "auto" || ParsePageStateMethod(text).has_value();
}

PageState PageStateFromCacheStat(const CacheStat& stat, uint64_t pages) {
  PageState state;
  state.pages = pages;
  state.dirty = stat.dirty;
  state.writeback = stat.writeback;
  // A page not cached is neither dirty nor under writeback: cachestat sees every page.
  return state;
}

PageState PageStateFromFrames(const PageFrames& frames) {
  PageState state;
  state.pages = frames.pagemap.size();
  uint64_t writeback = 0;
  for (size_t i = 0; i < frames.pagemap.size(); ++i) {
    const PagemapEntry entry = DecodePagemap(frames.pagemap[i]);
    if (!frames.pfns_visible || !entry.present || entry.pfn == 0 || i >= frames.flags.size()) {
      ++state.unseen;
      continue;
    }
    const uint64_t flags = frames.flags[i];
    state.dirty += (flags >> kKpfDirty) & 1;
    writeback += (flags >> kKpfWriteback) & 1;
  }
  state.writeback = writeback;
  return state;
}

PageState PageStateFromSmaps(const std::map<std::string, uint64_t>& fields, uint64_t length,
                             uint64_t page_bytes) {
  auto field = [&](const char* name) {
    auto found = fields.find(name);
    return found == fields.end() ? uint64_t{0} : found->second;
  };
  PageState state;
  state.pages = length / page_bytes;
  state.dirty = (field("Shared_Dirty") + field("Private_Dirty")) / page_bytes;
  const uint64_t resident = std::min(field("Rss") / page_bytes, state.pages);
  state.unseen = state.pages - resident;
  return state;  // writeback stays unknown: smaps has no field for it
}

std::optional<PageStateMethod> ChoosePageStateMethod(std::optional<PageStateMethod> requested,
                                                     const PageStateProbe& probe,
                                                     std::string* why) {
  auto problem = [&](PageStateMethod m) -> const std::optional<std::string>& {
    switch (m) {
      case PageStateMethod::kCachestat:
        return probe.cachestat;
      case PageStateMethod::kKpageflags:
        return probe.kpageflags;
      case PageStateMethod::kSmaps:
        break;
    }
    return probe.smaps;
  };
  if (requested) {
    if (!problem(*requested)) return requested;
    *why = std::string("--page_state=") + PageStateMethodName(*requested) + ": " +
           *problem(*requested);
    return std::nullopt;
  }
  std::string refused;
  for (const MethodName& m : kMethodNames) {
    if (!problem(m.method)) return m.method;
    refused += std::string(refused.empty() ? "" : "; ") + m.name + ": " + *problem(m.method);
  }
  *why = "no way to read the page state here (" + refused + ")";
  return std::nullopt;
}

namespace {

// A read-only shared mapping of the whole file, every page read-faulted.
Mapping MapForReading(int fd, uint64_t size) {
  Mapping map(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0), size);
  if (map.valid()) TouchPages(map.data(), size);
  return map;
}

std::optional<PageState> ReadWithMethod(PageStateMethod method, int fd, uint64_t size,
                                        const char* mapping, const SystemFiles& system,
                                        std::string* error) {
  const uint64_t page = PageBytes();
  const uint64_t pages = (size + page - 1) / page;
  if (method == PageStateMethod::kCachestat) {
    auto stat = FileCacheStat(fd, 0, size, error);
    if (!stat) return std::nullopt;
    return PageStateFromCacheStat(*stat, pages);
  }
  Mapping own;
  if (mapping == nullptr) {
    own = MapForReading(fd, size);
    if (!own.valid()) {
      *error = SysError("mmap(PROT_READ, MAP_SHARED, len=" + std::to_string(size) + ")");
      return std::nullopt;
    }
    mapping = own.data();
  } else {
    TouchPages(mapping, size);
  }
  if (method == PageStateMethod::kKpageflags) {
    auto frames = ReadPageFrames(system, mapping, size, error);
    if (!frames) return std::nullopt;
    if (!frames->pfns_visible) {
      *error = "/proc/self/pagemap hides PFNs or /proc/kpageflags is unreadable (needs root)";
      return std::nullopt;
    }
    return PageStateFromFrames(*frames);
  }
  auto fields = ReadSmapsForRange(system, mapping, size);
  if (!fields) {
    *error = "no VMA of the mapping in /proc/self/smaps";
    return std::nullopt;
  }
  return PageStateFromSmaps(*fields, pages * page, page);
}

}  // namespace

std::optional<FilePageState> FilePageState::Open(int fd, uint64_t size, const SystemFiles& system,
                                                 std::optional<PageStateMethod> requested,
                                                 std::string* error) {
  // Probe the requested method, or each in order until one works (the rest are not
  // needed: ChoosePageStateMethod takes the first that works).
  PageStateProbe probe;
  for (const MethodName& m : kMethodNames) {
    if (requested && *requested != m.method) continue;
    std::string why;
    if (ReadWithMethod(m.method, fd, size, nullptr, system, &why)) break;
    (m.method == PageStateMethod::kCachestat    ? probe.cachestat
     : m.method == PageStateMethod::kKpageflags ? probe.kpageflags
                                                : probe.smaps) = why;
  }
  auto method = ChoosePageStateMethod(requested, probe, error);
  if (!method) return std::nullopt;
  // Auto: say why each method before the chosen one was passed over.
  std::string description = PageStateMethodName(*method), passed_over;
  for (const MethodName& m : kMethodNames) {
    if (requested || m.method == *method) break;
    const auto& why = m.method == PageStateMethod::kCachestat ? probe.cachestat : probe.kpageflags;
    passed_over += std::string(passed_over.empty() ? "" : "; ") + m.name + ": " + why.value_or("?");
  }
  if (!passed_over.empty()) description += " (" + passed_over + ")";
  return FilePageState(fd, size, system, *method, description);
}

std::optional<PageState> FilePageState::Read(const char* mapping, std::string* error) const {
  return ReadWithMethod(method_, fd_, size_, mapping, system_, error);
}

std::optional<std::string> InMemoryFilesystem(int fd) {
  constexpr long kTmpfsMagic = 0x01021994;  // TMPFS_MAGIC, include/uapi/linux/magic.h
  constexpr long kRamfsMagic = 0x858458f6;  // RAMFS_MAGIC
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return SysError("fstatfs(fd=" + std::to_string(fd) + ")");
  const long type = static_cast<long>(fs.f_type);
  if (type == kTmpfsMagic)
    return std::string("tmpfs keeps files in memory: nothing reaches a device");
  if (type == kRamfsMagic)
    return std::string("ramfs keeps files in memory: nothing reaches a device");
  return std::nullopt;
}

UniqueFd OpenDirect(int fd, std::string* error) {
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd direct(open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
  if (!direct.valid()) {
    *error = SysError("open(" + path + ", O_DIRECT)") +
             (errno == EINVAL ? " (the filesystem refuses O_DIRECT)" : "");
  }
  return direct;
}

std::optional<std::string> PreadExact(int fd, void* buffer, uint64_t bytes, uint64_t offset) {
  for (uint64_t done = 0; done < bytes;) {
    ssize_t n = pread(fd, static_cast<char*>(buffer) + done, bytes - done,
                      static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return SysError("pread(fd=" + std::to_string(fd) + ", off=" + std::to_string(offset + done) +
                      ", len=" + std::to_string(bytes - done) + ")");
    }
    if (n == 0) {
      return "pread(fd=" + std::to_string(fd) + ", off=" + std::to_string(offset + done) +
             "): end of file";
    }
    done += static_cast<uint64_t>(n);
  }
  return std::nullopt;
}

const char* DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kDurable:
      return "durable";
    case Durability::kWrittenNoFlush:
      return "written_no_flush";
    case Durability::kNone:
      break;
  }
  return "none";
}

SyncVerdict JudgeSync(const SyncEvidence& e) {
  SyncVerdict verdict;
  auto fail = [&](const std::string& why) {
    verdict.valid = false;
    if (verdict.problem.empty()) verdict.problem = why;
  };
  if (e.promise != Durability::kNone) {
    // Checked before the read-back: an O_DIRECT read writes dirty pages back first
    // (and waits on writeback), which would make any call look durable.
    if (e.after.unseen > 0) {
      fail("the page state of " + std::to_string(e.after.unseen) + " of " +
           std::to_string(e.after.pages) + " pages could not be read after the call");
    }
    if (e.after.dirty > 0) {
      fail("the call returned with " + std::to_string(e.after.dirty) + " page(s) dirty");
    }
    if (e.after.writeback.value_or(0) > 0) {
      fail("the call returned with " + std::to_string(*e.after.writeback) +
           " page(s) under writeback");
    }
  }
  if (e.read_back_error) fail("O_DIRECT read-back: " + *e.read_back_error);
  if (e.promise == Durability::kDurable && e.volatile_cache.value_or(false) && e.flushes &&
      *e.flushes < 1) {
    verdict.flushed = false;
    if (verdict.problem.empty()) {
      verdict.problem = "no device cache flush during the call on a write-back cache";
    }
  }
  return verdict;
}

}  // namespace mapbench
