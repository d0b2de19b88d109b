// ceiling — the machine's own limit for reading memory, in the same run.
// Timed: one pass over an anonymous buffer that was filled (so faulted) beforehand,
//   with the very block loop mmap-in-place uses (SumBlocks).
// Untimed: allocation (2 MiB aligned, MADV_HUGEPAGE where THP allows it, so the limit
//   is not a TLB artefact of 4 KiB pages) and fill with the scratch-file content.
// Verified: every pass's sum equals the known checksum of that content.
// Kernel paths: none in the timed region: it is the memory system alone.
#include <sys/mman.h>

#include "harness/kernel/resources.h"
#include "harness/kernel/smaps.h"
#include "harness/measure/access.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

void Run(benchmark::State& state, const RunContext& ctx, Pattern pattern, uint64_t block_kib,
         uint64_t size_mib) {
  const uint64_t size = size_mib << 20, block = block_kib << 10;
  if (auto why = CheckMemory(ctx, size)) return Skip(state, *why);
  constexpr uint64_t kHuge = 2 << 20;
  Mapping region(mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                 size + kHuge);
  if (!region.valid()) return Skip(state, SysError("mmap(anonymous, len=" + std::to_string(size) + ")"));
  char* base = region.data() + (kHuge - reinterpret_cast<uintptr_t>(region.data()) % kHuge) % kHuge;
  madvise(base, size, MADV_HUGEPAGE);  // best effort: the backing found is recorded
  uint64_t* words = reinterpret_cast<uint64_t*>(base);
  uint64_t expected = 0;
  for (uint64_t i = 0; i < size / 8; ++i) expected += (words[i] = ScratchWord(i));
  const std::vector<uint32_t> order = BlockOrder(size / block, pattern);

  bool valid = true;
  uint64_t wrong = 0;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      uint64_t sum = SumBlocks(base, block, order);
      // Each pass must re-read memory. Not DoNotOptimize(sum): in Google Benchmark 1.7.1 with
      // GCC it can hand back a different value (seen under ASan), and sum is checked below.
      benchmark::ClobberMemory();
      if (sum != expected) {
        valid = false;
        wrong = sum;
      }
    }
    measure.Stop();
  }
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size) / PageSize();
  outcome.valid = valid;
  outcome.validation = "checksum " + ChecksumText(expected) +
                       (valid ? " matched every pass" : " expected, a pass summed " + ChecksumText(wrong));
  auto smaps = ReadSmapsForRange(ctx.system, base, size);
  const double huge = smaps ? static_cast<double>((*smaps)["AnonHugePages"]) / size : 0;
  outcome.metrics = {{"huge_page_fraction", huge}};
  Report(state, outcome);
}

std::vector<Case> Cases(Suite suite) {
  const std::vector<uint64_t> sizes =
      suite == Suite::kQuick ? std::vector<uint64_t>{64} : std::vector<uint64_t>{16, 256, 1024};
  std::vector<Case> cases;
  for (uint64_t size_mib : sizes) {
    for (Pattern pattern : {Pattern::kSequential, Pattern::kRandom}) {
      for (uint64_t block_kib : {4, 64, 1024}) {
        cases.push_back(Case{"memory_read",
                             {{"pattern", PatternName(pattern)},
                              {"block_kib", std::to_string(block_kib)},
                              {"file_mib", std::to_string(size_mib)}},
                             [=](benchmark::State& s, const RunContext& ctx) {
                               Run(s, ctx, pattern, block_kib, size_mib);
                             },
                             {}});
      }
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{"ceiling", "memory read bandwidth of a faulted anonymous buffer",
                       {"huge_page_fraction"}, Cases});

}  // namespace
}  // namespace mapbench
