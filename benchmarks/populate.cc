// populate — demand faulting vs populating a mapping up front (MAP_POPULATE,
//   MADV_WILLNEED, MADV_POPULATE_READ/WRITE, MAP_LOCKED, mlock), anonymous memory and a
//   file in the page cache.
// Timed: one operation = map (mmap plus the populate call: "map" phase), first touch of
//   every base page (a write for anonymous memory, a read for the file: "touch"), and
//   munmap ("unmap"); each phase is timed and counted apart. state:steady repeats the
//   cycle so freed memory is reused at once; state:after_idle sleeps 3 s (untimed)
//   before one cycle, so the memory it gets back has sat free and, on a VM with free
//   page reporting, may have gone back to the host (skipped where nothing reports).
// Untimed: scratch file creation and warming, one warm-up cycle, the idle sleep and the
//   3 steady cycles before it.
// Pages: transparent huge pages of every size are off for the case (PR_SET_THP_DISABLE,
//   MADV_NOHUGEPAGE for every mapping, also those MAP_POPULATE fills inside mmap), so
//   anonymous memory is in base pages whatever THP and mTHP settings say; the file is
//   mapped with page table entries over whatever folios the page cache holds.
// Verified: anonymous pages read zero before their first write; the file's touched words
//   sum to their known value; after the warm-up cycle's touch, pagemap + kpageflags (root)
//   tell the folios really mapped: anonymous memory must be in base pages; the faults of
//   the touch phase (getrusage, which unlike perf counts populate faults too) match what
//   the method promises: near zero after populating, one per folio mapped (anonymous) or
//   at least one (file: fault-around and large folios map many pages per fault) without.
//   after_idle: the thread CPU time of map + touch (where memory is first touched, by the
//   populate call or the touch) must be >= 3x the median of 3 steady cycles run just
//   before the idle (host faults for memory it had taken back cost guest CPU time); else
//   the memory was not returned and the row is not effective.
// Kernel paths: do_anonymous_page / filemap_map_pages vs populate_vma_page_range (GUP),
//   mlock_fixup, zap_page_range on munmap.
// Params: method (fault, map_populate, willneed, populate_read, populate_write,
//   map_locked, mlock), backing (anon: private anonymous, written; file: shared read-only
//   mapping of a cached scratch file, read), size_mib, state (steady, after_idle).
// Metrics: map/touch/unmap_ns_per_op and per-phase counters; map_faults_per_page and
//   touch_faults_per_page (getrusage); resident_fraction_before (file); after_idle:
//   idle_touch_cpu_ratio, idle_reported_kib.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/faults.h"
#include "harness/kernel/page_backing.h"
#include "harness/kernel/resources.h"
#include "harness/measure/phases.h"
#include "harness/run/environment.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

namespace mapbench {
namespace {

constexpr auto kIdle = std::chrono::seconds(3);  // free page reporting waits 2 s
constexpr int kSteadyCycles = 3;                 // the after_idle row's reference

enum class Method {
  kFault,
  kMapPopulate,
  kWillneed,
  kPopulateRead,
  kPopulateWrite,
  kMapLocked,
  kMlock
};

const char* MethodName(Method m) {
  switch (m) {
    case Method::kFault:
      return "fault";
    case Method::kMapPopulate:
      return "map_populate";
    case Method::kWillneed:
      return "willneed";
    case Method::kPopulateRead:
      return "populate_read";
    case Method::kPopulateWrite:
      return "populate_write";
    case Method::kMapLocked:
      return "map_locked";
    case Method::kMlock:
      return "mlock";
  }
  return "?";
}

// The call after mmap that does the populating, for error messages.
const char* CallName(Method m) {
  switch (m) {
    case Method::kWillneed:
      return "madvise(MADV_WILLNEED)";
    case Method::kPopulateRead:
      return "madvise(MADV_POPULATE_READ)";
    case Method::kPopulateWrite:
      return "madvise(MADV_POPULATE_WRITE)";
    case Method::kMlock:
      return "mlock";
    default:
      return "mmap";
  }
}

bool Locks(Method m) { return m == Method::kMapLocked || m == Method::kMlock; }

struct Config {
  Method method;
  bool file;
  uint64_t size_mib;
  bool after_idle;
};

// What the touch phase should show for this method; the promise the row checks.
TouchExpectation Expect(const Config& c) {
  switch (c.method) {
    case Method::kFault:
    case Method::kWillneed:  // only starts readahead (file) or swap-in (anonymous)
      return c.file ? TouchExpectation::kSome : TouchExpectation::kOnePerFolio;
    case Method::kPopulateRead:
      // Anonymous memory gets the shared zero page: every first write still faults (COW).
      return c.file ? TouchExpectation::kNearZero : TouchExpectation::kOnePerFolio;
    default:
      return TouchExpectation::kNearZero;
  }
}

// What the warm-up's touch left mapped (read before munmap): the folio mix, or why not.
struct Backing {
  std::optional<BackingHistogram> histogram;  // empty: PFNs hidden (not root) or no pagemap
  std::string why_unknown;
};

Backing ReadBacking(const RunContext& ctx, const char* p, uint64_t size) {
  Backing b;
  std::string error;
  auto frames = ReadPageFrames(ctx.system, p, size, &error);
  if (!frames) {
    b.why_unknown = error;
  } else if (!frames->pfns_visible) {
    b.why_unknown = "page frames hidden (pagemap PFNs need CAP_SYS_ADMIN)";
  } else {
    b.histogram = FolioHistogram(*frames);
  }
  return b;
}

struct OpResult {
  std::string error;  // a call failed
  int error_number = 0;
  uint64_t map_faults = 0;  // getrusage faults during the map phase (populate faults)
  uint64_t touch_faults = 0;
  uint64_t seen = 0;        // anonymous: OR of the words before writing; file: word sum
  uint64_t use_cpu_ns = 0;  // after_idle: thread CPU time of map + touch
};

// Writes every page once; returns the OR of what was there (fresh memory: zero).
uint64_t TouchWrite(char* p, uint64_t size) {
  const uint64_t page = PageSize();
  uint64_t seen = 0;
  for (uint64_t o = 0; o < size; o += page) {
    seen |= __atomic_fetch_add(reinterpret_cast<uint64_t*>(p + o), 1, __ATOMIC_RELAXED);
  }
  return seen;
}

uint64_t TouchRead(const char* p, uint64_t size) {
  const uint64_t page = PageSize();
  uint64_t sum = 0;
  for (uint64_t o = 0; o < size; o += page)
    sum += *reinterpret_cast<const volatile uint64_t*>(p + o);
  return sum;
}

// One map-touch-unmap cycle; phases may be null (warm-up). `after_touch`, when given,
// sees the mapping between the touch and munmap (untimed work of the warm-up).
OpResult Cycle(const Config& c, int fd, uint64_t size, Phases* phases,
               const std::function<void(const char*)>& after_touch = {}) {
  OpResult r;
  auto begin = [&](size_t i) {
    if (phases) phases->Begin(i);
  };
  auto end = [&](size_t i) {
    if (phases) phases->End(i);
  };

  const ThreadFaults before_map = CurrentThreadFaults();
  const uint64_t cpu_before = c.after_idle ? ThreadCpuNs() : 0;
  begin(0);
  int flags = c.file ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;
  if (c.method == Method::kMapPopulate) flags |= MAP_POPULATE;
  if (c.method == Method::kMapLocked) flags |= MAP_LOCKED;
  const int prot = c.file ? PROT_READ : PROT_READ | PROT_WRITE;
  Mapping map(mmap(nullptr, size, prot, flags, c.file ? fd : -1, 0), size);
  int rc = 0;
  if (map.valid()) {
    switch (c.method) {
      case Method::kWillneed:
        rc = madvise(map.data(), size, MADV_WILLNEED);
        break;
      case Method::kPopulateRead:
        rc = madvise(map.data(), size, MADV_POPULATE_READ);
        break;
      case Method::kPopulateWrite:
        rc = madvise(map.data(), size, MADV_POPULATE_WRITE);
        break;
      case Method::kMlock:
        rc = mlock(map.data(), size);
        break;
      default:
        break;
    }
  }
  const int saved_errno = errno;
  end(0);
  const ThreadFaults after_map = CurrentThreadFaults();
  if (!map.valid()) {
    r.error = SysError(
        std::string("mmap(") + MethodName(c.method) + ", len=" + std::to_string(size) + ")",
        saved_errno);
    r.error_number = saved_errno;
    return r;
  }
  if (rc != 0) {
    r.error =
        SysError(std::string(CallName(c.method)) + " len=" + std::to_string(size), saved_errno);
    r.error_number = saved_errno;
    return r;
  }
  begin(1);
  r.seen = c.file ? TouchRead(map.data(), size) : TouchWrite(map.data(), size);
  end(1);
  if (c.after_idle) r.use_cpu_ns = ThreadCpuNs() - cpu_before;
  const ThreadFaults touched = CurrentThreadFaults();
  if (after_touch) after_touch(map.data());
  begin(2);
  rc = map.reset();
  end(2);
  if (rc != 0) r.error = SysError("munmap");
  r.map_faults = after_map.minor + after_map.major - before_map.minor - before_map.major;
  r.touch_faults = touched.minor + touched.major - after_map.minor - after_map.major;
  return r;
}

// Whether the pages were what the row claims: anonymous memory in base pages. The file's
// folios are the page cache's, whatever their size; the note says which they were.
struct PageCheck {
  bool ok = true;
  std::string note;
};
PageCheck CheckPages(const Config& c, const std::string& pin_error, const Backing& b) {
  PageCheck check;
  const std::string base = PageSizeText(PageSize()) + " pages";
  check.note = pin_error.empty() ? "THP off (PR_SET_THP_DISABLE)" : "THP NOT off: " + pin_error;
  const std::string seen = b.histogram ? "pagemap after touch: " + DescribeHistogram(*b.histogram)
                                       : "pages not checked after touch: " + b.why_unknown;
  if (c.file) {
    check.note += ", file folios as the page cache holds them, PTE-mapped; " + seen;
    return check;
  }
  if (!b.histogram) {
    // The fault count (one per page) is then what shows the pages were base pages.
    check.note += ": " + base + "; " + seen;
    return check;
  }
  check.ok = FractionInFolios(*b.histogram, 1) >= 0.99;
  check.note += ": " + base + (check.ok ? ", checked: " : " NOT seen: ");
  check.note += seen;
  return check;
}

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.size_mib << 20;
  const uint64_t pages = size / PageSize();
  if (Locks(c.method)) {
    rlimit limit{};
    getrlimit(RLIMIT_MEMLOCK, &limit);
    if (auto why = MemlockShortage(ctx.system.Read("/proc/self/status").value_or(""),
                                   limit.rlim_cur, size)) {
      return Skip(state, *why);
    }
  }
  if (!c.file || Locks(c.method)) {
    if (auto why = CheckMemory(ctx, size)) return Skip(state, *why);
  }
  if (c.after_idle) {
    if (auto why = NoFreePageReporting(ReadFreePageReporting(ctx.system))) {
      return Skip(state, *why);
    }
  }

  UniqueFd fd;
  uint64_t expected = 0;  // file: sum of the first word of every page
  double resident = 1;
  if (c.file) {
    std::string error;
    const ScratchFile* file = ctx.scratch->File(size, &error);
    if (file == nullptr) return Skip(state, error);
    fd.reset(open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Skip(state, SysError("open(" + file->path + ")"));
    if (auto why = WarmCache(fd.get(), size)) return Skip(state, *why);
    auto fraction = ResidentFraction(fd.get(), size, &error);
    if (!fraction) return Skip(state, error);
    resident = *fraction;
    for (uint64_t p = 0; p < pages; ++p) expected += ScratchWord(p * (PageSize() / 8));
  }
  // Base pages for anonymous memory, whatever THP and mTHP settings say (restored when
  // the case ends).
  const ScopedThpDisable thp_off;
  const TouchExpectation expectation = Expect(c);

  // Untimed warm-up: recycles memory for the steady state, finds unsupported calls, and
  // reads what the touch really mapped.
  Backing backing;
  OpResult warm = Cycle(c, fd.get(), size, nullptr,
                        [&](const char* p) { backing = ReadBacking(ctx, p, size); });
  if (!warm.error.empty()) {
    const int e = warm.error_number;
    if (Locks(c.method) && (e == EAGAIN || e == ENOMEM || e == EPERM)) {
      return Skip(state, warm.error + " (RLIMIT_MEMLOCK or CAP_IPC_LOCK)");
    }
    return Skip(state, warm.error);
  }
  // after_idle: the steady-state CPU time of the same cycle, then the idle.
  std::vector<double> steady_cpu_ns;
  HostReports during_idle;
  if (c.after_idle) {
    for (int i = 0; i < kSteadyCycles; ++i) {
      OpResult steady = Cycle(c, fd.get(), size, nullptr);
      if (!steady.error.empty()) return Skip(state, steady.error);
      steady_cpu_ns.push_back(static_cast<double>(steady.use_cpu_ns));
    }
    const HostReports before = ReadHostReports(ctx.system);
    std::this_thread::sleep_for(kIdle);
    during_idle = HostReportsDelta(before, ReadHostReports(ctx.system));
  }

  // One fault per folio the warm-up's touch mapped; per page when that is unknown.
  const uint64_t folios = backing.histogram ? FoliosMapped(*backing.histogram).value_or(0) : 0;
  bool valid = true, faults_ok = true;
  std::string failure, fault_note;
  uint64_t map_faults = 0, touch_faults = 0, worst_touch = 0, best_touch = UINT64_MAX;
  double first_use_cpu_ns = 0;  // after_idle: the first timed cycle
  Phases phases(ctx, {"map", "touch", "unmap"});
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      OpResult r = Cycle(c, fd.get(), size, &phases);
      if (!r.error.empty() && failure.empty()) failure = r.error;
      const bool data_ok = c.file ? r.seen == expected : r.seen == 0;
      if ((!r.error.empty() || !data_ok) && valid) {
        valid = false;
        if (failure.empty())
          failure = c.file ? "file words summed wrong" : "fresh anonymous page was not zero";
      }
      FaultVerdict verdict =
          CheckTouchFaults(expectation, static_cast<double>(r.touch_faults), pages, folios);
      if (!verdict.ok && faults_ok) {
        faults_ok = false;
        fault_note = verdict.note;
      }
      if (first_use_cpu_ns == 0) first_use_cpu_ns = static_cast<double>(r.use_cpu_ns);
      map_faults += r.map_faults;
      touch_faults += r.touch_faults;
      worst_touch = std::max(worst_touch, r.touch_faults);
      best_touch = std::min(best_touch, r.touch_faults);
    }
    measure.Stop();
  }

  const uint64_t ops = state.iterations();
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.valid = valid;
  outcome.validation = !valid ? failure
                       : c.file
                           ? "touched words of every page summed to the file's value, every cycle"
                           : "every fresh page read zero before its first write, every cycle";
  const double mean_touch = ops ? static_cast<double>(touch_faults) / ops : 0;
  if (faults_ok) fault_note = CheckTouchFaults(expectation, mean_touch, pages, folios).note;
  const PageCheck page_check = CheckPages(c, thp_off.error(), backing);
  char note[640];
  std::snprintf(
      note, sizeof(note), "%s; %s (min %llu, max %llu per cycle); populate faults %.4f/page%s",
      page_check.note.c_str(), fault_note.c_str(),
      static_cast<unsigned long long>(ops ? best_touch : 0),
      static_cast<unsigned long long>(worst_touch),
      ops ? static_cast<double>(map_faults) / ops / pages : 0.0,
      c.file ? (resident >= 0.99 ? "; file fully cached" : "; file NOT fully cached") : "");
  outcome.config = note;
  outcome.config_ok = faults_ok && resident >= 0.99 && page_check.ok;
  if (c.after_idle) {
    const ReturnedCheck idle = CheckReturnedToHost(first_use_cpu_ns, steady_cpu_ns, during_idle);
    outcome.config += "; " + idle.note;
    outcome.config_ok = *outcome.config_ok && idle.ok;
    if (idle.ratio > 0) outcome.metrics.emplace_back("idle_touch_cpu_ratio", idle.ratio);
    if (during_idle.reported_kib) {
      outcome.metrics.emplace_back("idle_reported_kib",
                                   static_cast<double>(*during_idle.reported_kib));
    }
  }
  phases.AddTo(outcome, ops);
  if (ops) {
    outcome.metrics.emplace_back("map_faults_per_page",
                                 static_cast<double>(map_faults) / ops / pages);
    outcome.metrics.emplace_back("touch_faults_per_page", mean_touch / pages);
  }
  if (c.file) outcome.metrics.emplace_back("resident_fraction_before", resident);
  Report(state, outcome);
}

Case MakeCase(const Config& c, bool quick) {
  std::vector<Param> params = {{"method", MethodName(c.method)},
                               {"backing", c.file ? "file" : "anon"},
                               {"size_mib", std::to_string(c.size_mib)},
                               {"state", c.after_idle ? "after_idle" : "steady"}};
  Case out{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); }, {}};
  // One cycle per repetition after the idle sleep; fewer repetitions, each costs 3 s.
  if (c.after_idle) {
    out.configure = [quick](benchmark::internal::Benchmark* b) {
      b->Iterations(1)->Repetitions(quick ? 3 : 5);
    };
  } else if (!c.file && c.size_mib >= 1024) {
    // A 1 GiB anonymous cycle takes about a second: 5 repetitions keep the full suite short.
    out.configure = [](benchmark::internal::Benchmark* b) { b->Repetitions(5); };
  }
  return out;
}

// Quick: every method on 16 MiB, steady state. Full: 2 MiB .. 1 GiB, plus first touch
// after idle for demand faulting and MAP_POPULATE of anonymous memory.
std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  const std::vector<uint64_t> sizes =
      quick ? std::vector<uint64_t>{16} : std::vector<uint64_t>{2, 16, 128, 1024};
  const Method all[] = {Method::kFault,        Method::kMapPopulate,   Method::kWillneed,
                        Method::kPopulateRead, Method::kPopulateWrite, Method::kMapLocked,
                        Method::kMlock};
  std::vector<Case> cases;
  for (uint64_t size_mib : sizes) {
    for (bool file : {false, true}) {
      for (Method m : all) {
        // A read-only file mapping cannot be populated for writing.
        if (file && m == Method::kPopulateWrite) continue;
        cases.push_back(MakeCase({m, file, size_mib, false}, quick));
      }
    }
  }
  if (!quick) {
    for (Method m : {Method::kFault, Method::kMapPopulate})
      cases.push_back(MakeCase({m, false, 128, true}, quick));
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "populate",
    "demand faulting vs MAP_POPULATE / MADV_POPULATE_* / WILLNEED / mlock: map and touch timed "
    "apart",
    [] {
      std::vector<std::string> metrics = PhaseMetricNames({"map", "touch", "unmap"});
      metrics.insert(metrics.end(),
                     {"map_faults_per_page", "touch_faults_per_page", "resident_fraction_before",
                      "idle_touch_cpu_ratio", "idle_reported_kib"});
      return metrics;
    }(),
    Cases});

}  // namespace
}  // namespace mapbench
