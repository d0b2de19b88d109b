// Fault accounting for populate-style checks: the calling thread's fault counts (which,
// unlike perf's fault events, include faults taken on the process's behalf by
// MAP_POPULATE / MADV_POPULATE_* / mlock), the verdict on a touch phase's faults, and
// whether locking `bytes` of memory is allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// ---- first touch after idle -----------------------------------------------------------

// CPU time of the calling thread so far (CLOCK_THREAD_CPUTIME_ID), in ns. On a VM, the
// host's faults for memory it had taken back stall the vCPU while the guest thread runs:
// they show here (not in guest cycles), and time other guest threads ran does not.
uint64_t ThreadCpuNs();

// What the VM has told its host about free memory, where the guest can see it.
struct HostReports {
  std::optional<uint64_t> reports;  // free page reports made (balloon's reporting_vq IRQs)
  std::optional<uint64_t>
      reported_kib;  // memory reported (page_reporting.reported_kib, not upstream)
};
// after - before per field; empty where either side is (or the counter went backwards).
HostReports HostReportsDelta(const HostReports& before, const HostReports& after);

// An after_idle row claims its first touch found memory the host had taken back (free
// page reporting): the host then faults it in again, which costs CPU time in the guest
// thread. The claim holds when the first touch's CPU time is at least `min_ratio` times
// the median of the same cycle's steady-state CPU times, measured in the same process just
// before the idle. Measured on the development VM (README "First touch after idle"): rows
// whose memory cannot go back (base pages, hugetlb pools) stayed within 0.79 .. 1.47x;
// THP rows were either 0.98 .. 2.15x (nothing or a few 2 MiB blocks returned) or
// 4.5 .. 16.5x. 3x lies in that gap, twice the largest excess seen without a return.
inline constexpr double kReturnedMinRatio = 3.0;
struct ReturnedCheck {
  bool ok = false;
  double ratio = 0;  // first / steady median; 0 when no steady cycle was measured
  std::string note;
};
ReturnedCheck CheckReturnedToHost(double first_cpu_ns, std::vector<double> steady_cpu_ns,
                                  const HostReports& during_idle,
                                  double min_ratio = kReturnedMinRatio);

// Whether the effective capability set in /proc/self/status text has bit `capability`.
bool HasCapability(std::string_view proc_status_text, int capability);

// nullopt when this process may lock `bytes` (CAP_IPC_LOCK, or RLIMIT_MEMLOCK minus what
// it has locked already is enough), else the reason. `status_text` is /proc/self/status.
std::optional<std::string> MemlockShortage(std::string_view status_text, uint64_t memlock_limit,
                                           uint64_t bytes);

}  // namespace mapbench
