// read_vs_mmap — reading a whole file with read(), pread() or through a mapping, and the
//   storage engineer's baselines: pread with O_DIRECT (odirect_pread) and buffered reads
//   through io_uring at queue depth 1 (io_uring_qd1).
// Timed: one pass over the file in blocks (sequential or shuffled order); for
//   mapping:per_pass the mmap, madvise and munmap calls are inside the pass; for
//   io_uring_qd1 each block is one IORING_OP_READ submitted and reaped (one
//   io_uring_enter per block), the ring made once, untimed.
// Untimed: file creation, warming, or eviction (fdatasync + POSIX_FADV_DONTNEED) and
//   a mincore residency check before every cold pass; for odirect_pread the O_DIRECT
//   open, the alignment probe (statx STATX_DIOALIGN, else the device's logical block
//   size) and the aligned buffer. O_DIRECT reads every block from the device whatever
//   the cache holds, so odirect_pread runs cold only; where the filesystem refuses
//   O_DIRECT or keeps files in memory (tmpfs) its rows are skipped with the reason, and
//   io_uring rows where io_uring_queue_init fails (kernel.io_uring_disabled, EPERM).
// Verified: every pass sums all words it consumed and compares with the file's known
//   checksum (io_uring: every completion's length checked too); cold rows record the
//   worst residency seen before a pass.
// Kernel paths: filemap_read/copy_to_user vs page faults, fault-around, readahead;
//   iomap direct I/O (ext4) for O_DIRECT; io_uring_enter -> io_read (inline when cached,
//   io-wq or async buffered read otherwise).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/direct_io.h"
#include "harness/kernel/resources.h"
#include "harness/measure/access.h"
#include "harness/measure/uring_reads.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

enum class Method { kRead, kPread, kMmap, kMmapCopy, kODirectPread, kUringQd1 };

struct Config {
  Method method;
  Pattern pattern;
  uint64_t block_kib;
  uint64_t file_mib;
  bool cold;
  int advice;             // MADV_NORMAL/SEQUENTIAL/RANDOM/WILLNEED
  bool keep_mapping;      // map once before timing instead of once per pass
};

bool IsMmap(Method m) { return m == Method::kMmap || m == Method::kMmapCopy; }

const char* MethodName(Method m) {
  switch (m) {
    case Method::kRead: return "read";
    case Method::kPread: return "pread";
    case Method::kMmap: return "mmap";
    case Method::kMmapCopy: return "mmap_copy";
    case Method::kODirectPread: return "odirect_pread";
    case Method::kUringQd1: return "io_uring_qd1";
  }
  return "?";
}

const char* AdviceName(int advice) {
  switch (advice) {
    case MADV_SEQUENTIAL: return "sequential";
    case MADV_RANDOM: return "random";
    case MADV_WILLNEED: return "willneed";
    default: return "none";
  }
}

// read()/pread() one pass: each block lands in `buffer`, then is summed.
bool ReadPass(const Config& c, int fd, uint64_t block, const std::vector<uint32_t>& order,
              char* buffer, uint64_t* sum) {
  bool sequential_read = c.method == Method::kRead && c.pattern == Pattern::kSequential;
  if (c.method == Method::kRead && lseek(fd, 0, SEEK_SET) != 0) return false;
  for (uint32_t index : order) {
    off_t offset = static_cast<off_t>(index * block);
    if (c.method == Method::kRead && !sequential_read && lseek(fd, offset, SEEK_SET) != offset) {
      return false;
    }
    ssize_t got = c.method == Method::kRead ? read(fd, buffer, block) : pread(fd, buffer, block, offset);
    if (got != static_cast<ssize_t>(block)) return false;
    *sum += SumWords(buffer, block);
  }
  return true;
}

uint64_t MapPass(const Config& c, const char* base, uint64_t block,
                 const std::vector<uint32_t>& order, char* buffer) {
  if (c.method == Method::kMmap) return SumBlocks(base, block, order);
  uint64_t sum = 0;
  for (uint32_t index : order) {
    std::memcpy(buffer, base + index * block, block);
    sum += SumWords(buffer, block);
  }
  return sum;
}

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.file_mib << 20;
  const uint64_t block = c.block_kib << 10;
  std::string error;
  const ScratchFile* file = ctx.scratch->File(size, &error);
  if (file == nullptr) return Skip(state, error);
  UniqueFd fd(open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Skip(state, SysError("open(" + file->path + ")"));
  if (auto why = CheckMemory(ctx, size); why && c.keep_mapping) return Skip(state, *why);

  const std::vector<uint32_t> order = BlockOrder(size / block, c.pattern);
  // The buffer every method reads into: page-aligned, and aligned as O_DIRECT asks.
  std::optional<DirectFile> direct;
  uint64_t alignment = PageSize();
  if (c.method == Method::kODirectPread) {
    direct = OpenDirectFile(file->path, ctx.system, block, &error);
    if (!direct) return Skip(state, error);
    alignment = std::max(alignment, direct->alignment.memory);
  }
  std::unique_ptr<UringReads> ring;
  if (c.method == Method::kUringQd1) {
    ring = UringReads::Create(1, ctx.system, &error);
    if (!ring) return Skip(state, error);
  }
  AlignedBuffer buffer(block, alignment);
  if (!buffer.valid()) return Skip(state, "posix_memalign(" + std::to_string(block) + "): out of memory");
  const int read_fd = direct ? direct->fd.get() : fd.get();
  auto uring_pass = [&](uint64_t* sum) {
    size_t next = 0;
    return ring->Read(
        read_fd, block, buffer.data(),
        [&](uint64_t* offset) {
          if (next == order.size()) return false;
          *offset = static_cast<uint64_t>(order[next++]) * block;
          return true;
        },
        [&](uint64_t, const char* data) { *sum += SumWords(data, block); });
  };
  auto map_file = [&]() {
    Mapping map(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0), size);
    if (map.valid() && c.advice != MADV_NORMAL) madvise(map.data(), size, c.advice);
    return map;
  };

  Mapping kept;
  if (c.cold) {
    if (auto why = EvictFromCache(fd.get())) return Skip(state, *why);
  } else {
    if (auto why = WarmCache(fd.get(), size)) return Skip(state, *why);
  }
  if (c.keep_mapping) {
    kept = map_file();
    if (!kept.valid()) return Skip(state, SysError("mmap(len=" + std::to_string(size) + ")"));
    benchmark::DoNotOptimize(SumWords(kept.data(), size));  // fault it in, untimed
  }
  auto resident = ResidentFraction(fd.get(), size, &error);
  if (!resident) return Skip(state, error);
  double worst_cold = *resident;  // cold: highest residency before a pass
  const double warm_start = *resident;

  bool valid = true;
  std::string failure;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      uint64_t sum = 0;
      if (ring) {
        if (auto why = uring_pass(&sum)) {
          failure = *why;
          valid = false;
        }
      } else if (!IsMmap(c.method)) {
        if (!ReadPass(c, read_fd, block, order, buffer.data(), &sum)) {
          failure = SysError(std::string(MethodName(c.method)) + "(block=" + std::to_string(block) + ")");
          valid = false;
        }
      } else if (c.keep_mapping) {
        sum = MapPass(c, kept.data(), block, order, buffer.data());
      } else {
        Mapping map = map_file();
        if (!map.valid()) {
          failure = SysError("mmap(len=" + std::to_string(size) + ")");
          valid = false;
        } else {
          sum = MapPass(c, map.data(), block, order, buffer.data());
        }
      }  // per-pass mapping is unmapped here, inside the timed pass
      // Each pass must re-read memory. Not DoNotOptimize(sum): in Google Benchmark 1.7.1 with
      // GCC it can hand back a different value (seen under ASan), and sum is checked below.
      benchmark::ClobberMemory();
      if (sum != file->checksum && failure.empty()) {
        valid = false;
        failure = "checksum mismatch";
      }
      if (c.cold) {
        measure.Pause();
        if (auto why = EvictFromCache(fd.get())) failure = *why;
        auto now = ResidentFraction(fd.get(), size, &error);
        worst_cold = std::max(worst_cold, now.value_or(1.0));
        measure.Resume();
      }
    }
    measure.Stop();
  }

  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size) / PageSize();
  outcome.valid = valid;
  outcome.validation = valid ? "checksum " + ChecksumText(file->checksum) + " matched every pass" : failure;
  const double seen = c.cold ? worst_cold : warm_start;
  outcome.config_ok = c.cold ? seen <= 0.01 : seen >= 0.99;
  char note[96];
  std::snprintf(note, sizeof(note), "%s: %.1f%% of the file resident before %s", c.cold ? "cold" : "warm",
                100 * seen, c.cold ? "a pass (worst)" : "the first pass");
  outcome.config = note;
  if (direct) {
    outcome.config += "; O_DIRECT, alignment " + std::to_string(direct->alignment.offset) + " bytes (" +
                      direct->alignment.source + "): every block read from the device";
  }
  outcome.metrics = {{"resident_fraction_before", seen}};
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  std::vector<Param> params = {{"method", MethodName(c.method)},
                               {"pattern", PatternName(c.pattern)},
                               {"block_kib", std::to_string(c.block_kib)},
                               {"file_mib", std::to_string(c.file_mib)},
                               {"cache", c.cold ? "cold" : "warm"},
                               {"advice", AdviceName(c.advice)},
                               {"mapping", !IsMmap(c.method) ? "none" : c.keep_mapping ? "kept" : "per_pass"}};
  return Case{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); }, {}};
}

// Which (cache, pattern, block) the storage baselines run at. O_DIRECT ignores the page
// cache, so odirect_pread runs cold only; the quick suite keeps one case of it (sequential
// 1 MiB blocks: a 4 KiB O_DIRECT pass over 64 MiB takes a second here) and two of
// io_uring_qd1 (warm: sequential 64 KiB and random 4 KiB, next to pread's).
bool Baseline(Method m, bool quick, bool cold, Pattern pattern, uint64_t block_kib) {
  if (m == Method::kODirectPread) {
    return cold && (!quick || (pattern == Pattern::kSequential && block_kib == 1024));
  }
  if (m == Method::kUringQd1) {
    return !quick || (!cold && ((pattern == Pattern::kSequential && block_kib == 64) ||
                                (pattern == Pattern::kRandom && block_kib == 4)));
  }
  return true;
}

// The full suite crosses every axis, except on the cold 1 GiB file: random reads time
// the disk's random IOPS (the crossover family does that by design) and took half the
// full suite; MADV_RANDOM is one major fault per page, 70 s a case, and the 256 MiB file
// shows the same per-page cost. The quick suite keeps each comparison once: every method
// and block size sequentially, 4 and 64 KiB at random, warm and cold, and the madvise
// hints on cold 64 KiB reads, where readahead decides the outcome. The storage baselines
// (odirect_pread, io_uring_qd1) follow Baseline().
std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  const std::vector<uint64_t> files = quick ? std::vector<uint64_t>{64} : std::vector<uint64_t>{16, 256, 1024};
  const std::vector<int> hints = {MADV_SEQUENTIAL, MADV_RANDOM, MADV_WILLNEED};
  std::vector<Case> cases;
  for (uint64_t file_mib : files) {
    for (bool cold : {false, true}) {
      for (Pattern pattern : {Pattern::kSequential, Pattern::kRandom}) {
        if (cold && pattern == Pattern::kRandom && file_mib > 256) continue;
        for (uint64_t block : {4, 64, 1024}) {
          if (quick && pattern == Pattern::kRandom && block == 1024) continue;
          for (Method m : {Method::kRead, Method::kPread, Method::kMmap, Method::kMmapCopy, Method::kODirectPread,
                           Method::kUringQd1}) {
            if (!Baseline(m, quick, cold, pattern, block)) continue;
            // 4 KiB O_DIRECT reads of 1 GiB are 262144 device reads a pass (16 s here), in
            // either order: the 256 MiB file shows the same per-read cost.
            if (m == Method::kODirectPread && block == 4 && file_mib > 256) continue;
            cases.push_back(MakeCase({m, pattern, block, file_mib, cold, MADV_NORMAL, false}));
            // The mapping a long-lived reader keeps: only memory traffic is left to time.
            // (quick: for mmap in place only; the copy adds the same memcpy either way)
            if (IsMmap(m) && !cold && (!quick || m == Method::kMmap))
              cases.push_back(MakeCase({m, pattern, block, file_mib, cold, MADV_NORMAL, true}));
            if (IsMmap(m) && (!quick || (cold && block == 64 && m == Method::kMmap))) {
              for (int hint : hints) {
                if (hint == MADV_RANDOM && cold && file_mib > 256) continue;
                // Quick keeps the hints that fit the pattern; the full suite shows the misfits.
                const bool misfit = (pattern == Pattern::kSequential && hint == MADV_RANDOM) ||
                                    (pattern == Pattern::kRandom && hint == MADV_SEQUENTIAL);
                if (quick && misfit) continue;
                cases.push_back(MakeCase({m, pattern, block, file_mib, cold, hint, false}));
              }
            }
          }
        }
      }
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{"read_vs_mmap",
                       "read()/pread() vs mmap in place or copying, warm and cold; O_DIRECT and io_uring baselines",
                       {"resident_fraction_before"}, Cases});

}  // namespace
}  // namespace mapbench
