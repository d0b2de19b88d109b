// sharing — MAP_SHARED vs MAP_PRIVATE, file-backed and anonymous: reading, first
// writes, and writes after fork (copy-on-write), on each side of the fork.
// Timed (phases are metrics, the op is their sum):
//   op:read         mmap, sum every word, munmap ("map", "touch", "unmap").
//   op:first_write  mmap, store one word per base page, munmap ("map", "touch", "unmap").
//   op:fork_write_parent  fork, then the parent stores one word per page while the
//     child still holds the pages ("fork", "write").
//   op:fork_write_child   fork, the child stores one word per page and exits, the parent
//     waits ("fork", "wait"); the child times its stores and counts its faults itself
//     (clock + getrusage: the parent's counters do not follow it) and reports them
//     through a pipe (child_* metrics).
// Untimed: file creation and warming, the pre-fork touch, every check below, and for
//   shared file writes an fdatasync after each pass (the next pass writes clean pages).
// Verified every pass: read sums equal the file's checksum (zero for anonymous memory);
//   the stored words read back; a private write never reaches the file and a shared one
//   does (the file re-read through a separate descriptor); after fork the other process
//   sees the write only through MAP_SHARED (the child checks the parent's write and
//   reports; the parent checks the child's). Per pass only the stored words are checked;
//   after the loop every word of the region and of the file is.
// Kernel paths: filemap fault-around, do_cow_fault, do_wp_page copy vs reuse,
//   shmem faults, page_mkwrite, fork's page-table copy (skipped for shared VMAs).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/smaps.h"
#include "harness/measure/file_content.h"
#include "harness/measure/phases.h"
#include "harness/process/child_process.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

enum class Op { kRead, kFirstWrite, kForkWriteParent, kForkWriteChild };

const char* OpName(Op op) {
  switch (op) {
    case Op::kRead:
      return "read";
    case Op::kFirstWrite:
      return "first_write";
    case Op::kForkWriteParent:
      return "fork_write_parent";
    case Op::kForkWriteChild:
      return "fork_write_child";
  }
  return "?";
}

struct Config {
  Op op;
  bool file;    // file-backed, else anonymous
  bool shared;  // MAP_SHARED, else MAP_PRIVATE
  uint64_t size_mib;
};

// The phases of each op; fork rows use the first two indices as fork and write/wait.
const std::vector<std::string> kMapPhases = {"map", "touch", "unmap"};
const std::vector<std::string> kParentPhases = {"fork", "write"};
const std::vector<std::string> kChildPhases = {"fork", "wait"};
enum Phase : size_t { kMap = 0, kTouch = 1, kUnmap = 2, kFork = 0, kWrite = 1, kWait = 1 };

// What the mapping holds when generation g's words were stored over the background.
Expected Stamped(const Config& c, uint64_t generation) {
  return Expected{generation, PageSize() / 8, c.file ? std::optional<uint64_t>(0) : std::nullopt};
}

// The per-pass check looks at the stored words only (where a stale or leaked write
// shows); every word is checked once after the timed loop.
Expected WrittenOnly(Expected e) {
  e.written_only = true;
  return e;
}

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.size_mib << 20, pages = size / PageSize();
  const bool fork_op = c.op == Op::kForkWriteParent || c.op == Op::kForkWriteChild;
  // Fork rows hold two copies of a private region; file rows add the page cache.
  const uint64_t memory = size * ((fork_op ? 2 : 1) + (c.file ? 1 : 0));
  if (auto why = CheckMemory(ctx, memory)) return Skip(state, *why);

  std::string error;
  UniqueFd read_fd;                   // op:read on a file: the shared scratch file, read only
  std::optional<GenerationFile> own;  // writes: a file of this case's own
  uint64_t read_checksum = 0;
  int fd = -1;
  if (c.file && c.op == Op::kRead) {
    const ScratchFile* scratch = ctx.scratch->File(size, &error);
    if (scratch == nullptr) return Skip(state, error);
    read_fd.reset(open(scratch->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!read_fd.valid()) return Skip(state, SysError("open(" + scratch->path + ")"));
    if (auto why = WarmCache(read_fd.get(), size)) return Skip(state, *why);
    read_checksum = scratch->checksum;
    fd = read_fd.get();
  } else if (c.file) {
    own = MakeGenerationFile(ctx.scratch->path(), size, 2 << 20, &error);  // cached after writing
    if (!own) return Skip(state, error);
    fd = own->fd.get();
  }
  const int prot = c.op == Op::kRead ? PROT_READ : PROT_READ | PROT_WRITE;
  const int flags = (c.shared ? MAP_SHARED : MAP_PRIVATE) | (c.file ? 0 : MAP_ANONYMOUS);
  auto map = [&]() { return Mapping(mmap(nullptr, size, prot, flags, fd, 0), size); };

  Phases phases(ctx, c.op == Op::kForkWriteParent  ? kParentPhases
                     : c.op == Op::kForkWriteChild ? kChildPhases
                                                   : kMapPhases);
  std::string failure;
  auto fail = [&](const std::string& why) {
    if (failure.empty()) failure = why;
  };
  uint64_t generation = 1, passes = 0;
  double child_ns = 0, child_minor = 0, child_major = 0;
  std::optional<std::map<std::string, uint64_t>> smaps;
  Mapping region;  // fork rows: the region lives across passes

  if (fork_op) {
    region = map();
    if (!region.valid()) return Skip(state, SysError("mmap(len=" + std::to_string(size) + ")"));
    StampWords(region.data(), size, 0, Stamped(c, generation));  // every page faulted in
  }
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      ++passes;
      const uint64_t g = ++generation;
      if (c.op == Op::kRead || c.op == Op::kFirstWrite) {
        phases.Begin(kMap);
        Mapping m = map();
        phases.End(kMap);
        if (!m.valid()) {
          fail(SysError("mmap(len=" + std::to_string(size) + ")"));
          continue;
        }
        phases.Begin(kTouch);
        uint64_t sum = 0;
        if (c.op == Op::kRead) {
          sum = SumWords(m.data(), size);
        } else {
          StampWords(m.data(), size, 0, Stamped(c, g));
        }
        phases.End(kTouch);
        // Each pass must re-read memory. Not DoNotOptimize(sum): in Google Benchmark 1.7.1 with
        // GCC it can hand back a different value (seen under ASan), and sum is checked below.
        benchmark::ClobberMemory();
        if (c.op == Op::kRead && sum != (c.file ? read_checksum : 0))
          fail("read sum mismatch in pass " + std::to_string(passes));
        if (c.op == Op::kFirstWrite) {
          measure.Pause();
          if (auto wrong = CheckRegion(m.data(), size, 0, WrittenOnly(Stamped(c, g))))
            fail("mapping " + *wrong);
          measure.Resume();
        }
        phases.Begin(kUnmap);
        if (m.reset() != 0) fail(SysError("munmap"));
        phases.End(kUnmap);
        if (c.op == Op::kFirstWrite && c.file) {
          measure.Pause();
          // Private: the file keeps generation 0; shared: it holds this pass's words.
          const Expected in_file = WrittenOnly(c.shared ? Stamped(c, g) : Stamped(c, 0));
          if (auto wrong = CheckFile(own->check.get(), 0, size, in_file)) {
            fail(std::string(c.shared ? "shared write missing: " : "private write leaked: ") +
                 *wrong);
          }
          // The next pass writes to clean pages again, as a first write would.
          if (c.shared && fdatasync(fd) != 0) fail(SysError("fdatasync"));
          measure.Resume();
        }
        continue;
      }

      if (c.op == Op::kForkWriteParent) {
        // The child waits until the parent has written, then checks what it sees.
        const Expected child_view = WrittenOnly(Stamped(c, c.shared ? g : g - 1));
        char* base = region.data();
        phases.Begin(kFork);
        auto child = ChildProcess::Start(
            [&](ChildProcess::Link& link, std::string* err) -> std::vector<double> {
              if (!link.WaitForParent()) *err = "parent did not release the child";
              if (auto wrong = CheckRegion(base, size, 0, child_view))
                *err = "child sees " + *wrong;
              return {};
            },
            &error);
        phases.End(kFork);
        if (!child) {
          fail(error);
          continue;
        }
        phases.Begin(kWrite);
        StampWords(base, size, 0, Stamped(c, g));
        phases.End(kWrite);
        measure.Pause();
        child->Release();
        ChildReport report = child->Wait();
        if (!report.ok) fail(report.error);
        if (auto wrong = CheckRegion(base, size, 0, WrittenOnly(Stamped(c, g))))
          fail("parent sees " + *wrong);
        measure.Resume();
        continue;
      }

      // op:fork_write_child: the child writes and measures itself; the parent waits.
      char* base = region.data();
      phases.Begin(kFork);
      auto child = ChildProcess::Start(
          [&](ChildProcess::Link&, std::string* err) -> std::vector<double> {
            const SelfUsage before = ReadSelfUsage();
            const uint64_t start = MonotonicNs();
            StampWords(base, size, 0, Stamped(c, g));
            const uint64_t ns = MonotonicNs() - start;
            const SelfUsage after = ReadSelfUsage();
            if (auto wrong = CheckRegion(base, size, 0, WrittenOnly(Stamped(c, g))))
              *err = "child sees " + *wrong;
            return {static_cast<double>(ns),
                    static_cast<double>(after.minor_faults - before.minor_faults),
                    static_cast<double>(after.major_faults - before.major_faults)};
          },
          &error);
      phases.End(kFork);
      if (!child) {
        fail(error);
        continue;
      }
      phases.Begin(kWait);
      ChildReport report = child->Wait();
      phases.End(kWait);
      measure.Pause();
      if (!report.ok || report.values.size() != 3) {
        fail(report.ok ? "child report incomplete" : report.error);
      } else {
        child_ns += report.values[0];
        child_minor += report.values[1];
        child_major += report.values[2];
      }
      // The parent wrote generation 1 before the loop and nothing since.
      const Expected parent_view = WrittenOnly(Stamped(c, c.shared ? g : 1));
      if (auto wrong = CheckRegion(base, size, 0, parent_view)) {
        fail(std::string(c.shared ? "child's shared write not seen: parent sees "
                                  : "child's private write leaked: parent sees ") +
             *wrong);
      }
      measure.Resume();
    }
    measure.Stop();
  }

  // Untimed: what backs a touched region (large folios may be PMD-mapped), then the file.
  if (!fork_op) {
    region = map();
    if (region.valid()) {
      if (c.op == Op::kRead) {
        benchmark::DoNotOptimize(SumWords(region.data(), size));
      } else {
        StampWords(region.data(), size, 0, Stamped(c, ++generation));
      }
    }
  }
  if (region.valid()) {
    smaps = ReadSmapsForRange(ctx.system, region.data(), size);
    // Every word once (reads summed every word already): what this process last stored
    // (fork_write_child private: the parent's generation 1) over an untouched background.
    const bool parent_kept = c.op == Op::kForkWriteChild && !c.shared;
    if (c.op != Op::kRead) {
      if (auto wrong =
              CheckRegion(region.data(), size, 0, Stamped(c, parent_kept ? 1 : generation))) {
        fail("full check: mapping " + *wrong);
      }
    }
  }
  region.reset();
  if (own && failure.empty()) {
    const Expected in_file = c.shared ? Stamped(c, generation) : Expected{0, 1, 0};
    if (auto wrong = CheckFile(own->check.get(), 0, size, in_file)) {
      fail(std::string(c.shared ? "shared write missing at the end: "
                                : "private write leaked at the end: ") +
           *wrong);
    }
  }
  if (passes == 0) return Skip(state, "no iterations ran");

  Outcome outcome;
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.bytes_per_op = c.op == Op::kRead ? static_cast<double>(size) : 0;
  outcome.valid = failure.empty();
  if (!failure.empty()) {
    outcome.validation = failure;
  } else if (c.op == Op::kRead) {
    outcome.validation = c.file ? "sum equals the file checksum every pass"
                                : "fresh memory read as zeros every pass";
  } else {
    std::string text = "written words read back every pass";
    if (c.file)
      text += c.shared ? "; the file holds each pass's words" : "; the file never changed";
    if (c.op == Op::kForkWriteParent)
      text += c.shared ? "; the child saw the parent's write" : "; the child kept the old words";
    if (c.op == Op::kForkWriteChild)
      text += c.shared ? "; the parent saw the child's write" : "; the parent kept the old words";
    outcome.validation = text;
  }
  if (smaps) {
    const double huge = static_cast<double>((*smaps)["AnonHugePages"] + (*smaps)["FilePmdMapped"] +
                                            (*smaps)["ShmemPmdMapped"]);
    outcome.metrics.emplace_back("pmd_mapped_fraction", huge / static_cast<double>(size));
    outcome.config = "smaps after a touch: Rss " + std::to_string((*smaps)["Rss"] >> 10) +
                     " KiB, PMD-mapped " + std::to_string(static_cast<uint64_t>(huge) >> 10) +
                     " KiB";
  }
  phases.AddTo(outcome, passes);
  // The access the row is about, per page: the touch, the parent's or the child's writes.
  const std::string access = c.op == Op::kForkWriteParent ? "write" : "touch";
  for (const auto& [name, value] : std::vector<std::pair<std::string, double>>(outcome.metrics)) {
    if (name == access + "_ns_per_op")
      outcome.metrics.emplace_back("access_ns_per_page", value / pages);
    if (name == access + "_minor_faults_per_op") {
      outcome.metrics.emplace_back("access_minor_faults_per_page", value / pages);
    }
  }
  if (c.op == Op::kForkWriteChild) {
    const double n = static_cast<double>(passes);
    outcome.metrics.emplace_back("child_write_ns_per_op", child_ns / n);
    outcome.metrics.emplace_back("child_minor_faults_per_op", child_minor / n);
    outcome.metrics.emplace_back("child_major_faults_per_op", child_major / n);
    outcome.metrics.emplace_back("access_ns_per_page", child_ns / n / pages);
    outcome.metrics.emplace_back("access_minor_faults_per_page", child_minor / n / pages);
  }
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  std::vector<Param> params = {{"op", OpName(c.op)},
                               {"backing", c.file ? "file" : "anon"},
                               {"mapping", c.shared ? "shared" : "private"},
                               {"size_mib", std::to_string(c.size_mib)}};
  std::function<void(benchmark::internal::Benchmark*)> configure;
  // Fixed counts where a pass carries untimed work larger than itself: a fork's child
  // exit and reaping, or the untimed fdatasync of the whole file after a shared first
  // write (so the next pass writes clean pages). Otherwise the suite's min time rules.
  if (c.op == Op::kForkWriteParent || c.op == Op::kForkWriteChild ||
      (c.op == Op::kFirstWrite && c.file && c.shared)) {
    const int64_t passes =
        std::max<int64_t>(1, 64 / static_cast<int64_t>(c.size_mib));  // 64 MiB a repetition
    configure = [passes](benchmark::internal::Benchmark* b) { b->Iterations(passes); };
  }
  return Case{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); },
              configure};
}

std::vector<Case> Cases(Suite suite) {
  const std::vector<uint64_t> sizes =
      suite == Suite::kQuick ? std::vector<uint64_t>{8} : std::vector<uint64_t>{4, 32, 128};
  std::vector<Case> cases;
  for (uint64_t size_mib : sizes) {
    for (Op op : {Op::kRead, Op::kFirstWrite, Op::kForkWriteParent, Op::kForkWriteChild}) {
      for (bool file : {true, false}) {
        for (bool shared : {false, true}) cases.push_back(MakeCase({op, file, shared, size_mib}));
      }
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "sharing", "MAP_SHARED vs MAP_PRIVATE, file and anonymous: read, first write, write after fork",
    [] {
      std::vector<std::string> metrics =
          PhaseMetricNames({"map", "touch", "unmap", "fork", "write", "wait"});
      for (const char* name :
           {"access_ns_per_page", "access_minor_faults_per_page", "child_write_ns_per_op",
            "child_minor_faults_per_op", "child_major_faults_per_op", "pmd_mapped_fraction"}) {
        metrics.push_back(name);
      }
      return metrics;
    }(),
    Cases});

}  // namespace
}  // namespace mapbench
