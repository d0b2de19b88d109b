// mapping_structures — what the kernel's own mapping structures cost: the VMA tree as the
//   process's VMA count grows, the page tables behind the memory mapped, and the /proc views
//   of both. `vmas` filler VMAs (one PROT_NONE reservation of `vmas` base pages, every other
//   page mprotect'ed to PROT_READ, so no two neighbours can merge) are made before timing.
// One op:
//   map_unmap: mmap of one anonymous base page at a kernel-chosen address + munmap
//     (map/unmap_ns_per_op apart, by clock reads).
//   fault: the first write to one fresh base page of a kept 2 MiB region (MADV_NOHUGEPAGE);
//     every 512 ops the region is emptied by MADV_DONTNEED, paused (timer and counters).
//   maps_read: open, read to the end, close /proc/self/maps or /proc/self/smaps (file);
//     ns_per_vma is the op over the process's VMA count.
//   split_merge: mprotect(PROT_READ) of the middle two pages of a populated 4-page rw-p
//     mapping (one VMA becomes three) + mprotect(PROT_READ|PROT_WRITE) back (merged into one
//     again); split/merge_ns_per_op apart.
//   fixed_noreplace: mmap(MAP_FIXED_NOREPLACE) of one page onto a free address (+ munmap) or
//     onto an occupied one (fails with EEXIST).
//   page_tables: map size_mib 2 MiB-aligned as base pages (MADV_NOHUGEPAGE), THP
//     (MADV_HUGEPAGE) or hugetlb 2 MiB, write every base page, munmap; VmPTE of
//     /proc/self/status read right before the map and right after the touch (paused) gives
//     page_table_kib_per_gib.
// Timed: the ops (fixed op counts per repetition: the filler is built once per repetition).
// Untimed: the filler, the regions, the checks.
// Verified: every call's result; the filler's VMAs counted in /proc/self/maps (config_ok:
//   exactly `vmas` in its range; process_vmas is the whole process's count), recounted
//   after the loop; map_unmap: the page got a VMA of its own (no merge)
//   and the last one is gone (mincore); fault: every page read zero before its first write
//   and getrusage counted a fault per op; maps_read: every read listed every VMA (lines, or
//   VmFlags lines for smaps); split_merge: /proc/self/maps shows 3 VMAs (rw-p r--p rw-p)
//   after a split and 1 after the merge, before and after the timed loop, and the contents
//   survive; fixed_noreplace: the free address is mapped exactly there, every occupied call
//   fails with EEXIST and leaves the mapping and its contents alone; page_tables: the
//   VmPTE growth is within the page tables the region needs (base pages: one PTE table per
//   2 MiB, plus at most a few upper-level tables; THP: either that (tables deposited for
//   later splits) or upper levels only; hugetlb: upper levels only), and the backing from
//   smaps (AnonHugePages, *_Hugetlb) >= 99% for config_ok.
// Kernel paths: mmap_region/vma_merge/maple tree stores and gap search, do_vmi_munmap,
//   lock_vma_under_rcu + do_anonymous_page, show_map/show_smap (smaps page walk), mprotect
//   split/merge (vma_modify), MAP_FIXED_NOREPLACE's find_vma_intersection, pte_alloc,
//   pgtable_trans_huge_deposit, hugetlb_fault.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "harness/kernel/page_backing.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/smaps.h"
#include "harness/kernel/vma.h"
#include "harness/workload.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

namespace mapbench {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1 << 30;
constexpr uint64_t kPmd = 2 * kMiB;
constexpr uint64_t kSpareVmas = 128;  // what the case and the harness may map beside the filler
constexpr size_t kFaultPages = 512;   // the fault region: 2 MiB of base pages
constexpr double kBackedEnough = 0.99;

enum class Workload { kMapUnmap, kFault, kMapsRead, kSplitMerge, kFixedNoreplace, kPageTables };
enum class Mechanism { kNoHuge, kThp, kHugetlb };

struct Config {
  Workload workload;
  uint64_t vmas = 0;    // filler VMAs (all but page_tables)
  std::string variant;  // maps_read: maps/smaps; fixed_noreplace: free/occupied
  Mechanism mechanism = Mechanism::kNoHuge;
  uint64_t size_mib = 0;  // page_tables
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

uint64_t MinorFaults() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_minflt);
}

std::string Fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

void* AnonMap(void* at, size_t size, int prot, int extra_flags) {
  return mmap(at, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
}

size_t OwnVmas(const RunContext& ctx) {
  return CountVmas(ctx.system.Read("/proc/self/maps").value_or(""));
}

// ---- the filler ----------------------------------------------------------------------

// `count` VMAs in one reservation of `count` base pages: odd pages PROT_READ, even pages
// PROT_NONE, so neighbours differ and cannot merge. Unmapped (all at once) with the object.
struct Filler {
  Mapping whole;
  uint64_t count = 0;
  uint64_t in_range = 0;      // VMAs /proc/self/maps lists in the reservation
  uint64_t process_vmas = 0;  // the whole process's VMAs, filler made
  std::string note;
};

uint64_t MaxMapCount(const RunContext& ctx) {
  return ParseUnsigned(ctx.system.ReadLine("/proc/sys/vm/max_map_count").value_or(""))
      .value_or(65530);
}

// nullopt when the filler fits under vm.max_map_count, else the skip reason.
std::optional<std::string> FillerDoesNotFit(const RunContext& ctx, uint64_t count) {
  const uint64_t limit = MaxMapCount(ctx), own = OwnVmas(ctx);
  if (count + own + kSpareVmas <= limit) return std::nullopt;
  return "needs " + std::to_string(count + own + kSpareVmas) + " VMAs (" + std::to_string(count) +
         " filler + the process's own " + std::to_string(own) + " + " + std::to_string(kSpareVmas) +
         " spare), above vm.max_map_count " + std::to_string(limit) +
         " (raise it for a run: --tune vm.max_map_count=" +
         std::to_string(std::max<uint64_t>(262144, 2 * count)) + ")";
}

// Empty on success, else the failing call.
std::string MakeFiller(const RunContext& ctx, uint64_t count, Filler* f) {
  const size_t page = PageSize();
  f->count = count;
  f->whole = Mapping(AnonMap(nullptr, count * page, PROT_NONE, MAP_NORESERVE), count * page);
  if (!f->whole.valid())
    return SysError("mmap(filler reservation, pages=" + std::to_string(count) + ")");
  for (uint64_t i = 1; i < count; i += 2) {
    if (mprotect(f->whole.data() + i * page, page, PROT_READ) != 0)
      return SysError("mprotect(filler page " + std::to_string(i) + " of " + std::to_string(count) +
                      ")");
  }
  const auto maps = ReadOwnMaps(ctx.system);
  const auto begin = reinterpret_cast<uintptr_t>(f->whole.data());
  f->in_range = VmasInRange(maps, begin, begin + count * page).size();
  f->process_vmas = maps.size();
  f->note = std::to_string(f->in_range) + " filler VMAs of " + std::to_string(count) +
            " in /proc/self/maps, " + std::to_string(f->process_vmas) + " in the process";
  return "";
}

// The rows' common ending: the filler's count decides config_ok, and it must still be there
// after the loop (recounted). `before` is the process's VMA count right before the loop.
// (The whole process's count is not compared: the harness may map memory of its own.)
// `placed_ok` false: the case's own mapping did not take the shape it claims.
void FinishVmaRow(benchmark::State& state, const RunContext& ctx, Outcome& outcome, const Filler& f,
                  size_t before, const std::string& extra_note = "", bool placed_ok = true) {
  outcome.config_ok = f.in_range == f.count && placed_ok;
  outcome.config = f.note + (extra_note.empty() ? "" : "; " + extra_note);
  const auto begin = reinterpret_cast<uintptr_t>(f.whole.data());
  const size_t still =
      VmasInRange(ReadOwnMaps(ctx.system), begin, begin + f.count * PageSize()).size();
  if (outcome.valid.value_or(false) && still != f.in_range) {
    outcome.valid = false;
    outcome.validation = "the filler had " + std::to_string(f.in_range) +
                         " VMAs before the loop and " + std::to_string(still) + " after it";
  } else if (outcome.valid.value_or(false)) {
    outcome.validation += "; filler still " + std::to_string(still) + " VMAs after the loop";
  }
  outcome.metrics.emplace_back("process_vmas", static_cast<double>(before));
  Report(state, outcome);
}

// ---- map_unmap -----------------------------------------------------------------------

void RunMapUnmap(benchmark::State& state, const RunContext& ctx, const Config& c) {
  if (auto why = FillerDoesNotFit(ctx, c.vmas)) return Skip(state, *why);
  Filler filler;
  if (std::string error = MakeFiller(ctx, c.vmas, &filler); !error.empty())
    return Skip(state, error);
  const size_t page = PageSize();
  // Where the kernel puts the page, and whether it got a VMA of its own (untimed, once).
  std::string placement;
  bool own_vma = false;
  {
    void* probe = AnonMap(nullptr, page, PROT_READ | PROT_WRITE, 0);
    if (probe == MAP_FAILED) return Skip(state, SysError("mmap(one page)"));
    const auto at = reinterpret_cast<uintptr_t>(probe);
    const auto found = VmasInRange(ReadOwnMaps(ctx.system), at, at + page);
    own_vma = found.size() == 1 && found[0].begin == at && found[0].end == at + page;
    placement = own_vma ? "the page gets a VMA of its own" : "the page merges with a neighbour VMA";
    munmap(probe, page);
  }
  const size_t before = OwnVmas(ctx);
  uint64_t map_ns = 0, unmap_ns = 0, ops = 0;
  std::string failure;
  void* last = nullptr;
  unsigned char residency = 0;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      const uint64_t t0 = NowNs();
      void* p = AnonMap(nullptr, page, PROT_READ | PROT_WRITE, 0);
      const uint64_t t1 = NowNs();
      if (p == MAP_FAILED) {
        if (failure.empty()) failure = SysError("mmap(one page)");
        continue;
      }
      if (munmap(p, page) != 0 && failure.empty()) failure = SysError("munmap(one page)");
      const uint64_t t2 = NowNs();
      map_ns += t1 - t0;
      unmap_ns += t2 - t1;
      last = p;
      ++ops;
    }
    measure.Stop();
  }
  errno = 0;
  if (last != nullptr && (mincore(last, page, &residency) == 0 || errno != ENOMEM) &&
      failure.empty())
    failure = "the last page is still mapped after munmap (mincore)";
  Outcome outcome;
  outcome.pages_per_op = 1;
  outcome.valid = failure.empty() && ops == static_cast<uint64_t>(state.iterations());
  outcome.validation = failure.empty() ? std::to_string(ops) +
                                             " mmap+munmap pairs succeeded; the last page is "
                                             "gone (mincore: ENOMEM)"
                                       : failure;
  const double per_op = ops ? 1.0 / static_cast<double>(ops) : 0;
  outcome.metrics = {{"map_ns_per_op", map_ns * per_op}, {"unmap_ns_per_op", unmap_ns * per_op}};
  // A merge with a neighbour would time vma_expand, not a new VMA: not the claimed case.
  FinishVmaRow(state, ctx, outcome, filler, before, placement, own_vma);
}

// ---- fault ---------------------------------------------------------------------------

void RunFault(benchmark::State& state, const RunContext& ctx, const Config& c) {
  if (auto why = FillerDoesNotFit(ctx, c.vmas)) return Skip(state, *why);
  Filler filler;
  if (std::string error = MakeFiller(ctx, c.vmas, &filler); !error.empty())
    return Skip(state, error);
  const size_t page = PageSize(), bytes = kFaultPages * page;
  Mapping region(AnonMap(nullptr, bytes, PROT_READ | PROT_WRITE, 0), bytes);
  if (!region.valid()) return Skip(state, SysError("mmap(fault region)"));
  if (madvise(region.data(), bytes, MADV_NOHUGEPAGE) != 0)
    return Skip(state, SysError("madvise(MADV_NOHUGEPAGE)"));
  const size_t before = OwnVmas(ctx);
  uint64_t ops = 0, seen = 0, emptied = 0;
  size_t index = 0;
  std::string failure;
  const uint64_t faults_before = MinorFaults();
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      if (index == kFaultPages) {
        measure.Pause();
        if (madvise(region.data(), bytes, MADV_DONTNEED) != 0 && failure.empty())
          failure = SysError("madvise(MADV_DONTNEED)");
        index = 0;
        ++emptied;
        measure.Resume();
      }
      seen |= __atomic_fetch_add(reinterpret_cast<uint64_t*>(region.data() + index * page), 1,
                                 __ATOMIC_RELAXED);
      ++index;
      ++ops;
    }
    measure.Stop();
  }
  const uint64_t faults = MinorFaults() - faults_before;
  if (failure.empty() && seen != 0)
    failure = "a fresh page did not read zero before its first write";
  if (failure.empty() && faults < ops)
    failure = std::to_string(faults) + " faults (getrusage) for " + std::to_string(ops) +
              " first touches";
  Outcome outcome;
  outcome.pages_per_op = 1;
  outcome.valid = failure.empty();
  outcome.validation = failure.empty()
                           ? std::to_string(ops) + " first touches, each page read zero, " +
                                 std::to_string(faults) + " faults (getrusage); region emptied " +
                                 std::to_string(emptied) + " times (untimed)"
                           : failure;
  outcome.metrics = {{"rusage_minor_faults_per_op", ops ? static_cast<double>(faults) / ops : 0}};
  FinishVmaRow(state, ctx, outcome, filler, before);
}

// ---- maps_read -----------------------------------------------------------------------

// Reads the whole file into `buffer` (grown untimed beforehand); returns bytes, or -1.
ssize_t ReadWhole(const char* path, std::vector<char>& buffer) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t used = 0;
  for (;;) {
    if (used == buffer.size()) {
      close(fd);
      return -2;  // the buffer is too small: the caller says so
    }
    const ssize_t got = read(fd, buffer.data() + used, buffer.size() - used);
    if (got < 0) {
      close(fd);
      return -1;
    }
    if (got == 0) break;
    used += static_cast<size_t>(got);
  }
  close(fd);
  return static_cast<ssize_t>(used);
}

// One VMA per line of maps; one "VmFlags:" line per VMA in smaps.
size_t EntriesIn(std::string_view text, bool smaps) {
  if (!smaps) return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  size_t count = 0;
  for (size_t at = text.find("\nVmFlags:"); at != std::string_view::npos;
       at = text.find("\nVmFlags:", at + 1)) {
    ++count;
  }
  return count;
}

void RunMapsRead(benchmark::State& state, const RunContext& ctx, const Config& c) {
  if (auto why = FillerDoesNotFit(ctx, c.vmas)) return Skip(state, *why);
  Filler filler;
  if (std::string error = MakeFiller(ctx, c.vmas, &filler); !error.empty())
    return Skip(state, error);
  const bool smaps = c.variant == "smaps";
  const std::string path = ctx.system.Resolve(smaps ? "/proc/self/smaps" : "/proc/self/maps");
  // Size the buffer from one untimed read; fault it in before timing.
  std::string first = ctx.system.Read(smaps ? "/proc/self/smaps" : "/proc/self/maps").value_or("");
  if (first.empty()) return Skip(state, "cannot read " + path);
  std::vector<char> buffer(2 * first.size() + (1 << 20), 1);
  uint64_t ops = 0, bytes = 0, short_reads = 0;
  std::string failure;
  uint64_t elapsed_ns = 0;
  // The VMAs the first read lists (the measurement's set-up may have mapped one since the
  // filler was counted); every later read must list as many, and the filler is recounted after.
  const size_t counted = OwnVmas(ctx);
  size_t before = 0;
  {
    Measurement measure(state, ctx);
    const uint64_t t0 = NowNs();
    for (auto _ : state) {
      const ssize_t got = ReadWhole(path.c_str(), buffer);
      if (got < 0) {
        if (failure.empty())
          failure = got == -2 ? "buffer too small for " + path : SysError("read(" + path + ")");
        continue;
      }
      // The VMAs listed, counted in every read (part of reading the file).
      const size_t listed = EntriesIn(std::string_view(buffer.data(), static_cast<size_t>(got)), smaps);
      if (ops == 0) before = listed;
      if (listed != before) ++short_reads;
      bytes += static_cast<uint64_t>(got);
      ++ops;
    }
    elapsed_ns = NowNs() - t0;
    measure.Stop();
  }
  if (failure.empty() && short_reads > 0)
    failure = std::to_string(short_reads) + " reads did not list the process's " +
              std::to_string(before) + " VMAs";
  if (failure.empty() && before < counted)
    failure = "a read listed " + std::to_string(before) + " VMAs, fewer than the " + std::to_string(counted) +
              " counted before the loop";
  Outcome outcome;
  outcome.bytes_per_op = ops ? static_cast<double>(bytes) / ops : 0;
  outcome.valid = failure.empty() && ops == static_cast<uint64_t>(state.iterations());
  outcome.validation = failure.empty() ? std::to_string(ops) + " reads of " + path +
                                             ", each listing all " + std::to_string(before) +
                                             " VMAs" + (smaps ? " (VmFlags lines)" : " (lines)")
                                       : failure;
  // The loop's real time per read and per VMA listed.
  outcome.metrics = {
      {"ns_per_vma", ops && before ? static_cast<double>(elapsed_ns) / ops / before : 0}};
  FinishVmaRow(state, ctx, outcome, filler, before);
}

// ---- split_merge ---------------------------------------------------------------------

void RunSplitMerge(benchmark::State& state, const RunContext& ctx, const Config& c) {
  if (auto why = FillerDoesNotFit(ctx, c.vmas)) return Skip(state, *why);
  Filler filler;
  if (std::string error = MakeFiller(ctx, c.vmas, &filler); !error.empty())
    return Skip(state, error);
  const size_t page = PageSize();
  // [guard ---p][4 pages rw-p][guard ---p]: the region's neighbours cannot merge with it.
  Mapping area(AnonMap(nullptr, 6 * page, PROT_NONE, MAP_NORESERVE), 6 * page);
  if (!area.valid()) return Skip(state, SysError("mmap(reservation)"));
  char* region = area.data() + page;
  if (AnonMap(region, 4 * page, PROT_READ | PROT_WRITE, MAP_FIXED) != region)
    return Skip(state, SysError("mmap(MAP_FIXED region)"));
  madvise(region, 4 * page, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < 4; ++i) *reinterpret_cast<uint64_t*>(region + i * page) = 0x5eed + i;
  char* middle = region + page;
  const auto begin = reinterpret_cast<uintptr_t>(region), end = begin + 4 * page;

  // One split and merge, each step checked in /proc/self/maps; before and after timing.
  auto check_steps = [&](const char* when) -> std::string {
    if (mprotect(middle, 2 * page, PROT_READ) != 0) return SysError("mprotect(split)");
    const auto split = VmasInRange(ReadOwnMaps(ctx.system), begin, end);
    if (mprotect(middle, 2 * page, PROT_READ | PROT_WRITE) != 0) return SysError("mprotect(merge)");
    const auto merged = VmasInRange(ReadOwnMaps(ctx.system), begin, end);
    const bool split_ok = split.size() == 3 && split[0].permissions == "rw-p" &&
                          split[1].permissions == "r--p" && split[2].permissions == "rw-p" &&
                          split[1].begin == begin + page && split[1].end == begin + 3 * page;
    const bool merged_ok = merged.size() == 1 && merged[0].begin == begin && merged[0].end == end &&
                           merged[0].permissions == "rw-p";
    if (!split_ok)
      return std::string(when) + ": the split left " + std::to_string(split.size()) +
             " VMAs, not rw-p r--p rw-p";
    if (!merged_ok)
      return std::string(when) + ": the merge left " + std::to_string(merged.size()) +
             " VMAs, not one rw-p";
    return "";
  };
  if (std::string error = check_steps("before timing"); !error.empty()) return Skip(state, error);

  const size_t before = OwnVmas(ctx);
  uint64_t split_ns = 0, merge_ns = 0, ops = 0, failed = 0;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      const uint64_t t0 = NowNs();
      failed += mprotect(middle, 2 * page, PROT_READ) != 0;
      const uint64_t t1 = NowNs();
      failed += mprotect(middle, 2 * page, PROT_READ | PROT_WRITE) != 0;
      const uint64_t t2 = NowNs();
      split_ns += t1 - t0;
      merge_ns += t2 - t1;
      ++ops;
    }
    measure.Stop();
  }
  std::string failure =
      failed ? std::to_string(failed) + " mprotect calls failed" : check_steps("after timing");
  for (size_t i = 0; failure.empty() && i < 4; ++i) {
    if (*reinterpret_cast<uint64_t*>(region + i * page) != 0x5eed + i)
      failure = "region contents changed";
  }
  Outcome outcome;
  outcome.pages_per_op = 2;  // PTEs changed twice per op
  outcome.valid = failure.empty();
  outcome.validation = failure.empty()
                           ? std::to_string(2 * ops) +
                                 " mprotect calls succeeded; /proc/self/maps showed rw-p r--p rw-p "
                                 "after a split and one rw-p VMA after the merge, before and after "
                                 "timing; contents intact"
                           : failure;
  const double per_op = ops ? 1.0 / static_cast<double>(ops) : 0;
  outcome.metrics = {{"split_ns_per_op", split_ns * per_op},
                     {"merge_ns_per_op", merge_ns * per_op}};
  FinishVmaRow(state, ctx, outcome, filler, before);
}

// ---- fixed_noreplace -----------------------------------------------------------------

void RunFixedNoreplace(benchmark::State& state, const RunContext& ctx, const Config& c) {
  if (auto why = FillerDoesNotFit(ctx, c.vmas)) return Skip(state, *why);
  Filler filler;
  if (std::string error = MakeFiller(ctx, c.vmas, &filler); !error.empty())
    return Skip(state, error);
  const size_t page = PageSize();
  const bool occupied = c.variant == "occupied";
  // [guard ---p][target][guard ---p]: the target page is a hole, or a rw-p page.
  Mapping area(AnonMap(nullptr, 3 * page, PROT_NONE, MAP_NORESERVE), 3 * page);
  if (!area.valid()) return Skip(state, SysError("mmap(reservation)"));
  char* target = area.data() + page;
  if (munmap(target, page) != 0) return Skip(state, SysError("munmap(hole)"));
  // Does the kernel know the flag? (Before 4.17 it is ignored: the address is a mere hint.)
  void* probe = AnonMap(target, page, PROT_READ | PROT_WRITE, MAP_FIXED_NOREPLACE);
  if (probe == MAP_FAILED) return Skip(state, SysError("mmap(MAP_FIXED_NOREPLACE, free address)"));
  if (probe != target) {
    munmap(probe, page);
    return Skip(state,
                "the kernel ignores MAP_FIXED_NOREPLACE (Linux before 4.17): it mapped elsewhere");
  }
  if (!occupied) munmap(target, page);
  const uint64_t mark = 0x6f636375706965;
  if (occupied) *reinterpret_cast<uint64_t*>(target) = mark;

  const size_t before = OwnVmas(ctx);
  uint64_t ops = 0, wrong = 0, eexist = 0, map_ns = 0;
  int other_errno = 0;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      const uint64_t t0 = NowNs();
      void* p = AnonMap(target, page, PROT_READ | PROT_WRITE, MAP_FIXED_NOREPLACE);
      const uint64_t t1 = NowNs();
      map_ns += t1 - t0;
      if (occupied) {
        if (p == MAP_FAILED && errno == EEXIST) {
          ++eexist;
        } else {
          ++wrong;
          if (p == MAP_FAILED)
            other_errno = errno;
          else if (p != target)
            munmap(p, page);
        }
      } else {
        if (p != target) {
          ++wrong;
          if (p == MAP_FAILED)
            other_errno = errno;
          else
            munmap(p, page);
        } else if (munmap(p, page) != 0) {
          ++wrong;
        }
      }
      ++ops;
    }
    measure.Stop();
  }
  std::string failure;
  if (wrong > 0) {
    failure = std::to_string(wrong) + " of " + std::to_string(ops) +
              (occupied ? " calls onto the occupied page did not fail with EEXIST"
                        : " calls did not map the free address exactly");
    if (other_errno) failure += " (" + std::string(std::strerror(other_errno)) + ")";
  }
  if (failure.empty() && occupied) {
    const auto at = reinterpret_cast<uintptr_t>(target);
    if (*reinterpret_cast<uint64_t*>(target) != mark)
      failure = "the occupied page's contents changed";
    else if (!RangeHasPermissions(ReadOwnMaps(ctx.system), at, at + page, "rw-p"))
      failure = "the occupied page is no longer one rw-p mapping";
  }
  if (failure.empty() && !occupied) {
    unsigned char residency = 0;
    errno = 0;
    if (mincore(target, page, &residency) == 0 || errno != ENOMEM)
      failure = "the free address is still mapped after the loop (mincore)";
  }
  if (occupied) munmap(target, page);
  Outcome outcome;
  outcome.pages_per_op = 1;
  outcome.valid = failure.empty();
  outcome.validation =
      failure.empty() ? (occupied ? std::to_string(eexist) +
                                        " calls failed with EEXIST; the page kept its contents and "
                                        "its rw-p mapping"
                                  : std::to_string(ops) +
                                        " calls mapped exactly the free address, "
                                        "each unmapped again (mincore: ENOMEM after)")
                      : failure;
  outcome.metrics = {{"map_ns_per_op", ops ? static_cast<double>(map_ns) / ops : 0}};
  FinishVmaRow(state, ctx, outcome, filler, before);
}

// ---- page_tables ---------------------------------------------------------------------

const char* MechanismName(Mechanism m) {
  switch (m) {
    case Mechanism::kNoHuge:
      return "nohugepage";
    case Mechanism::kThp:
      return "thp";
    case Mechanism::kHugetlb:
      return "hugetlb";
  }
  return "?";
}

uint64_t PageBytes(Mechanism m) { return m == Mechanism::kNoHuge ? PageSize() : kPmd; }

// A 2 MiB-aligned region of `bytes` mapped as the mechanism says; the reservation is
// exactly the region, so no page table is shared with a neighbour.
std::optional<std::string> MapPageTableRegion(Mechanism m, uint64_t bytes, Mapping* out) {
  const std::string len = "len=" + std::to_string(bytes);
  if (m == Mechanism::kHugetlb) {
    *out = Mapping(
        AnonMap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_HUGETLB | (21 << MAP_HUGE_SHIFT)),
        bytes);
    if (!out->valid()) return SysError("mmap(MAP_HUGETLB|MAP_HUGE_2MB, " + len + ")");
    return std::nullopt;
  }
  void* raw = AnonMap(nullptr, bytes + kPmd, PROT_NONE, MAP_NORESERVE);
  if (raw == MAP_FAILED) return SysError("mmap(reserve, " + len + ")");
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kPmd - 1) & ~(kPmd - 1);
  if (aligned > start) munmap(raw, aligned - start);
  if (start + bytes + kPmd > aligned + bytes)
    munmap(reinterpret_cast<void*>(aligned + bytes), start + bytes + kPmd - (aligned + bytes));
  *out = Mapping(reinterpret_cast<void*>(aligned), bytes);
  if (AnonMap(out->data(), bytes, PROT_READ | PROT_WRITE, MAP_FIXED) != out->data())
    return SysError("mmap(MAP_FIXED, " + len + ")");
  const int advice = m == Mechanism::kThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
  if (madvise(out->data(), bytes, advice) != 0)
    return SysError(m == Mechanism::kThp ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)");
  return std::nullopt;
}

// What the region's page tables may add, in tables of one base page each.
// Under AddressSanitizer (ci/sanitize) every touch also reads the region's shadow, 1/8 of
// its size, whose page tables VmPTE counts too; the check allows for them there.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

struct TableBounds {
  uint64_t pte_tables = 0;  // one per PMD-sized block mapped with base pages
  uint64_t upper_max = 0;   // PMD tables (one per PUD-sized block, +1 unaligned) and PUD
};

TableBounds Bounds(uint64_t bytes) {
  const uint64_t page = PageSize(), entries = page / 8;
  const uint64_t pte_span = page * entries;      // 2 MiB with 4 KiB pages
  const uint64_t pmd_span = pte_span * entries;  // 1 GiB
  return {(bytes + pte_span - 1) / pte_span, (bytes + pmd_span - 1) / pmd_span + 2};
}

void RunPageTables(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t bytes = c.size_mib * kMiB, page = PageSize();
  if (c.mechanism == Mechanism::kThp) {
    if (auto why = AnonThpUnavailable(ReadThpSettings(ctx.system), kPmd)) return Skip(state, *why);
  } else if (c.mechanism == Mechanism::kHugetlb) {
    if (auto why = HugetlbShortage(ReadHugetlbPool(ctx.system, kPmd), kPmd, bytes))
      return Skip(state, *why);
  }
  if (auto why = CheckMemory(ctx, bytes)) return Skip(state, *why);
  if (!ReadOwnPageTableBytes(ctx.system)) return Skip(state, "no VmPTE in /proc/self/status");

  const TableBounds bounds = Bounds(bytes);
  double table_bytes_sum = 0, worst_backing = 1;
  uint64_t ops = 0, low = UINT64_MAX, high = 0, seen = 0;
  std::string failure;
  const BackingKind kind = c.mechanism == Mechanism::kThp       ? BackingKind::kAnonThp
                           : c.mechanism == Mechanism::kHugetlb ? BackingKind::kHugetlb
                                                                : BackingKind::kBasePages;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      measure.Pause();
      const uint64_t pte_before = ReadOwnPageTableBytes(ctx.system).value_or(0);
      measure.Resume();
      Mapping region;
      if (auto error = MapPageTableRegion(c.mechanism, bytes, &region)) {
        if (failure.empty()) failure = *error;
        continue;
      }
      for (uint64_t o = 0; o < bytes; o += page)
        seen |=
            __atomic_fetch_add(reinterpret_cast<uint64_t*>(region.data() + o), 1, __ATOMIC_RELAXED);
      measure.Pause();
      const uint64_t pte_after = ReadOwnPageTableBytes(ctx.system).value_or(0);
      const uint64_t added = pte_after > pte_before ? pte_after - pte_before : 0;
      low = std::min(low, added);
      high = std::max(high, added);
      table_bytes_sum += static_cast<double>(added);
      auto fields = ReadSmapsForRange(ctx.system, region.data(), bytes);
      worst_backing = std::min(
          worst_backing,
          fields ? SmapsBackedFraction(*fields, kind, PageBytes(c.mechanism), bytes) : 0.0);
      measure.Resume();
      region.reset();
      ++ops;
    }
    measure.Stop();
  }
  if (failure.empty() && seen != 0) failure = "fresh memory did not read zero";
  // Plausible growth, in tables: base pages need every PTE table; THP either deposits one
  // per huge page (x86-64 does, so a later split needs no allocation) or needs none;
  // hugetlb needs none. Upper levels: up to upper_max tables on top.
  const uint64_t pte_min = c.mechanism == Mechanism::kNoHuge ? bounds.pte_tables : 0;
  const uint64_t pte_max = c.mechanism == Mechanism::kHugetlb ? 0 : bounds.pte_tables;
  const uint64_t shadow = kAddressSanitizer ? bounds.pte_tables / 8 + 2 : 0;
  const uint64_t min_bytes = pte_min * page, max_bytes = (pte_max + bounds.upper_max + shadow) * page;
  const double mean = ops ? table_bytes_sum / ops : 0;
  if (failure.empty() && ops > 0 && (low < min_bytes || high > max_bytes)) {
    failure = "VmPTE grew by " + std::to_string(low >> 10) + "-" + std::to_string(high >> 10) +
              " KiB, outside the " + std::to_string(min_bytes >> 10) + "-" +
              std::to_string(max_bytes >> 10) + " KiB the region's page tables need";
  }
  std::string how;
  if (c.mechanism == Mechanism::kThp && ops > 0) {
    how = low >= bounds.pte_tables * page
              ? "; a PTE table deposited per huge page (counted in VmPTE)"
              : "; no PTE tables (PMD entries only)";
  }
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(bytes);
  outcome.pages_per_op = static_cast<double>(bytes / page);
  outcome.valid = failure.empty() && ops > 0;
  outcome.validation = failure.empty() ? "VmPTE grew by " + std::to_string(low >> 10) + "-" +
                                             std::to_string(high >> 10) + " KiB per " +
                                             std::to_string(c.size_mib) +
                                             " MiB (needed: " + std::to_string(min_bytes >> 10) +
                                             "-" + std::to_string(max_bytes >> 10) + " KiB)" + how +
                                             "; every page read zero before its first write"
                                       : failure;
  outcome.config_ok = worst_backing >= kBackedEnough;
  outcome.config = std::string("smaps ") +
                   (kind == BackingKind::kAnonThp   ? "AnonHugePages"
                    : kind == BackingKind::kHugetlb ? "*_Hugetlb"
                                                    : "Rss without huge pages") +
                   " " + Fixed(100 * worst_backing, 1) + "% of the region (worst op)";
  outcome.metrics = {{"page_table_kib_per_gib", mean / 1024 / (static_cast<double>(bytes) / kGiB)},
                     {"backing_fraction", worst_backing}};
  Report(state, outcome);
}

// ---- cases ---------------------------------------------------------------------------

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kMapUnmap:
      return "map_unmap";
    case Workload::kFault:
      return "fault";
    case Workload::kMapsRead:
      return "maps_read";
    case Workload::kSplitMerge:
      return "split_merge";
    case Workload::kFixedNoreplace:
      return "fixed_noreplace";
    case Workload::kPageTables:
      return "page_tables";
  }
  return "?";
}

// Ops per repetition, fixed: Google Benchmark's own search for an iteration count would
// call the body (and rebuild the filler) several times.
int64_t OpsFor(const Config& c) {
  switch (c.workload) {
    case Workload::kMapUnmap:
    case Workload::kFixedNoreplace:
      return 2000;
    case Workload::kFault:
      return 4 * kFaultPages;
    case Workload::kSplitMerge:
      return 1000;
    case Workload::kMapsRead:
      // smaps walks the page tables of every VMA: a few ms even for the process's own ~50.
      if (c.variant == "smaps") return c.vmas >= 16384 ? 1 : 3;
      return std::clamp<int64_t>(10000 / (static_cast<int64_t>(c.vmas) + 50), 3, 200);
    case Workload::kPageTables:
      return 1;
  }
  return 1;
}

Case MakeCase(const Config& c, bool quick) {
  std::vector<Param> params;
  switch (c.workload) {
    case Workload::kMapsRead:
      params.push_back({"file", c.variant});
      break;
    case Workload::kFixedNoreplace:
      params.push_back({"target", c.variant});
      break;
    case Workload::kPageTables:
      params.push_back({"page_kib", std::to_string(PageBytes(c.mechanism) >> 10)});
      params.push_back({"mechanism", MechanismName(c.mechanism)});
      params.push_back({"size_mib", std::to_string(c.size_mib)});
      break;
    default:
      break;
  }
  if (c.workload != Workload::kPageTables) params.push_back({"vmas", std::to_string(c.vmas)});
  Case out;
  out.workload = WorkloadName(c.workload);
  out.params = params;
  out.body = [c](benchmark::State& s, const RunContext& ctx) {
    switch (c.workload) {
      case Workload::kMapUnmap:
        return RunMapUnmap(s, ctx, c);
      case Workload::kFault:
        return RunFault(s, ctx, c);
      case Workload::kMapsRead:
        return RunMapsRead(s, ctx, c);
      case Workload::kSplitMerge:
        return RunSplitMerge(s, ctx, c);
      case Workload::kFixedNoreplace:
        return RunFixedNoreplace(s, ctx, c);
      case Workload::kPageTables:
        return RunPageTables(s, ctx, c);
    }
  };
  const int64_t ops = OpsFor(c);
  out.configure = [ops, quick](benchmark::internal::Benchmark* b) {
    b->Iterations(ops);
    if (quick) b->Repetitions(3);
  };
  return out;
}

// Quick: 1 and 16k filler VMAs (fixed_noreplace at 1), page tables of 64 MiB. Full: 1, 64,
// 1k, 16k, 64k VMAs (64k skips under the default vm.max_map_count 65530) and 64 MiB + 1 GiB.
std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  const std::vector<uint64_t> counts =
      quick ? std::vector<uint64_t>{1, 16384} : std::vector<uint64_t>{1, 64, 1024, 16384, 65536};
  std::vector<Case> cases;
  for (uint64_t n : counts) cases.push_back(MakeCase({Workload::kMapUnmap, n, ""}, quick));
  for (uint64_t n : counts) cases.push_back(MakeCase({Workload::kFault, n, ""}, quick));
  for (const char* file : {"maps", "smaps"}) {
    for (uint64_t n : counts) cases.push_back(MakeCase({Workload::kMapsRead, n, file}, quick));
  }
  for (uint64_t n : counts) cases.push_back(MakeCase({Workload::kSplitMerge, n, ""}, quick));
  for (const char* target : {"free", "occupied"}) {
    for (uint64_t n : quick ? std::vector<uint64_t>{1} : counts)
      cases.push_back(MakeCase({Workload::kFixedNoreplace, n, target}, quick));
  }
  const std::vector<uint64_t> sizes =
      quick ? std::vector<uint64_t>{64} : std::vector<uint64_t>{64, 1024};
  for (uint64_t size : sizes) {
    for (Mechanism m : {Mechanism::kNoHuge, Mechanism::kThp, Mechanism::kHugetlb}) {
      cases.push_back(MakeCase({Workload::kPageTables, 0, "", m, size}, quick));
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "mapping_structures",
    "the VMA tree and page tables: mmap/munmap, faults, /proc/self/(s)maps, mprotect split/merge "
    "by "
    "VMA count; MAP_FIXED_NOREPLACE; page-table KiB per GiB for 4 KiB, THP, hugetlb",
    {"map_ns_per_op", "unmap_ns_per_op", "split_ns_per_op", "merge_ns_per_op",
     "rusage_minor_faults_per_op", "ns_per_vma", "process_vmas", "page_table_kib_per_gib",
     "backing_fraction"},
    Cases});

}  // namespace
}  // namespace mapbench
