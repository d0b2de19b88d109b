// page_size — what the page size behind a mapping changes: base pages (PageSize(), 4 KiB
//   on x86-64; MADV_NOHUGEPAGE), PMD THP (MADV_HUGEPAGE, 2 MiB aligned), each multi-size THP size,
//   hugetlb 2 MiB / 1 GiB (MAP_HUGETLB and memfd MFD_HUGETLB), shmem THP (memfd +
//   MADV_HUGEPAGE).
// Timed: fault: map (mmap, madvise; memfd_create + ftruncate for memfd), first write to
//   every base page, munmap (+ close), each phase apart; state:steady repeats the cycle
//   so memory is recycled at once, state:after_idle sleeps 3 s (untimed) first, so the
//   memory has sat free and, on a VM with free page reporting, may have gone back to the
//   host (skipped where there is no free page reporting).
//   seq_read: one pass summing every word of a faulted region.
//   chase: one lap of a dependent-load ring with one node per base page in random
//   order, so with base pages nearly every load misses the TLB.
// Untimed: region setup and filling, backing checks, the idle sleep.
// Verified: fault: fresh memory reads zero; seq_read: checksum; chase: every lap returns
//   to its start and the ring has one node per page. Backing: the fraction of the region
//   really mapped with the claimed page size, from /proc/self/pagemap + /proc/kpageflags
//   folio sizes (root) and smaps (AnonHugePages, ShmemPmdMapped, *_Hugetlb), or the
//   per-size anon_fault_alloc counter for mTHP; config_ok when it is >= 99%.
//   mTHP regions are split into VMAs of the mTHP size so no larger size can be chosen.
//   after_idle: the touch's thread CPU time must be >= 3x the median of 3 steady cycles
//   run just before the idle (host faults for memory it had taken back cost guest CPU
//   time); else the memory was not returned and the row is not effective. Free page
//   reports during the idle (balloon reporting_vq interrupts, reported KiB) are recorded.
// Kernel paths: do_anonymous_page / do_huge_pmd_anonymous_page / alloc_anon_folio,
//   hugetlb_fault, shmem_fault; page walks (nested paging on a VM) in the chase.
// Workloads: fault, seq_read, chase. Params: page_kib (claimed page size), mechanism
//   (nohugepage, thp, mthp, hugetlb, shmem_thp), api (mmap, memfd), size_mib, state
//   (fault only: steady, after_idle).
// Metrics: backing_fraction (worst check); fault: map/touch/unmap_ns_per_op and
//   per-phase counters, fault_ns_per_mib (touch), faults_per_mib (getrusage),
//   after_idle: idle_touch_cpu_ratio, idle_reported_kib; chase: ns_per_access
//   (dtlb_load_misses_per_page is per access: one node per page).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "harness/kernel/faults.h"
#include "harness/kernel/page_backing.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/smaps.h"
#include "harness/measure/phases.h"
#include "harness/measure/pointer_chase.h"
#include "harness/run/environment.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

namespace mapbench {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr auto kIdle = std::chrono::seconds(3);  // free page reporting waits 2 s
constexpr int kSteadyCycles = 3;                 // the after_idle row's reference
constexpr double kBackedEnough = 0.99;
constexpr uint64_t kChaseSeed = 0x70616765;

enum class Workload { kFault, kSeqRead, kChase };
enum class Mechanism { kNoHuge, kThp, kMthp, kHugetlb, kShmemThp };
enum class Api { kMmap, kMemfd };

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kFault:
      return "fault";
    case Workload::kSeqRead:
      return "seq_read";
    case Workload::kChase:
      return "chase";
  }
  return "?";
}

const char* MechanismName(Mechanism m) {
  switch (m) {
    case Mechanism::kNoHuge:
      return "nohugepage";
    case Mechanism::kThp:
      return "thp";
    case Mechanism::kMthp:
      return "mthp";
    case Mechanism::kHugetlb:
      return "hugetlb";
    case Mechanism::kShmemThp:
      return "shmem_thp";
  }
  return "?";
}

struct Config {
  Workload workload;
  Mechanism mechanism;
  Api api;
  uint64_t page_bytes;
  uint64_t size_mib;
  bool after_idle;
};

int Log2(uint64_t v) { return 63 - __builtin_clzll(v); }

// A region: what to unmap (and close) and the usable spans inside it.
struct Region {
  UniqueFd fd;
  Mapping whole;
  std::vector<std::pair<char*, size_t>> spans;
  uint64_t bytes = 0;
};

// A PROT_NONE reservation of `bytes` aligned to `align`, to map over with MAP_FIXED.
char* ReserveAligned(uint64_t bytes, uint64_t align, Mapping* out) {
  void* raw =
      mmap(nullptr, bytes + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + align - 1) & ~(align - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = aligned + bytes, end = start + bytes + align;
  if (end > tail) munmap(reinterpret_cast<void*>(tail), end - tail);
  *out = Mapping(reinterpret_cast<void*>(aligned), bytes);
  return reinterpret_cast<char*>(aligned);
}

// The mapping calls (the "map" phase). nullopt on success, else the failing call.
std::optional<std::string> MapRegion(const Config& c, uint64_t bytes, Region* r) {
  const std::string len = "len=" + std::to_string(bytes);
  constexpr int kRw = PROT_READ | PROT_WRITE;
  constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;
  r->bytes = bytes;
  switch (c.mechanism) {
    case Mechanism::kNoHuge: {
      r->whole = Mapping(mmap(nullptr, bytes, kRw, kAnon, -1, 0), bytes);
      if (!r->whole.valid()) return SysError("mmap(anonymous, " + len + ")");
      if (madvise(r->whole.data(), bytes, MADV_NOHUGEPAGE) != 0)
        return SysError("madvise(MADV_NOHUGEPAGE)");
      r->spans = {{r->whole.data(), bytes}};
      return std::nullopt;
    }
    case Mechanism::kThp: {
      char* base = ReserveAligned(bytes, c.page_bytes, &r->whole);
      if (base == nullptr) return SysError("mmap(reserve, " + len + ")");
      if (mmap(base, bytes, kRw, kAnon | MAP_FIXED, -1, 0) == MAP_FAILED)
        return SysError("mmap(MAP_FIXED, " + len + ")");
      if (madvise(base, bytes, MADV_HUGEPAGE) != 0) return SysError("madvise(MADV_HUGEPAGE)");
      r->spans = {{base, bytes}};
      return std::nullopt;
    }
    case Mechanism::kMthp: {
      // One VMA per mTHP-sized piece with PROT_NONE gaps between, so no larger folio fits.
      const uint64_t piece = c.page_bytes;
      char* base = ReserveAligned(2 * bytes, piece, &r->whole);
      if (base == nullptr) return SysError("mmap(reserve, len=" + std::to_string(2 * bytes) + ")");
      for (uint64_t offset = 0; offset < bytes; offset += piece) {
        char* at = base + 2 * offset;
        if (mmap(at, piece, kRw, kAnon | MAP_FIXED, -1, 0) == MAP_FAILED)
          return SysError("mmap(MAP_FIXED piece)");
        r->spans.emplace_back(at, piece);
      }
      if (madvise(base, 2 * bytes, MADV_HUGEPAGE) != 0) return SysError("madvise(MADV_HUGEPAGE)");
      return std::nullopt;
    }
    case Mechanism::kHugetlb: {
      const int size_flag = Log2(c.page_bytes) << MAP_HUGE_SHIFT;
      if (c.api == Api::kMmap) {
        r->whole =
            Mapping(mmap(nullptr, bytes, kRw, kAnon | MAP_HUGETLB | size_flag, -1, 0), bytes);
        if (!r->whole.valid()) return SysError("mmap(MAP_HUGETLB, " + len + ")");
      } else {
        r->fd.reset(memfd_create("mapbench-hugetlb", MFD_CLOEXEC | MFD_HUGETLB |
                                                         (Log2(c.page_bytes) << MFD_HUGE_SHIFT)));
        if (!r->fd.valid()) return SysError("memfd_create(MFD_HUGETLB)");
        if (ftruncate(r->fd.get(), static_cast<off_t>(bytes)) != 0)
          return SysError("ftruncate(hugetlb memfd, " + len + ")");
        r->whole = Mapping(mmap(nullptr, bytes, kRw, MAP_SHARED, r->fd.get(), 0), bytes);
        if (!r->whole.valid()) return SysError("mmap(hugetlb memfd, " + len + ")");
      }
      r->spans = {{r->whole.data(), bytes}};
      return std::nullopt;
    }
    case Mechanism::kShmemThp: {
      r->fd.reset(memfd_create("mapbench-shmem", MFD_CLOEXEC));
      if (!r->fd.valid()) return SysError("memfd_create");
      if (ftruncate(r->fd.get(), static_cast<off_t>(bytes)) != 0)
        return SysError("ftruncate(memfd, " + len + ")");
      char* base = ReserveAligned(bytes, c.page_bytes, &r->whole);
      if (base == nullptr) return SysError("mmap(reserve, " + len + ")");
      if (mmap(base, bytes, kRw, MAP_SHARED | MAP_FIXED, r->fd.get(), 0) == MAP_FAILED)
        return SysError("mmap(memfd, " + len + ")");
      if (madvise(base, bytes, MADV_HUGEPAGE) != 0) return SysError("madvise(MADV_HUGEPAGE)");
      r->spans = {{base, bytes}};
      return std::nullopt;
    }
  }
  return "unknown mechanism";
}

// First write to every base page; returns the OR of what was there (fresh memory: 0).
uint64_t TouchWrite(const Region& r) {
  const uint64_t page = PageSize();
  uint64_t seen = 0;
  for (const auto& [base, bytes] : r.spans) {
    for (uint64_t o = 0; o < bytes; o += page) {
      seen |= __atomic_fetch_add(reinterpret_cast<uint64_t*>(base + o), 1, __ATOMIC_RELAXED);
    }
  }
  return seen;
}

// ---- backing checks (untimed) -------------------------------------------------------

// The worst fraction each check found; the row's fraction is the worst of all.
struct Backing {
  std::map<std::string, std::pair<double, std::string>> by_check;  // check -> (worst, text)
  void Add(const std::string& check, double f, const std::string& text) {
    auto it = by_check.find(check);
    if (it == by_check.end() || f < it->second.first) by_check[check] = {f, text};
  }
  double Fraction() const {
    double worst = 1;
    for (const auto& [check, seen] : by_check) worst = std::min(worst, seen.first);
    return by_check.empty() ? 0 : worst;
  }
  std::string Note() const {
    std::string note;
    for (const auto& [check, seen] : by_check) note += (note.empty() ? "" : "; ") + seen.second;
    return note.empty() ? "backing not checked" : note + " (worst seen)";
  }
};

std::string Pct(double f) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", 100 * f);
  return text;
}

// smaps view; not for mTHP (smaps shows only PMD-mapped THP).
void CheckSmaps(const RunContext& ctx, const Config& c, const Region& r, Backing* b) {
  if (c.mechanism == Mechanism::kMthp) return;
  auto fields = ReadSmapsForRange(ctx.system, r.whole.data(), r.whole.size());
  if (!fields) return b->Add("smaps", 0, "smaps: no VMA for the region");
  BackingKind kind = BackingKind::kBasePages;
  const char* field = "Rss without huge pages";
  switch (c.mechanism) {
    case Mechanism::kThp:
      kind = BackingKind::kAnonThp, field = "AnonHugePages";
      break;
    case Mechanism::kShmemThp:
      kind = BackingKind::kShmemThp, field = "ShmemPmdMapped";
      break;
    case Mechanism::kHugetlb:
      kind = BackingKind::kHugetlb, field = "*_Hugetlb";
      break;
    default:
      break;
  }
  const double f = SmapsBackedFraction(*fields, kind, c.page_bytes, r.bytes);
  b->Add("smaps", f, std::string("smaps ") + field + " " + Pct(f));
}

// Folio sizes from pagemap + kpageflags; false when PFNs are hidden (not root).
bool CheckPagemap(const RunContext& ctx, const Config& c, const Region& r, Backing* b) {
  BackingHistogram all;
  for (const auto& [base, bytes] : r.spans) {
    std::string error;
    auto frames = ReadPageFrames(ctx.system, base, bytes, &error);
    if (!frames || !frames->pfns_visible) return false;
    MergeHistograms(all, FolioHistogram(*frames));
  }
  const double f = FractionInFolios(all, c.page_bytes / PageSize());
  b->Add("pagemap", f, "pagemap " + DescribeHistogram(all));
  return true;
}

// mTHP without PFNs: folios of this size allocated by faults (system-wide counter).
void CheckMthpStat(const Config& c, uint64_t before, std::optional<uint64_t> after, Backing* b) {
  if (!after)
    return b->Add("stats", 0, "no anon_fault_alloc counter for " + PageSizeText(c.page_bytes));
  const double folios = static_cast<double>(*after - before);
  const double f = std::min(1.0, folios * c.page_bytes / static_cast<double>(c.size_mib * kMiB));
  b->Add("stats", f,
         "anon_fault_alloc +" + std::to_string(*after - before) + " folios = " + Pct(f));
}

// nullopt when the row can run here, else the skip reason.
std::optional<std::string> Unavailable(const RunContext& ctx, const Config& c, uint64_t bytes) {
  const ThpSettings thp = ReadThpSettings(ctx.system);
  switch (c.mechanism) {
    case Mechanism::kThp:
    case Mechanism::kMthp:
      if (auto why = AnonThpUnavailable(thp, c.page_bytes)) return why;
      break;
    case Mechanism::kShmemThp:
      if (auto why = ShmemThpUnavailable(thp, c.page_bytes)) return why;
      break;
    case Mechanism::kHugetlb:
      return HugetlbShortage(ReadHugetlbPool(ctx.system, c.page_bytes), c.page_bytes, bytes);
    default:
      break;
  }
  if (c.mechanism == Mechanism::kMthp) {
    // Two VMAs per piece (the piece and its gap).
    const uint64_t vmas = 2 * bytes / c.page_bytes;
    const uint64_t limit =
        ParseUnsigned(ctx.system.ReadLine("/proc/sys/vm/max_map_count").value_or(""))
            .value_or(65530);
    if (vmas + 1000 > limit) {
      return "needs " + std::to_string(vmas) + " VMAs, vm.max_map_count is " +
             std::to_string(limit);
    }
  }
  return CheckMemory(ctx, bytes);
}

std::optional<uint64_t> MthpAllocs(const RunContext& ctx, const Config& c) {
  if (c.mechanism != Mechanism::kMthp) return std::nullopt;
  return ReadThpSizeStat(ctx.system, c.page_bytes, "anon_fault_alloc");
}

// `idle`: an after_idle row's check that the memory had gone back to the host.
void Finish(benchmark::State& state, Outcome& outcome, const Backing& backing,
            const std::optional<ReturnedCheck>& idle = std::nullopt) {
  outcome.config_ok = backing.Fraction() >= kBackedEnough && (!idle || idle->ok);
  outcome.config = backing.Note();
  if (idle) outcome.config += "; " + idle->note;
  outcome.metrics.emplace_back("backing_fraction", backing.Fraction());
  Report(state, outcome);
}

// ---- fault ----------------------------------------------------------------------------

void RunFault(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t bytes = c.size_mib * kMiB, pages = bytes / PageSize();
  if (auto why = Unavailable(ctx, c, bytes)) return Skip(state, *why);
  if (c.after_idle) {
    if (auto why = NoFreePageReporting(ReadFreePageReporting(ctx.system))) {
      return Skip(state, *why);
    }
  }
  Backing backing;
  // Untimed warm-up cycle: finds failing calls, recycles memory, and checks the backing
  // in depth (pagemap) while the region exists.
  {
    Region r;
    if (auto error = MapRegion(c, bytes, &r)) return Skip(state, *error);
    const auto before = MthpAllocs(ctx, c);
    if (TouchWrite(r) != 0) return Skip(state, "fresh memory was not zero in the warm-up cycle");
    if (c.mechanism == Mechanism::kMthp && !CheckPagemap(ctx, c, r, &backing)) {
      CheckMthpStat(c, before.value_or(0), MthpAllocs(ctx, c), &backing);
    } else if (c.mechanism != Mechanism::kMthp) {
      CheckPagemap(ctx, c, r, &backing);
    }
    CheckSmaps(ctx, c, r, &backing);
  }
  // after_idle: the steady-state CPU time of the same cycle, then the idle.
  std::vector<double> steady_cpu_ns;
  HostReports during_idle;
  if (c.after_idle) {
    for (int i = 0; i < kSteadyCycles; ++i) {
      Region r;
      if (auto error = MapRegion(c, bytes, &r)) return Skip(state, *error);
      const uint64_t cpu0 = ThreadCpuNs();
      TouchWrite(r);
      steady_cpu_ns.push_back(static_cast<double>(ThreadCpuNs() - cpu0));
    }
    const HostReports before = ReadHostReports(ctx.system);
    std::this_thread::sleep_for(kIdle);
    during_idle = HostReportsDelta(before, ReadHostReports(ctx.system));
  }

  bool valid = true;
  std::string failure;
  uint64_t touch_ns = 0, touch_faults = 0;
  double first_touch_cpu_ns = 0;  // after_idle: the first timed touch
  Phases phases(ctx, {"map", "touch", "unmap"});
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      Region r;
      phases.Begin(0);
      auto error = MapRegion(c, bytes, &r);
      phases.End(0);
      if (error) {
        valid = false;
        if (failure.empty()) failure = *error;
        continue;
      }
      measure.Pause();
      const auto allocs_before = MthpAllocs(ctx, c);
      const ThreadFaults faults_before = CurrentThreadFaults();
      measure.Resume();
      phases.Begin(1);
      const uint64_t cpu0 = c.after_idle ? ThreadCpuNs() : 0;
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t seen = TouchWrite(r);
      const auto t1 = std::chrono::steady_clock::now();
      const uint64_t cpu1 = c.after_idle ? ThreadCpuNs() : 0;
      phases.End(1);
      measure.Pause();
      if (c.after_idle && first_touch_cpu_ns == 0) first_touch_cpu_ns = cpu1 - cpu0;
      touch_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
      touch_faults += CurrentThreadFaults().minor - faults_before.minor;
      if (seen != 0 && valid) {
        valid = false;
        failure = "fresh memory was not zero";
      }
      if (c.mechanism == Mechanism::kMthp) {
        if (allocs_before) CheckMthpStat(c, *allocs_before, MthpAllocs(ctx, c), &backing);
      } else {
        CheckSmaps(ctx, c, r, &backing);
      }
      measure.Resume();
      phases.Begin(2);
      r.whole.reset();
      r.fd.reset();
      phases.End(2);
    }
    measure.Stop();
  }
  const uint64_t ops = state.iterations();
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(bytes);
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.valid = valid;
  outcome.validation =
      valid ? "every fresh page read zero before its first write, every cycle" : failure;
  phases.AddTo(outcome, ops);
  if (ops) {
    outcome.metrics.emplace_back("fault_ns_per_mib",
                                 static_cast<double>(touch_ns) / ops / c.size_mib);
    outcome.metrics.emplace_back("faults_per_mib",
                                 static_cast<double>(touch_faults) / ops / c.size_mib);
  }
  std::optional<ReturnedCheck> idle;
  if (c.after_idle) {
    idle = CheckReturnedToHost(first_touch_cpu_ns, steady_cpu_ns, during_idle);
    if (idle->ratio > 0) outcome.metrics.emplace_back("idle_touch_cpu_ratio", idle->ratio);
    if (during_idle.reported_kib) {
      outcome.metrics.emplace_back("idle_reported_kib",
                                   static_cast<double>(*during_idle.reported_kib));
    }
  }
  Finish(state, outcome, backing, idle);
}

// ---- seq_read and chase ---------------------------------------------------------------

void RunRead(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t bytes = c.size_mib * kMiB, pages = bytes / PageSize();
  if (auto why = Unavailable(ctx, c, bytes)) return Skip(state, *why);
  Region r;
  Backing backing;
  const auto allocs_before = MthpAllocs(ctx, c);
  if (auto error = MapRegion(c, bytes, &r)) return Skip(state, *error);
  uint64_t expected = 0;
  void* start = nullptr;
  uint64_t nodes = 0;
  if (c.workload == Workload::kSeqRead) {
    uint64_t index = 0;
    for (const auto& [base, len] : r.spans) {
      uint64_t* words = reinterpret_cast<uint64_t*>(base);
      for (uint64_t i = 0; i < len / 8; ++i) words[i] = ScratchWord(index++);
    }
    expected = ExpectedChecksum(bytes);
  } else {
    std::vector<char*> slots = SpreadSlots(r.spans, PageSize(), kChaseSeed);
    nodes = slots.size();
    start = BuildRing(slots, kChaseSeed);
    if (RingLength(start, nodes) != nodes)
      return Skip(state, "pointer ring is not one cycle through every page");
  }
  if (c.mechanism == Mechanism::kMthp && !CheckPagemap(ctx, c, r, &backing)) {
    CheckMthpStat(c, allocs_before.value_or(0), MthpAllocs(ctx, c), &backing);
  } else if (c.mechanism != Mechanism::kMthp) {
    CheckPagemap(ctx, c, r, &backing);
  }
  CheckSmaps(ctx, c, r, &backing);

  bool valid = true;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      if (c.workload == Workload::kSeqRead) {
        uint64_t sum = 0;
        for (const auto& [base, len] : r.spans) sum += SumWords(base, len);
        // Each pass must re-read memory. Not DoNotOptimize(sum): in Google Benchmark 1.7.1 with
        // GCC it can hand back a different value (seen under ASan), and sum is checked below.
        benchmark::ClobberMemory();
        valid = valid && sum == expected;
      } else {
        void* end = Chase(start, nodes);
        valid = valid && end == start;
      }
    }
    measure.Stop();
  }
  const double elapsed_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  CheckSmaps(ctx, c, r, &backing);  // still backed as claimed at the end (no split)

  const uint64_t ops = state.iterations();
  Outcome outcome;
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.valid = valid;
  if (c.workload == Workload::kSeqRead) {
    outcome.bytes_per_op = static_cast<double>(bytes);
    outcome.validation = valid ? "checksum matched every pass" : "checksum mismatch";
  } else {
    outcome.validation =
        valid ? "ring of " + std::to_string(nodes) + " nodes (one per page) closed every lap"
              : "a lap did not return to its start";
    if (ops) outcome.metrics.emplace_back("ns_per_access", elapsed_ns / ops / nodes);
  }
  Finish(state, outcome, backing);
}

// ---- cases ---------------------------------------------------------------------------

Case MakeCase(const Config& c, bool quick) {
  std::vector<Param> params = {{"page_kib", std::to_string(c.page_bytes >> 10)},
                               {"mechanism", MechanismName(c.mechanism)},
                               {"api", c.api == Api::kMmap ? "mmap" : "memfd"},
                               {"size_mib", std::to_string(c.size_mib)}};
  if (c.workload == Workload::kFault)
    params.push_back({"state", c.after_idle ? "after_idle" : "steady"});
  Case out{WorkloadName(c.workload),
           params,
           [c](benchmark::State& s, const RunContext& ctx) {
             c.workload == Workload::kFault ? RunFault(s, ctx, c) : RunRead(s, ctx, c);
           },
           {}};
  // One cycle per repetition after the idle sleep; each repetition costs 3 s, so the
  // quick suite keeps two.
  if (c.after_idle) {
    out.configure = [quick](benchmark::internal::Benchmark* b) {
      b->Iterations(1)->Repetitions(quick ? 2 : 5);
    };
  }
  return out;
}

struct PageConfig {
  Mechanism mechanism;
  Api api;
  uint64_t page_bytes;
};

// Quick: every page-size mechanism once at 64 MiB (mTHP: 64 KiB only), plus THP first
// touch after idle. Full: every mTHP size, faults at 64 MiB and 1 GiB, reads over 256 MiB
// (chase also 1 GiB), after-idle rows for base pages, THP and hugetlb 2 MiB.
std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  std::vector<PageConfig> configs = {{Mechanism::kNoHuge, Api::kMmap, PageSize()},
                                     {Mechanism::kThp, Api::kMmap, 2 << 20}};
  const std::vector<uint64_t> mthp_kib =
      quick ? std::vector<uint64_t>{64} : std::vector<uint64_t>{16, 32, 64, 128, 256, 512, 1024};
  for (uint64_t kib : mthp_kib) configs.push_back({Mechanism::kMthp, Api::kMmap, kib << 10});
  for (uint64_t page : {2ull << 20, 1ull << 30}) {
    for (Api api : {Api::kMmap, Api::kMemfd}) configs.push_back({Mechanism::kHugetlb, api, page});
  }
  configs.push_back({Mechanism::kShmemThp, Api::kMemfd, 2 << 20});

  struct Plan {
    Workload workload;
    std::vector<uint64_t> sizes;
  };
  const std::vector<Plan> plans = quick ? std::vector<Plan>{{Workload::kFault, {64}},
                                                            {Workload::kSeqRead, {64}},
                                                            {Workload::kChase, {64}}}
                                        : std::vector<Plan>{{Workload::kFault, {64, 1024}},
                                                            {Workload::kSeqRead, {256}},
                                                            {Workload::kChase, {256, 1024}}};
  std::vector<Case> cases;
  for (const Plan& plan : plans) {
    for (const PageConfig& p : configs) {
      std::vector<uint64_t> sizes = plan.sizes;
      if (p.page_bytes == (1ull << 30)) sizes = {1024};  // at least one 1 GiB page
      for (uint64_t size_mib : sizes) {
        cases.push_back(
            MakeCase({plan.workload, p.mechanism, p.api, p.page_bytes, size_mib, false}, quick));
      }
    }
  }
  std::vector<PageConfig> idle = {{Mechanism::kThp, Api::kMmap, 2 << 20}};
  if (!quick) {
    idle.insert(idle.begin(), {Mechanism::kNoHuge, Api::kMmap, PageSize()});
    idle.push_back({Mechanism::kHugetlb, Api::kMmap, 2 << 20});
  }
  for (const PageConfig& p : idle) {
    cases.push_back(
        MakeCase({Workload::kFault, p.mechanism, p.api, p.page_bytes, 64, true}, quick));
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "page_size",
    "4 KiB vs THP vs mTHP vs hugetlb vs shmem THP: fault cost, bandwidth, TLB-bound latency",
    [] {
      std::vector<std::string> metrics = PhaseMetricNames({"map", "touch", "unmap"});
      metrics.insert(metrics.end(),
                     {"fault_ns_per_mib", "faults_per_mib", "ns_per_access", "backing_fraction",
                      "idle_touch_cpu_ratio", "idle_reported_kib"});
      return metrics;
    }(),
    Cases});

}  // namespace
}  // namespace mapbench
