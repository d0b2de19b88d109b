// msync — making k dirty pages of an n-page file durable, by every route Linux offers.
// Timed (manual time: ns_per_op is the call's latency): the sync call alone, one of
//   msync(MS_SYNC), msync(MS_ASYNC), msync(MS_SYNC|MS_INVALIDATE) over the whole mapping,
//   fsync, fdatasync, sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER) over the dirty span,
//   or nothing (method:none, the floor of the timed region). Dirtying the k pages before
//   it (memcpy into the mapping, or pwrite for method:pwrite_fsync) is timed apart as
//   the "dirty" phase; total_ns_per_op adds both.
// Untimed, each iteration: vmstat/device/cachestat readings, validation, and restoring
//   a clean, cached file (mapped and read-faulted) with the folio size the row claims.
// Verified: each iteration writes a new generation to its k pages; after the call the
//   mapping is dropped, the pages evicted (fdatasync + FADV_DONTNEED), checked gone
//   (cachestat) and read back through a separate descriptor: they must hold that
//   generation. Durable methods must also leave no page dirty or under writeback.
//   For ms_async and none the eviction's own fdatasync writes the pages: those rows
//   prove the bytes, not the call (file_dirty_pages_after_sync shows what was left).
// Kernel paths: write-protect faults + page_mkwrite, filemap_write_and_wait_range,
//   ext4 journal commit, folio-granular dirtying (a large folio is dirtied whole).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "harness/cache_control.h"
#include "harness/child_process.h"
#include "harness/file_content.h"
#include "harness/phases.h"
#include "harness/resources.h"
#include "harness/scratch.h"
#include "harness/workload.h"
#include "harness/writeback.h"

namespace mapbench {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLargeChunk = 2 << 20;  // one pwrite per 2 MiB: ext4 keeps 2 MiB folios

enum class Method {
  kNone,
  kMsSync,
  kMsAsync,
  kMsInvalidate,
  kFsync,
  kFdatasync,
  kSyncFileRange,
  kPwriteFsync
};

const char* MethodName(Method m) {
  switch (m) {
    case Method::kNone:
      return "none";
    case Method::kMsSync:
      return "ms_sync";
    case Method::kMsAsync:
      return "ms_async";
    case Method::kMsInvalidate:
      return "ms_sync_invalidate";
    case Method::kFsync:
      return "fsync";
    case Method::kFdatasync:
      return "fdatasync";
    case Method::kSyncFileRange:
      return "sync_file_range";
    case Method::kPwriteFsync:
      return "pwrite_fsync";
  }
  return "?";
}

// Methods that claim the data is on disk when they return.
bool Durable(Method m) { return m != Method::kNone && m != Method::kMsAsync; }
bool Mapped(Method m) { return m != Method::kPwriteFsync; }

struct Config {
  Method method;
  uint64_t dirty_pages;  // k
  uint64_t file_pages;   // n
  bool spread;           // k pages spread evenly over the file, else the first k
  bool large_folios;     // the page cache holds the file in large folios, else 4 KiB
  int iterations;
};

const std::vector<std::string> kVmstatKeys = {"nr_dirtied", "nr_written"};
const std::vector<std::string> kDeviceKeys = {"sectors_written", "writes", "flushes"};

// The pages dirtied each iteration, as runs of consecutive pages {first, count}.
std::vector<std::pair<uint64_t, uint64_t>> DirtyRuns(const Config& c) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  if (!c.spread) return {{0, c.dirty_pages}};
  for (uint64_t i = 0; i < c.dirty_pages; ++i) {
    const uint64_t page = i * c.file_pages / c.dirty_pages;
    if (!runs.empty() && runs.back().first + runs.back().second == page) {
      ++runs.back().second;
    } else {
      runs.push_back({page, 1});
    }
  }
  return runs;
}

// Map the file and read-fault every page, so a store takes a write-protect fault, as
// in a long-lived mapping after writeback.
Mapping MapAndTouch(int fd, uint64_t size) {
  Mapping map(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), size);
  if (!map.valid()) return map;
  uint64_t sum = 0;
  for (uint64_t offset = 0; offset < size; offset += kPage) {
    sum += *reinterpret_cast<volatile const uint64_t*>(map.data() + offset);
  }
  benchmark::DoNotOptimize(sum);
  return map;
}

std::optional<std::string> PwriteAll(int fd, const char* data, uint64_t bytes, uint64_t offset) {
  for (uint64_t done = 0; done < bytes;) {
    ssize_t n = pwrite(fd, data + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return SysError("pwrite(off=" + std::to_string(offset + done) + ")", n < 0 ? errno : ENOSPC);
    done += static_cast<uint64_t>(n);
  }
  return std::nullopt;
}

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.file_pages * kPage;
  if (auto why = CheckMemory(ctx, 3 * size)) return Skip(state, *why);  // cache, image, staging
  std::string error;
  auto file =
      MakeGenerationFile(ctx.scratch->path(), size, c.large_folios ? kLargeChunk : kPage, &error);
  if (!file) return Skip(state, error);
  const int fd = file->fd.get(), check_fd = file->check.get();
  // Read-back of 4 KiB-folio files must not bring pages back as large folios.
  if (!c.large_folios) posix_fadvise(check_fd, 0, 0, POSIX_FADV_RANDOM);
  if (!FileCacheStat(fd, 0, 0, &error)) return Skip(state, error);  // cachestat: Linux 6.5+
  std::string device_error;
  const std::optional<std::string> device_stat = BlockStatPathFor(fd, ctx.system, &device_error);

  const auto runs = DirtyRuns(c);
  const uint64_t span_begin = runs.front().first * kPage;
  const uint64_t span_end = (runs.back().first + runs.back().second) * kPage;
  // The file's content, kept to rewrite it whole (large folios) after each eviction.
  std::vector<uint64_t> image(size / 8);
  for (uint64_t i = 0; i < image.size(); ++i) image[i] = GenerationWord(0, i);
  std::vector<char> staged(c.dirty_pages * kPage);  // this iteration's new page content

  Mapping map;
  if (Mapped(c.method)) {
    map = MapAndTouch(fd, size);
    if (!map.valid())
      return Skip(state, SysError("mmap(MAP_SHARED, len=" + std::to_string(size) + ")"));
  }
  // How many pages one 4 KiB store dirties: 1 with 4 KiB folios, the folio's pages else.
  uint64_t pages_per_store = 0;
  {
    Mapping probe = Mapped(c.method) ? Mapping() : MapAndTouch(fd, size);
    char* base = Mapped(c.method) ? map.data() : probe.data();
    if (base == nullptr) return Skip(state, SysError("mmap(probe)"));
    std::memcpy(base, &image[0], 8);  // the same bytes: the content does not change
    auto stat = FileCacheStat(fd, 0, 0, &error);
    if (!stat) return Skip(state, error);
    pages_per_store = stat->dirty;
    if (fdatasync(fd) != 0) return Skip(state, SysError("fdatasync"));
  }

  Phases phases(ctx, {"dirty"});
  DeltaSeries vmstat, device;
  uint64_t generation = 0, sync_ns = 0, sync_errors = 0;
  double dirty_before_sum = 0, dirty_after_sum = 0, writeback_after_sum = 0;
  uint64_t dirty_before_min = UINT64_MAX, dirty_before_max = 0, dirty_after_max = 0;
  uint64_t writeback_after_max = 0, still_cached_max = 0;
  std::string failure;
  CounterValues vm0, vm1, dev1;

  auto read_vmstat = [&]() { return ParseKeyValues(ctx.system.Read("/proc/vmstat").value_or("")); };
  auto read_device = [&]() {
    if (!device_stat) return CounterValues{};
    return ParseBlockStat(ctx.system.Read(*device_stat).value_or("")).value_or(CounterValues{});
  };
  auto fail = [&](const std::string& why) {
    if (failure.empty()) failure = "generation " + std::to_string(generation) + ": " + why;
  };

  // After the call: record what it left, prove the bytes are on disk, restore the state.
  auto after_sync = [&]() {
    const CounterValues vm2 = read_vmstat(), dev2 = read_device();
    auto dirtied = CounterDeltas(vm0, vm1, {"nr_dirtied"});
    auto written = CounterDeltas(vm1, vm2, {"nr_written"});
    dirtied.insert(written.begin(), written.end());
    vmstat.Add(dirtied);
    device.Add(CounterDeltas(dev1, dev2, kDeviceKeys));
    auto left = FileCacheStat(fd, 0, 0, &error);
    if (!left) return fail(error);
    dirty_after_sum += left->dirty;
    writeback_after_sum += left->writeback;
    dirty_after_max = std::max(dirty_after_max, left->dirty);
    writeback_after_max = std::max(writeback_after_max, left->writeback);

    if (map.valid() && map.reset() != 0)
      return fail(SysError("munmap"));  // mapped pages stay cached
    if (fdatasync(fd) != 0) return fail(SysError("fdatasync"));
    const uint64_t evict_begin = c.large_folios ? 0 : span_begin;
    const uint64_t evict_len = c.large_folios ? 0 : span_end - span_begin;
    if (int rc = posix_fadvise(check_fd, evict_begin, evict_len, POSIX_FADV_DONTNEED); rc != 0) {
      return fail(SysError("posix_fadvise(DONTNEED)", rc));
    }
    auto cached = FileCacheStat(fd, span_begin, span_end - span_begin, &error);
    if (!cached) return fail(error);
    still_cached_max = std::max(still_cached_max, cached->cached);
    for (const auto& [first, count] : runs) {
      if (auto wrong =
              CheckFile(check_fd, first * kPage, count * kPage, Expected{generation, 1, 0})) {
        return fail(*wrong);
      }
    }
    if (c.large_folios) {  // read-back left 4 KiB folios: write the file anew in large ones
      if (auto why = EvictFromCache(check_fd)) return fail(*why);
      if (auto why = PwriteAll(fd, reinterpret_cast<const char*>(image.data()), size, 0))
        return fail(*why);
      if (fdatasync(fd) != 0) return fail(SysError("fdatasync"));
    }
    if (Mapped(c.method)) {
      map = MapAndTouch(fd, size);
      if (!map.valid()) return fail(SysError("mmap"));
    }
  };

  {
    Measurement measure(state, ctx);
    bool pending = false;
    for (auto _ : state) {
      measure.Pause();
      if (pending) after_sync();
      pending = false;
      if (!failure.empty()) {  // a failed check may have left no mapping: stop working
        measure.Resume();
        state.SetIterationTime(0);
        continue;
      }
      ++generation;
      char* out = staged.data();
      for (const auto& [first, count] : runs) {
        StampWords(out, count * kPage, first * kPage / 8, Expected{generation, 1, 0});
        std::memcpy(reinterpret_cast<char*>(image.data()) + first * kPage, out, count * kPage);
        out += count * kPage;
      }
      vm0 = read_vmstat();
      phases.Begin(0);
      out = staged.data();
      for (const auto& [first, count] : runs) {
        if (Mapped(c.method)) {
          std::memcpy(map.data() + first * kPage, out, count * kPage);
        } else if (auto why = PwriteAll(fd, out, count * kPage, first * kPage)) {
          fail(*why);
        }
        out += count * kPage;
      }
      phases.End(0);
      if (auto before = FileCacheStat(fd, 0, 0, &error)) {
        dirty_before_sum += before->dirty;
        dirty_before_min = std::min(dirty_before_min, before->dirty);
        dirty_before_max = std::max(dirty_before_max, before->dirty);
      }
      vm1 = read_vmstat();
      dev1 = read_device();
      measure.Resume();

      const uint64_t start = MonotonicNs();
      int rc = 0;
      switch (c.method) {
        case Method::kNone:
          break;
        case Method::kMsSync:
          rc = msync(map.data(), size, MS_SYNC);
          break;
        case Method::kMsAsync:
          rc = msync(map.data(), size, MS_ASYNC);
          break;
        case Method::kMsInvalidate:
          rc = msync(map.data(), size, MS_SYNC | MS_INVALIDATE);
          break;
        case Method::kFsync:
        case Method::kPwriteFsync:
          rc = fsync(fd);
          break;
        case Method::kFdatasync:
          rc = fdatasync(fd);
          break;
        case Method::kSyncFileRange:
          rc = sync_file_range(
              fd, static_cast<off_t>(span_begin), static_cast<off_t>(span_end - span_begin),
              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
          break;
      }
      const uint64_t took = MonotonicNs() - start;
      sync_ns += took;
      state.SetIterationTime(static_cast<double>(took) * 1e-9);
      if (rc != 0) {
        ++sync_errors;
        fail(SysError(MethodName(c.method)));
      }
      pending = true;
    }
    measure.Stop();
    if (pending) after_sync();
  }

  const double ops = static_cast<double>(generation);
  if (ops == 0) return Skip(state, "no iterations ran");
  const uint64_t k = c.dirty_pages;
  const bool clean_after = dirty_after_max == 0 && writeback_after_max == 0;
  bool valid = failure.empty() && still_cached_max == 0;
  if (valid && Durable(c.method) && !clean_after) valid = false;

  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(k * kPage);
  outcome.pages_per_op = static_cast<double>(k);
  outcome.valid = valid;
  const std::string cleanliness = Durable(c.method)
                                      ? "; no page dirty or under writeback after the call"
                                      : "; the call left up to " + std::to_string(dirty_after_max) +
                                            " pages dirty, written by the check's own fdatasync";
  if (!failure.empty()) {
    outcome.validation = failure;
  } else if (still_cached_max > 0) {
    outcome.validation =
        "eviction left " + std::to_string(still_cached_max) + " dirty-span pages cached";
  } else if (Durable(c.method) && !clean_after) {
    outcome.validation = "the call returned with up to " + std::to_string(dirty_after_max) +
                         " pages dirty and " + std::to_string(writeback_after_max) +
                         " under writeback";
  } else {
    outcome.validation = "each of " + std::to_string(generation) +
                         " generations read back from disk after eviction" + cleanliness;
  }
  // The folio size the row claims, seen as the pages one store dirties.
  const bool amplified = dirty_before_min > k;
  bool folios_ok = c.large_folios
                       ? pages_per_store > 1 && (k == c.file_pages || amplified)
                       : pages_per_store == 1 && dirty_before_min == k && dirty_before_max == k;
  outcome.config_ok = folios_ok;
  outcome.config =
      std::string(c.large_folios ? "large" : "4 KiB") + " folios: one 4 KiB store dirtied " +
      std::to_string(pages_per_store) + " page(s); storing to " + std::to_string(k) +
      " page(s) dirtied " + std::to_string(dirty_before_min) +
      (dirty_before_max != dirty_before_min ? "-" + std::to_string(dirty_before_max) : "") +
      " page(s)";
  if (!device_stat) outcome.config += "; device counters: " + device_error;

  const double sync_per_op = static_cast<double>(sync_ns) / ops;
  outcome.metrics = {{"sync_ns_per_dirty_page", sync_per_op / static_cast<double>(k)},
                     {"pages_dirtied_by_one_store", static_cast<double>(pages_per_store)},
                     {"file_dirty_pages_before_sync", dirty_before_sum / ops},
                     {"file_dirty_pages_after_sync", dirty_after_sum / ops},
                     {"file_writeback_pages_after_sync", writeback_after_sum / ops}};
  if (auto v = vmstat.Median("nr_dirtied"))
    outcome.metrics.emplace_back("vmstat_nr_dirtied_per_op", *v);
  if (auto v = vmstat.Median("nr_written"))
    outcome.metrics.emplace_back("vmstat_nr_written_per_op", *v);
  if (auto v = device.Median("sectors_written"))
    outcome.metrics.emplace_back("device_kib_written_per_op", *v / 2);
  if (auto v = device.Median("writes")) outcome.metrics.emplace_back("device_writes_per_op", *v);
  if (auto v = device.Median("flushes")) outcome.metrics.emplace_back("device_flushes_per_op", *v);
  Outcome dirty_phase;
  phases.AddTo(dirty_phase, generation);
  double dirty_ns = 0;
  for (const auto& [name, value] : dirty_phase.metrics) {
    if (name == "dirty_ns_per_op") dirty_ns = value;
    outcome.metrics.emplace_back(name, value);
  }
  outcome.metrics.emplace_back("total_ns_per_op", dirty_ns + sync_per_op);
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  std::vector<Param> params = {{"method", MethodName(c.method)},
                               {"dirty_pages", std::to_string(c.dirty_pages)},
                               {"file_pages", std::to_string(c.file_pages)},
                               {"layout", c.spread ? "spread" : "contiguous"},
                               {"folios", c.large_folios ? "large" : "small"}};
  const int iterations = c.iterations;
  return Case{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); },
              // Each iteration carries milliseconds of untimed validation: a fixed count
              // keeps the wall time bounded whatever the call costs.
              [iterations](benchmark::internal::Benchmark* b) { b->Iterations(iterations); },
              // The call alone: pausing the counters costs ~10 us here, more than MS_ASYNC.
              /*manual_time=*/true};
}

const std::vector<Method> kAllMethods = {
    Method::kNone,  Method::kMsSync,    Method::kMsAsync,       Method::kMsInvalidate,
    Method::kFsync, Method::kFdatasync, Method::kSyncFileRange, Method::kPwriteFsync};

// Quick: every method at 1, 16 and 256 of 256 pages in 4 KiB folios, and the large-folio
// write amplification at one page. Full: 1 MiB files with spread layouts and large folios
// (restoring those rewrites the whole file each iteration), and 64 MiB files up to 1024
// dirty pages.
std::vector<Case> Cases(Suite suite) {
  std::vector<Case> cases;
  if (suite == Suite::kQuick) {
    for (uint64_t k : {1, 16, 256}) {
      for (Method m : kAllMethods) cases.push_back(MakeCase({m, k, 256, false, false, 8}));
    }
    for (Method m : {Method::kMsSync, Method::kMsAsync, Method::kFdatasync, Method::kPwriteFsync}) {
      cases.push_back(MakeCase({m, 1, 256, false, true, 8}));
    }
    return cases;
  }
  for (bool large : {false, true}) {
    for (uint64_t k : {1, 4, 16, 64, 256}) {
      for (bool spread : {false, true}) {
        if (spread && (k == 1 || k == 256)) continue;
        for (Method m : kAllMethods) cases.push_back(MakeCase({m, k, 256, spread, large, 6}));
      }
    }
  }
  for (uint64_t k : {1, 64, 1024}) {  // 64 MiB: re-reading and re-faulting it dominates
    for (Method m : kAllMethods) cases.push_back(MakeCase({m, k, 16384, false, false, 5}));
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "msync", "dirty k of n file pages, then msync/fsync/fdatasync/sync_file_range/pwrite+fsync",
    [] {
      std::vector<std::string> metrics = {
          "sync_ns_per_dirty_page",      "total_ns_per_op",
          "pages_dirtied_by_one_store",  "file_dirty_pages_before_sync",
          "file_dirty_pages_after_sync", "file_writeback_pages_after_sync",
          "vmstat_nr_dirtied_per_op",    "vmstat_nr_written_per_op",
          "device_kib_written_per_op",   "device_writes_per_op",
          "device_flushes_per_op"};
      for (const std::string& name : PhaseMetricNames({"dirty"})) metrics.push_back(name);
      return metrics;
    }(),
    Cases});

}  // namespace
}  // namespace mapbench
