// ceiling — the machine's own limit for reading memory, in the same run.
// Timed: one pass over an anonymous buffer that was filled (so faulted) beforehand,
//   with the very block loop mmap-in-place uses (SumBlocks).
// Untimed: allocation and fill with the scratch-file content.
// Verified: every pass's sum equals the known checksum of that content.
// Kernel paths: none in the timed region: it is the memory system alone.
#include <sys/mman.h>

#include "harness/access.h"
#include "harness/resources.h"
#include "harness/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

void Run(benchmark::State& state, const RunContext& ctx, Pattern pattern, uint64_t block_kib,
         uint64_t size_mib) {
  const uint64_t size = size_mib << 20, block = block_kib << 10;
  if (auto why = CheckMemory(ctx, size)) return Skip(state, *why);
  Mapping buffer(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), size);
  if (!buffer.valid()) return Skip(state, SysError("mmap(anonymous, len=" + std::to_string(size) + ")"));
  uint64_t* words = reinterpret_cast<uint64_t*>(buffer.data());
  uint64_t expected = 0;
  for (uint64_t i = 0; i < size / 8; ++i) expected += (words[i] = ScratchWord(i));
  const std::vector<uint32_t> order = BlockOrder(size / block, pattern);

  bool valid = true;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      uint64_t sum = SumBlocks(buffer.data(), block, order);
      benchmark::DoNotOptimize(sum);
      valid = valid && sum == expected;
    }
    measure.Stop();
  }
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size) / 4096;
  outcome.valid = valid;
  outcome.validation = valid ? "checksum matched every pass" : "checksum mismatch";
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

MAPBENCH_FAMILY(Family{"ceiling", "memory read bandwidth of a faulted anonymous buffer", {}, Cases});

}  // namespace
}  // namespace mapbench
