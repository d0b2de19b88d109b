// crossover — when does mmap beat pread, and when does it collapse? 4 KiB reads of a file,
//   random or sequential, through pread or a shared read-only mapping (madvise none,
//   random or sequential), by 1 … all reader threads, inside a memory cgroup whose limit
//   makes the file 0.25x … 4x the memory it may cache. Beside them the storage engineer's
//   baselines: pread with O_DIRECT (odirect_pread), io_uring with O_DIRECT at queue depth 1
//   and 32 (io_uring_odirect_qd1/qd32: one ring per reader, that many reads in flight), and
//   buffered io_uring at depth 32 (io_uring_qd32). O_DIRECT reads every block from the
//   device, whatever the limit: no user-space cache is kept in front of it, so its rows
//   are the device's own 4 KiB random (or sequential) rate, the floor a cache must beat.
// Timed: one span of reading (one repetition); throughput and what the kernel did in
//   ~100 ms buckets go to series.csv: the cgroup's major faults, evictions and usage, TLB
//   shootdowns (system-wide), storage bytes read by this process.
// Untimed: a fresh cgroup per repetition, joined by this process; evicting the file;
//   one sequential pread pass over its first min(file, 7/8 of the limit) bytes, so a file
//   that fits starts cached and one that does not starts shortly before eviction (not for
//   O_DIRECT, which no cache serves); mapping the file; the O_DIRECT open with the device's
//   alignment (statx STATX_DIOALIGN, else the logical block size), the aligned buffers and
//   the rings, made before joining the cgroup.
// Verified: every block read is summed and compared with that block's known sum; the row
//   claims the file started cold (≤ 1% resident after eviction), that the cgroup evicted
//   pages (at least 0.1% of the limit) when the file is larger than the limit, and fewer
//   when it is at most half of it; for O_DIRECT instead that the page cache stayed out
//   (≤ 1% of the file resident after reading). io_uring: every completion's result is
//   checked (an error or a short read ends the row as invalid). Skipped with the reason:
//   O_DIRECT where the filesystem refuses it or keeps files in memory (tmpfs), io_uring
//   where io_uring_queue_init fails (kernel.io_uring_disabled, EPERM, ENOSYS).
// Kernel paths: filemap_read vs filemap_fault with read-around/readahead (VM_RAND_READ,
//   VM_SEQ_READ), memcg reclaim (shrink_folio_list; unmapping mapped folios needs rmap
//   walks and TLB flushes), mark_page_accessed vs the accessed bit; iomap direct I/O and
//   blk-mq for O_DIRECT; io_uring_enter/io_read (buffered misses: async buffered reads).
// Params: method (pread, mmap, odirect_pread, io_uring_odirect_qd1, io_uring_odirect_qd32,
//   io_uring_qd32), advice (none, random, sequential; pread: none), pattern
//   (random, seq), block_kib (4), file_mib, file_to_limit (file size / cgroup limit),
//   limit_mib, readers (threads).
// Metrics: steady_bytes_per_second (median of the last half of the buckets),
//   read_amplification (storage bytes read / bytes served), major_faults_per_gib,
//   tlb_shootdowns_per_gib (empty, and the note says so, where the kernel has no count:
//   arm64), cgroup_peak_mib, eviction_start_s (empty: no eviction).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/direct_io.h"
#include "harness/kernel/memory_cgroup.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/tlb_counts.h"
#include "harness/measure/parallel.h"
#include "harness/measure/uring_reads.h"
#include "harness/run/scratch.h"
#include "harness/run/series.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

constexpr uint64_t kBlock = 4096;
constexpr double kBucketSeconds = 0.1;

enum class Method { kPread, kMmap, kODirectPread, kUringDirectQd1, kUringDirectQd32, kUringQd32 };

const char* MethodName(Method m) {
  switch (m) {
    case Method::kPread: return "pread";
    case Method::kMmap: return "mmap";
    case Method::kODirectPread: return "odirect_pread";
    case Method::kUringDirectQd1: return "io_uring_odirect_qd1";
    case Method::kUringDirectQd32: return "io_uring_odirect_qd32";
    case Method::kUringQd32: return "io_uring_qd32";
  }
  return "?";
}

bool IsDirect(Method m) {
  return m == Method::kODirectPread || m == Method::kUringDirectQd1 || m == Method::kUringDirectQd32;
}

unsigned QueueDepth(Method m) {
  return m == Method::kUringDirectQd1 ? 1 : m == Method::kUringDirectQd32 || m == Method::kUringQd32 ? 32 : 0;
}

struct Config {
  Method method;
  int advice;  // MADV_NORMAL / MADV_RANDOM / MADV_SEQUENTIAL
  bool random;
  uint64_t file_mib;
  double file_to_limit;
  int readers;
  double span_s;
};

const char* AdviceName(int advice) {
  return advice == MADV_RANDOM ? "random" : advice == MADV_SEQUENTIAL ? "sequential" : "none";
}

uint64_t LimitBytes(const Config& c) {
  return static_cast<uint64_t>(static_cast<double>(c.file_mib << 20) / c.file_to_limit) & ~(kBlock - 1);
}

// The known sum of each 4 KiB block of a scratch file, computed once per process.
const std::vector<uint64_t>& BlockSums(uint64_t size) {
  static std::map<uint64_t, std::vector<uint64_t>> cache;
  std::vector<uint64_t>& sums = cache[size];
  if (sums.empty()) {
    sums.resize(size / kBlock);
    constexpr uint64_t kWords = kBlock / sizeof(uint64_t);
    for (uint64_t b = 0; b < sums.size(); ++b) {
      uint64_t sum = 0;
      for (uint64_t w = 0; w < kWords; ++w) sum += ScratchWord(b * kWords + w);
      sums[b] = sum;
    }
  }
  return sums;
}

// One reader's progress, on its own cache line: the sampler reads it while it runs.
struct alignas(64) ReaderState {
  std::atomic<uint64_t> bytes{0};
  uint64_t mismatches = 0;
  std::string error;
  WorkerCounts counts;
  AlignedBuffer buffers;              // kBlock (pread) or depth * kBlock (io_uring), aligned
  std::unique_ptr<UringReads> ring;   // io_uring methods
};

struct Shared {
  const Config* config;
  const RunContext* ctx;
  int fd;
  const char* map;  // nullptr: pread
  const std::vector<uint64_t>* sums;
  uint64_t seed;
  std::atomic<bool> stop{false};
};

void Reader(Shared& shared, int index, ReaderState& state) {
  const Config& c = *shared.config;
  const uint64_t blocks = shared.sums->size();
  // Sequential readers each scan their own slice of the file, round and round.
  const uint64_t first = blocks * index / c.readers, last = blocks * (index + 1) / c.readers;
  uint64_t next = first;
  uint64_t random = shared.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(index) + 1;
  char* buffer = state.buffers.data();
  auto pick = [&]() {
    if (c.random) {
      random ^= random << 13, random ^= random >> 7, random ^= random << 17;  // xorshift64
      return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * blocks) >> 64);
    }
    const uint64_t block = next;
    next = next + 1 == last ? first : next + 1;
    return block;
  };
  CounterGroup group(shared.ctx->counters);
  group.Reset();
  group.Enable();
  if (state.ring) {
    auto failure = state.ring->Read(
        shared.fd, kBlock, buffer,
        [&](uint64_t* offset) {
          if (shared.stop.load(std::memory_order_relaxed)) return false;
          *offset = pick() * kBlock;
          return true;
        },
        [&](uint64_t offset, const char* data) {
          if (SumWords(data, kBlock) != (*shared.sums)[offset / kBlock]) ++state.mismatches;
          state.bytes.fetch_add(kBlock, std::memory_order_relaxed);
        });
    if (failure) state.error = *failure;
  }
  while (!state.ring && !shared.stop.load(std::memory_order_relaxed)) {
    const uint64_t block = pick();
    uint64_t sum;
    if (shared.map != nullptr) {
      sum = SumWords(shared.map + block * kBlock, kBlock);
    } else {
      const ssize_t got = pread(shared.fd, buffer, kBlock, static_cast<off_t>(block * kBlock));
      if (got != static_cast<ssize_t>(kBlock)) {
        state.error = got < 0 ? SysError("pread(block " + std::to_string(block) + ")")
                              : "pread(block " + std::to_string(block) + "): short read of " + std::to_string(got) +
                                    " bytes";
        break;
      }
      sum = SumWords(buffer, kBlock);
    }
    if (sum != (*shared.sums)[block]) ++state.mismatches;
    state.bytes.fetch_add(kBlock, std::memory_order_relaxed);
  }
  group.Disable();
  state.counts = ToWorkerCounts(group.Read());
}

// What the sampler reads at each bucket's end.
struct Sample {
  double t_s = 0;
  uint64_t bytes = 0;
  uint64_t usage = 0;
  uint64_t major_faults = 0;
  uint64_t evicted_pages = 0;
  std::optional<uint64_t> shootdowns;
  bool shootdowns_countable = false;  // the kernel counts them at all (x86)
  uint64_t storage_read = 0;
};

uint64_t StorageReadBytes(const RunContext& ctx) {
  auto io = ParseMeminfo(ctx.system.Read("/proc/self/io").value_or(""));  // "read_bytes: N"
  return io.count("read_bytes") ? io["read_bytes"] : 0;
}

Sample TakeSample(const RunContext& ctx, const MemoryLimit& limit, const std::vector<ReaderState>& readers,
                  double t_s) {
  Sample s;
  s.t_s = t_s;
  for (const ReaderState& r : readers) s.bytes += r.bytes.load(std::memory_order_relaxed);
  s.usage = limit.UsageBytes().value_or(0);
  std::map<std::string, uint64_t> stat = limit.Stat();
  s.major_faults = stat["pgmajfault"];
  s.evicted_pages = stat["evicted_pages"];
  const TlbCounts tlb = ReadTlbCounts(ctx.system);
  s.shootdowns = tlb.shootdowns;
  s.shootdowns_countable = tlb.countable;
  s.storage_read = StorageReadBytes(ctx);
  return s;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

uint64_t Delta(uint64_t after, uint64_t before) { return after >= before ? after - before : 0; }

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.file_mib << 20;
  const uint64_t limit_bytes = LimitBytes(c);
  std::string error;
  if (auto why = CheckMemory(ctx, std::min(size, limit_bytes) + size / kBlock * sizeof(uint64_t))) {
    return Skip(state, *why);
  }
  const ScratchFile* file = ctx.scratch->File(size, &error);
  if (file == nullptr) return Skip(state, error);
  UniqueFd fd(open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Skip(state, SysError("open(" + file->path + ")"));
  const bool direct_io = IsDirect(c.method);
  std::optional<DirectFile> direct;
  if (direct_io) {
    direct = OpenDirectFile(file->path, ctx.system, kBlock, &error);
    if (!direct) return Skip(state, error);
  }
  const std::vector<uint64_t>& sums = BlockSums(size);

  // Everything the case allocates is allocated before it joins the cgroup, so the
  // limit is spent on the page cache.
  std::vector<ReaderState> readers(c.readers);
  const unsigned depth = QueueDepth(c.method);
  const uint64_t alignment = std::max<uint64_t>(PageSize(), direct ? direct->alignment.memory : 0);
  for (ReaderState& r : readers) {
    r.buffers = AlignedBuffer(kBlock * std::max(1u, depth), alignment);
    if (!r.buffers.valid()) return Skip(state, "posix_memalign: out of memory");
    if (depth > 0) {
      r.ring = UringReads::Create(depth, ctx.system, &error);
      if (!r.ring) return Skip(state, error);
    }
  }
  std::vector<Sample> samples;
  samples.reserve(static_cast<size_t>(c.span_s / kBucketSeconds) + 16);
  std::unique_ptr<MemoryLimit> limit = MemoryLimit::Enter(limit_bytes, &error);
  if (!limit) return Skip(state, error);
  if (auto why = EvictFromCache(fd.get())) return Skip(state, *why);
  auto cold = ResidentFraction(fd.get(), size, &error);
  if (!cold) return Skip(state, error);
  const uint64_t baseline = limit->UsageBytes().value_or(0);

  // Fill: the first min(file, 7/8 of the limit), sequentially, charged to the cgroup.
  // Through its own descriptor, so the measured one starts with fresh readahead state.
  const uint64_t fill = direct_io ? 0 : std::min(size, limit_bytes / 8 * 7 / kBlock * kBlock);
  {
    UniqueFd fill_fd(open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
    std::vector<char> chunk(1 << 20);
    for (uint64_t offset = 0; offset < fill; offset += chunk.size()) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), fill - offset));
      if (pread(fill_fd.get(), chunk.data(), want, static_cast<off_t>(offset)) != static_cast<ssize_t>(want)) {
        return Skip(state, SysError("pread(fill)"));
      }
    }
  }
  const std::map<std::string, uint64_t> after_fill = limit->Stat();

  Mapping map;
  if (c.method == Method::kMmap) {
    map = Mapping(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0), size);
    if (!map.valid()) return Skip(state, SysError("mmap(len=" + std::to_string(size) + ")"));
    if (c.advice != MADV_NORMAL && madvise(map.data(), size, c.advice) != 0) {
      return Skip(state, SysError(std::string("madvise(") + AdviceName(c.advice) + ")"));
    }
  }
  static uint64_t repetition = 0;
  Shared shared{&c, &ctx, direct ? direct->fd.get() : fd.get(), map.valid() ? map.data() : nullptr, &sums,
                ++repetition};

  std::vector<std::thread> threads;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      samples.push_back(TakeSample(ctx, *limit, readers, 0));
      const auto start = std::chrono::steady_clock::now();
      for (int r = 0; r < c.readers; ++r) threads.emplace_back(Reader, std::ref(shared), r, std::ref(readers[r]));
      for (int bucket = 1; bucket * kBucketSeconds <= c.span_s + 1e-9; ++bucket) {
        std::this_thread::sleep_until(start + std::chrono::duration<double>(bucket * kBucketSeconds));
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        samples.push_back(TakeSample(ctx, *limit, readers, t));
      }
      shared.stop.store(true, std::memory_order_relaxed);
      for (std::thread& t : threads) t.join();
    }
    measure.Stop();
  }
  const std::optional<uint64_t> peak = limit->PeakBytes();
  // O_DIRECT's claim: the page cache stayed out of it.
  const double resident_after = direct_io ? ResidentFraction(fd.get(), size, &error).value_or(1.0) : 1.0;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  uint64_t bytes = 0, mismatches = 0;
  std::string failure;
  for (ReaderState& r : readers) {
    bytes += r.bytes.load();
    mismatches += r.mismatches;
    if (failure.empty()) failure = r.error;
    AddWorkerCounts(state.counters, state.thread_index(), ctx.counters, r.counts);
  }
  const char* cgroup_version = limit->v2() ? "v2" : "v1";
  map.reset();
  limit.reset();  // leave and remove the cgroup before reporting

  // Buckets: rates and per-bucket counts, and the row's summary of them.
  std::vector<SeriesPoint> points;
  std::vector<double> rates;
  // Eviction, not the few pages a thread's stack gives back: 0.1% of the limit.
  const uint64_t eviction = std::max<uint64_t>(64, limit_bytes / kBlock / 1000);
  std::optional<double> eviction_start;
  if (Delta(first.evicted_pages, after_fill.count("evicted_pages") ? after_fill.at("evicted_pages") : 0) >=
      eviction) {
    eviction_start = 0;  // the fill already evicted
  }
  for (size_t i = 1; i < samples.size(); ++i) {
    const Sample& a = samples[i - 1];
    const Sample& b = samples[i];
    const double dt = b.t_s - a.t_s;
    if (dt <= 0) continue;
    const double rate = static_cast<double>(Delta(b.bytes, a.bytes)) / dt;
    rates.push_back(rate);
    const uint64_t evicted = Delta(b.evicted_pages, a.evicted_pages);
    if (evicted >= eviction && !eviction_start) eviction_start = a.t_s;
    points.push_back({b.t_s, "bytes_per_second", rate});
    points.push_back({b.t_s, "major_faults", static_cast<double>(Delta(b.major_faults, a.major_faults))});
    points.push_back({b.t_s, "evicted_pages", static_cast<double>(evicted)});
    points.push_back({b.t_s, "cgroup_usage_mib", static_cast<double>(b.usage) / (1 << 20)});
    points.push_back({b.t_s, "disk_read_bytes", static_cast<double>(Delta(b.storage_read, a.storage_read))});
    if (a.shootdowns && b.shootdowns) {
      points.push_back({b.t_s, "tlb_shootdowns", static_cast<double>(Delta(*b.shootdowns, *a.shootdowns))});
    }
  }
  const std::string series_error = ReportSeries(points);

  const double gib = static_cast<double>(bytes) / (1ull << 30);
  const uint64_t evicted = Delta(last.evicted_pages, first.evicted_pages);
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(bytes);
  outcome.pages_per_op = static_cast<double>(bytes) / PageSize();
  outcome.valid = failure.empty() && mismatches == 0 && bytes > 0;
  outcome.validation =
      !failure.empty() ? failure
      : mismatches > 0 ? std::to_string(mismatches) + " of " + std::to_string(bytes / kBlock) +
                             " blocks read did not match their known sum"
      : bytes == 0     ? "no block was read"
                       : "all " + std::to_string(bytes / kBlock) + " blocks read matched their known sums";
  const bool over = c.file_to_limit > 1, fits = c.file_to_limit <= 0.5;
  const bool evicted_as_claimed = direct_io ? resident_after <= 0.01
                                  : over    ? evicted >= eviction
                                  : fits    ? evicted < eviction
                                            : true;
  outcome.config_ok = *cold <= 0.01 && evicted_as_claimed && series_error.empty();
  char note[256];
  std::snprintf(note, sizeof(note),
                "%.1f%% resident after eviction; cgroup %s limit %llu MiB, %llu MiB in use before the "
                "fill; %llu pages evicted while reading%s%s",
                100 * *cold, cgroup_version, static_cast<unsigned long long>(limit_bytes >> 20),
                static_cast<unsigned long long>(baseline >> 20), static_cast<unsigned long long>(evicted),
                series_error.empty() ? "" : "; series not written: ", series_error.c_str());
  outcome.config = note;
  if (direct_io) {
    char direct_note[192];
    std::snprintf(direct_note, sizeof(direct_note),
                  "; O_DIRECT, alignment %llu bytes (%s), no fill: %.1f%% of the file resident after reading",
                  static_cast<unsigned long long>(direct->alignment.offset), direct->alignment.source.c_str(),
                  100 * resident_after);
    outcome.config += direct_note;
  }
  if (!first.shootdowns_countable) outcome.config += std::string("; ") + kTlbCountNotAvailable;
  const std::vector<double> steady(rates.begin() + static_cast<long>(rates.size() / 2), rates.end());
  outcome.metrics = {
      {"steady_bytes_per_second", Median(steady)},
      {"read_amplification", bytes ? static_cast<double>(Delta(last.storage_read, first.storage_read)) / bytes : 0},
      {"major_faults_per_gib", gib > 0 ? Delta(last.major_faults, first.major_faults) / gib : 0},
      {"cgroup_peak_mib", static_cast<double>(peak.value_or(0)) / (1 << 20)}};
  if (first.shootdowns && last.shootdowns && gib > 0) {
    outcome.metrics.push_back({"tlb_shootdowns_per_gib", Delta(*last.shootdowns, *first.shootdowns) / gib});
  }
  if (eviction_start) outcome.metrics.push_back({"eviction_start_s", *eviction_start});
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  char ratio[16];
  std::snprintf(ratio, sizeof(ratio), "%g", c.file_to_limit);
  std::vector<Param> params = {{"method", MethodName(c.method)},
                               {"advice", AdviceName(c.advice)},
                               {"pattern", c.random ? "random" : "seq"},
                               {"block_kib", "4"},
                               {"file_mib", std::to_string(c.file_mib)},
                               {"file_to_limit", ratio},
                               {"limit_mib", std::to_string(LimitBytes(c) >> 20)},
                               {"readers", std::to_string(c.readers)}};
  Case out{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); }, {}};
  // One repetition is one span of reading; Google Benchmark must not run it more.
  out.configure = [](benchmark::internal::Benchmark* b) { b->Iterations(1); };
  return out;
}

// 1, 2, then doubling up to every CPU.
std::vector<int> ReaderCounts() {
  const int cpus = static_cast<int>(std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN)));
  std::vector<int> counts = {1};
  for (int n = 2; n < cpus; n *= 2) counts.push_back(n);
  if (cpus > 1) counts.push_back(cpus);
  return counts;
}

// The quick suite draws the map for random reads of a small file in short spans, with
// the hints that matter there (none, random); the full suite adds MADV_SEQUENTIAL and
// sequential reads, and reads a 1 GiB file for longer. The storage baselines run on the
// whole grid in the full suite; the quick suite keeps odirect_pread (depth 1) and
// io_uring_odirect_qd32 for one reader at the largest ratio only (O_DIRECT does not depend
// on the limit; each case costs about 2 s).
std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  const uint64_t file_mib = quick ? 128 : 1024;
  const double span_s = quick ? 0.2 : 2.0;
  std::vector<int> hints = {MADV_NORMAL, MADV_RANDOM};
  if (!quick) hints.push_back(MADV_SEQUENTIAL);
  std::vector<Case> cases;
  for (bool random : {true, false}) {
    if (quick && !random) continue;
    for (double ratio : {0.25, 0.5, 1.0, 2.0, 4.0}) {
      for (int readers : ReaderCounts()) {
        cases.push_back(MakeCase({Method::kPread, MADV_NORMAL, random, file_mib, ratio, readers, span_s}));
        for (int advice : hints) {
          cases.push_back(MakeCase({Method::kMmap, advice, random, file_mib, ratio, readers, span_s}));
        }
        // The baselines answer the database question, random reads; O_DIRECT caches nothing, so
        // its ratio matters little (1x and 4x), the buffered io_uring's does (every ratio).
        if (!random || (quick && (ratio != 4.0 || readers != 1))) continue;
        for (Method m : {Method::kODirectPread, Method::kUringDirectQd1, Method::kUringDirectQd32, Method::kUringQd32}) {
          if (quick && (m == Method::kUringQd32 || m == Method::kUringDirectQd1)) continue;
          if (m != Method::kUringQd32 && ratio != 1.0 && ratio != 4.0) continue;
          cases.push_back(MakeCase({m, MADV_NORMAL, random, file_mib, ratio, readers, span_s}));
        }
      }
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "crossover",
    "mmap vs pread by file size over a memory cgroup limit (0.25x..4x), readers and madvise hint; O_DIRECT and "
    "io_uring baselines",
    {"steady_bytes_per_second", "read_amplification", "major_faults_per_gib", "tlb_shootdowns_per_gib",
     "cgroup_peak_mib", "eviction_start_s"},
    Cases,
    // ns_per_op spans the whole fixed stretch, warm-up and eviction included.
    "steady_bytes_per_second"});

}  // namespace
}  // namespace mapbench
