// fault_injection — test-only workloads that crash or hang on purpose, compiled only
// into build/tests/mapbench_with_faults, to prove a failing case becomes an error row
// and the suite goes on.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "harness/kernel/resources.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

void Crash(benchmark::State& state, const RunContext& ctx, const std::string& how) {
  // The signals' default action, so the case dies of the signal itself even in a
  // sanitizer build, whose runtime handles SIGSEGV and SIGBUS (it would report, then abort).
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGBUS, SIG_DFL);
  if (how == "segv") std::raise(SIGSEGV);
  if (how == "abort") std::abort();
  if (how == "bus") {
    // Touching a file mapping beyond the end of its (empty) file raises SIGBUS.
    std::string path = ctx.scratch->path() + "/empty";
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT, 0600));
    Mapping map(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd.get(), 0), 4096);
    volatile char c = map.data()[0];
    (void)c;
  }
  if (how == "hang") {
    for (;;) pause();
  }
  for (auto _ : state) benchmark::DoNotOptimize(how.size());
  Report(state, Outcome{0, 0, true, "nothing to check", {}, "", {}});
}

std::vector<Case> Cases(Suite) {
  std::vector<Case> cases;
  for (const char* how : {"segv", "bus", "abort", "hang", "none"}) {
    cases.push_back(Case{"", {{"fault", how}},
                         [how](benchmark::State& s, const RunContext& ctx) { Crash(s, ctx, how); },
                         {}});
  }
  return cases;
}

MAPBENCH_FAMILY(Family{"fault_injection", "test only: crashes and hangs on purpose", {}, Cases});

}  // namespace
}  // namespace mapbench
