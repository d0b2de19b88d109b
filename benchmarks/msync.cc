// msync — making k dirty pages of an n-page file durable, by every route Linux offers.
// Timed (manual time: ns_per_op is the call's latency): the sync call alone, one of
//   msync(MS_SYNC), msync(MS_ASYNC), msync(MS_SYNC|MS_INVALIDATE) over the whole mapping,
//   fsync, fdatasync, sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER) over the dirty span,
//   or nothing (method:none, the floor of the timed region). Dirtying the k pages before
//   it (memcpy into the mapping, or pwrite for method:pwrite_fsync) is timed apart as
//   the "dirty" phase; total_ns_per_op adds both.
// Untimed, each iteration: vmstat/device/page-state readings and the checks below. The
//   file stays mapped, read-faulted and cached in the folio size the row claims.
// Verified, in this order after the call alone (no other sync before): the file's page
//   state (cachestat, else pagemap+kpageflags, else smaps: --page_state), then an
//   O_DIRECT read of the k dirtied pages through a separate descriptor, which must hold
//   this iteration's generation. The parameter `durability` says what the method
//   promises: `durable` (ms_sync*, fsync, fdatasync, pwrite_fsync: no page may be left
//   dirty or under writeback, the read-back must match, else invalid; on a device with a
//   write-back cache a flush must complete during the call, else not_effective),
//   `written_no_flush` (sync_file_range: clean and read back, no flush or metadata
//   promised: not durable), `none` (ms_async, none: what the call left dirty is recorded,
//   and the bytes are read back after the check's own fdatasync). The page state comes
//   first because an O_DIRECT read writes dirty pages back before reading. Files in
//   memory (tmpfs) or refusing O_DIRECT are skipped: nothing there can be shown durable.
// Kernel paths: write-protect faults + page_mkwrite, filemap_write_and_wait_range,
//   ext4 journal commit, block-layer cache flush, folio-granular dirtying.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/kernel/writeback.h"
#include "harness/measure/file_content.h"
#include "harness/measure/phases.h"
#include "harness/process/child_process.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

constexpr uint64_t kLargeChunk = 2 << 20;  // one pwrite per 2 MiB: ext4 keeps 2 MiB folios

uint64_t PageBytes() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

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

// What each method promises when it returns (Durability in harness/kernel/writeback.h).
Durability Promise(Method m) {
  switch (m) {
    case Method::kNone:
    case Method::kMsAsync:
      return Durability::kNone;
    case Method::kSyncFileRange:
      return Durability::kWrittenNoFlush;
    default:
      return Durability::kDurable;
  }
}
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

// "1" / "1-3": the range of a per-iteration count, for notes.
std::string Range(uint64_t lo, uint64_t hi) {
  std::string text = std::to_string(lo);
  if (hi != lo) text.append("-").append(std::to_string(hi));
  return text;
}

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t page = PageBytes();
  const uint64_t size = c.file_pages * page;
  if (auto why = CheckMemory(ctx, 2 * size)) return Skip(state, *why);  // cache, staging
  std::string error;
  auto file =
      MakeGenerationFile(ctx.scratch->path(), size, c.large_folios ? kLargeChunk : page, &error);
  if (!file) return Skip(state, error);
  const int fd = file->fd.get();
  if (auto why = InMemoryFilesystem(fd)) return Skip(state, "durability cannot be shown: " + *why);
  // The read-back: a separate descriptor that reads what the device holds.
  UniqueFd direct = OpenDirect(fd, &error);
  if (!direct.valid()) return Skip(state, "durability cannot be shown: " + error);
  auto page_state = FilePageState::Open(fd, size, ctx.system,
                                        ParsePageStateMethod(ctx.config.page_state), &error);
  if (!page_state) return Skip(state, error);
  std::string device_error, cache_error;
  const std::optional<std::string> device_stat = BlockStatPathFor(fd, ctx.system, &device_error);
  const std::optional<bool> volatile_cache = VolatileWriteCacheFor(fd, ctx.system, &cache_error);
  const Durability promise = Promise(c.method);

  const auto runs = DirtyRuns(c);
  const uint64_t span_begin = runs.front().first * page;
  const uint64_t span_end = (runs.back().first + runs.back().second) * page;
  std::vector<char> staged(c.dirty_pages * page);  // this iteration's new page content
  // O_DIRECT needs an aligned buffer: an anonymous mapping is page-aligned.
  Mapping read_back(
      mmap(nullptr, staged.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      staged.size());
  if (!read_back.valid()) return Skip(state, SysError("mmap(read-back buffer)"));

  Mapping map;
  if (Mapped(c.method)) {
    map = MapSharedAndTouch(fd, size);
    if (!map.valid())
      return Skip(state, SysError("mmap(MAP_SHARED, len=" + std::to_string(size) + ")"));
  }
  // kpageflags and smaps read the page state through the mapping (pwrite_fsync: their own).
  const char* state_map = map.valid() ? map.data() : nullptr;
  // How many pages one small store dirties: 1 with 4 KiB folios, the folio's pages else.
  uint64_t pages_per_store = 0;
  {
    Mapping probe = Mapped(c.method) ? Mapping() : MapSharedAndTouch(fd, size);
    char* base = Mapped(c.method) ? map.data() : probe.data();
    if (base == nullptr) return Skip(state, SysError("mmap(probe)"));
    // The same bytes, stored (volatile: a store of the value just loaded is not elided).
    volatile uint64_t* first_word = reinterpret_cast<volatile uint64_t*>(base);
    *first_word = *first_word;
    auto stat = page_state->Read(base, &error);
    if (!stat) return Skip(state, error);
    pages_per_store = stat->dirty;
    if (fdatasync(fd) != 0) return Skip(state, SysError("fdatasync"));
  }

  Phases phases(ctx, {"dirty"});
  DeltaSeries vmstat, device;
  uint64_t generation = 0, sync_ns = 0, sync_errors = 0;
  double dirty_before_sum = 0, dirty_after_sum = 0, writeback_after_sum = 0;
  uint64_t dirty_before_min = UINT64_MAX, dirty_before_max = 0, dirty_after_max = 0;
  bool writeback_seen = true;  // false: the page-state method cannot see writeback
  uint64_t calls_flush_counted = 0, calls_unflushed = 0, flushes_min = UINT64_MAX, flushes_max = 0;
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
  // The dirtied pages as the device holds them, against this iteration's generation.
  auto read_back_error = [&]() -> std::optional<std::string> {
    for (const auto& [first, count] : runs) {
      if (auto why = PreadExact(direct.get(), read_back.data(), count * page, first * page))
        return why;
      if (auto wrong = CheckRegion(read_back.data(), count * page, first * page / 8,
                                   Expected{generation, 1, 0}))
        return wrong;
    }
    return std::nullopt;
  };

  // After the call: what it left and whether the device holds the bytes, checked before
  // any other sync; then the file is made clean for the next iteration.
  auto after_sync = [&]() {
    const CounterValues vm2 = read_vmstat(), dev2 = read_device();
    auto dirtied = CounterDeltas(vm0, vm1, {"nr_dirtied"});
    auto written = CounterDeltas(vm1, vm2, {"nr_written"});
    dirtied.insert(written.begin(), written.end());
    vmstat.Add(dirtied);
    const auto device_deltas = CounterDeltas(dev1, dev2, kDeviceKeys);
    device.Add(device_deltas);
    auto left = page_state->Read(state_map, &error);
    if (!left) return fail(error);
    dirty_after_sum += static_cast<double>(left->dirty);
    dirty_after_max = std::max(dirty_after_max, left->dirty);
    if (left->writeback) {
      writeback_after_sum += static_cast<double>(*left->writeback);
    } else {
      writeback_seen = false;
    }

    SyncEvidence evidence;
    evidence.promise = promise;
    evidence.after = *left;
    evidence.volatile_cache = volatile_cache;
    if (auto flushes = device_deltas.find("flushes"); flushes != device_deltas.end()) {
      evidence.flushes = flushes->second;
      ++calls_flush_counted;
      const auto flushes_now = static_cast<uint64_t>(std::max<int64_t>(0, flushes->second));
      flushes_min = std::min(flushes_min, flushes_now);
      flushes_max = std::max(flushes_max, flushes_now);
    }
    // A method that promises nothing is not judged on the call: the check syncs first and
    // then proves only that the bytes were written to the file.
    if (promise == Durability::kNone && fdatasync(fd) != 0) return fail(SysError("fdatasync"));
    evidence.read_back_error = read_back_error();
    const SyncVerdict verdict = JudgeSync(evidence);
    if (!verdict.valid) fail(verdict.problem);
    if (!verdict.flushed) ++calls_unflushed;
    // A call that left pages dirty (an invalid row) must not leave them to the next one.
    if (promise != Durability::kNone && (left->dirty > 0 || left->writeback.value_or(0) > 0) &&
        fdatasync(fd) != 0) {
      return fail(SysError("fdatasync"));
    }
  };

  {
    Measurement measure(state, ctx);
    bool pending = false;
    for (auto _ : state) {
      measure.Pause();
      if (pending) after_sync();
      pending = false;
      if (!failure.empty()) {  // the file's state is unknown after a failed check: stop
        measure.Resume();
        state.SetIterationTime(0);
        continue;
      }
      ++generation;
      char* out = staged.data();
      for (const auto& [first, count] : runs) {
        StampWords(out, count * page, first * page / 8, Expected{generation, 1, 0});
        out += count * page;
      }
      vm0 = read_vmstat();
      phases.Begin(0);
      out = staged.data();
      for (const auto& [first, count] : runs) {
        if (Mapped(c.method)) {
          std::memcpy(map.data() + first * page, out, count * page);
        } else if (auto why = PwriteAll(fd, out, count * page, first * page)) {
          fail(*why);
        }
        out += count * page;
      }
      phases.End(0);
      if (auto before = page_state->Read(state_map, &error)) {
        dirty_before_sum += static_cast<double>(before->dirty);
        dirty_before_min = std::min(dirty_before_min, before->dirty);
        dirty_before_max = std::max(dirty_before_max, before->dirty);
      } else {
        fail(error);
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

  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(k * page);
  outcome.pages_per_op = static_cast<double>(k);
  outcome.valid = failure.empty();
  const std::string method_words = page_state->method() == PageStateMethod::kSmaps
                                       ? "smaps, which cannot see writeback"
                                       : PageStateMethodName(page_state->method());
  const std::string generations = std::to_string(generation) + " generations";
  const std::string read_words =
      "an O_DIRECT read of the " + std::to_string(k) + " dirtied page(s) held the generation";
  std::string flush_words;
  if (!volatile_cache) {
    flush_words = "device cache flushes not checked: " + cache_error;
  } else if (calls_flush_counted < generation) {
    flush_words = "device cache flushes not counted: " +
                  (device_stat ? std::string("the stat file has no flush fields (Linux 5.5+)")
                               : device_error);
  } else if (!*volatile_cache) {
    flush_words = "the device's write cache is write-through: no flush needed";
  } else if (promise == Durability::kDurable && calls_unflushed == 0) {
    flush_words = "the device's write-back cache was flushed during every call (" +
                  Range(flushes_min, flushes_max) + " flush(es))";
  } else {
    flush_words = "device cache flushes during a call: " + Range(flushes_min, flushes_max);
  }
  if (!failure.empty()) {
    outcome.validation = failure;
  } else if (promise == Durability::kDurable) {
    outcome.validation = "durable, after the call alone, for each of " + generations +
                         ": no page dirty" + (writeback_seen ? " or under writeback" : "") + " (" +
                         method_words + "), then " + read_words + "; " + flush_words;
  } else if (promise == Durability::kWrittenNoFlush) {
    outcome.validation =
        "written, not durable (no device flush or metadata promised), after the "
        "call alone, for each of " +
        generations + ": no page dirty" + (writeback_seen ? " or under writeback" : "") + " (" +
        method_words + "), then " + read_words + "; " + flush_words;
  } else {
    outcome.validation = "no durability promised: the call left up to " +
                         std::to_string(dirty_after_max) + " page(s) dirty (" + method_words +
                         "); after the check's own fdatasync " + read_words + ", each of " +
                         generations + " (proves the bytes, not the call)";
  }
  // The folio size the row claims, seen as the pages one store dirties.
  const bool amplified = dirty_before_min > k;
  const bool folios_ok =
      c.large_folios ? pages_per_store > 1 && (k == c.file_pages || amplified)
                     : pages_per_store == 1 && dirty_before_min == k && dirty_before_max == k;
  outcome.config_ok = folios_ok && calls_unflushed == 0;
  outcome.config = std::string(c.large_folios ? "large" : "4 KiB") +
                   " folios: one small store dirtied " + std::to_string(pages_per_store) +
                   " page(s); storing to " + std::to_string(k) + " page(s) dirtied " +
                   Range(dirty_before_min, dirty_before_max) + " page(s)";
  if (calls_unflushed > 0) {
    outcome.config = "durable claimed, but " + std::to_string(calls_unflushed) + " of " +
                     std::to_string(generation) +
                     " calls completed no device cache flush on a write-back cache; " +
                     outcome.config;
  }
  outcome.config += "; page state: " + page_state->description();
  if (volatile_cache) {
    outcome.config +=
        std::string("; device write cache: ") + (*volatile_cache ? "write back" : "write through");
  }
  if (!device_stat) outcome.config += "; device counters: " + device_error;

  const double sync_per_op = static_cast<double>(sync_ns) / ops;
  outcome.metrics = {{"sync_ns_per_dirty_page", sync_per_op / static_cast<double>(k)},
                     {"pages_dirtied_by_one_store", static_cast<double>(pages_per_store)},
                     {"file_dirty_pages_before_sync", dirty_before_sum / ops},
                     {"file_dirty_pages_after_sync", dirty_after_sum / ops}};
  if (writeback_seen) {
    outcome.metrics.emplace_back("file_writeback_pages_after_sync", writeback_after_sum / ops);
  }
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
                               {"folios", c.large_folios ? "large" : "small"},
                               {"durability", DurabilityName(Promise(c.method))}};
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
