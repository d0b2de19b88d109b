// Fault accounting for populate-style checks: the calling thread's fault counts (which,
// unlike perf's fault events, include faults taken on the process's behalf by
// MAP_POPULATE / MADV_POPULATE_* / mlock), the verdict on a touch phase's faults, and
// whether locking `bytes` of memory is allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mapbench {

struct ThreadFaults {
  uint64_t minor = 0;
  uint64_t major = 0;
};
// getrusage(RUSAGE_THREAD): faults of this thread so far.
ThreadFaults CurrentThreadFaults();

// What a first touch of `pages` pages should cost in faults.
enum class TouchExpectation {
  kNearZero,     // already populated: at most 1% of the pages fault
  kOnePerFolio,  // demand-faulted anonymous memory: one fault per folio mapped (within 1%)
  kSome,         // demand-faulted with fault-around or large folios: 1 .. pages faults
};
const char* TouchExpectationName(TouchExpectation expectation);

struct FaultVerdict {
  bool ok = false;
  std::string note;  // e.g. "touch: 0.000 faults/page (expected near zero)"
};
// `faults_per_op`: faults in the touch phase of one operation (average or worst).
// `folios`: how many folios the pages were really mapped in (FoliosMapped after a touch);
// 0 when unknown, then every page is taken to be its own folio.
FaultVerdict CheckTouchFaults(TouchExpectation expectation, double faults_per_op, uint64_t pages,
                              uint64_t folios = 0);

// Whether the effective capability set in /proc/self/status text has bit `capability`.
bool HasCapability(std::string_view proc_status_text, int capability);

// nullopt when this process may lock `bytes` (CAP_IPC_LOCK, or RLIMIT_MEMLOCK minus what
// it has locked already is enough), else the reason. `status_text` is /proc/self/status.
std::optional<std::string> MemlockShortage(std::string_view status_text, uint64_t memlock_limit,
                                           uint64_t bytes);

}  // namespace mapbench
