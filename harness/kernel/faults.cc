#include "harness/kernel/faults.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "harness/kernel/system_files.h"

namespace mapbench {

ThreadFaults CurrentThreadFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {static_cast<uint64_t>(usage.ru_minflt), static_cast<uint64_t>(usage.ru_majflt)};
}

const char* TouchExpectationName(TouchExpectation expectation) {
  switch (expectation) {
    case TouchExpectation::kNearZero:
      return "near zero";
    case TouchExpectation::kOnePerFolio:
      return "one per folio";
    case TouchExpectation::kSome:
      return "between one and one per page";
  }
  return "?";
}

FaultVerdict CheckTouchFaults(TouchExpectation expectation, double faults_per_op, uint64_t pages,
                              uint64_t folios) {
  FaultVerdict verdict;
  const double n = static_cast<double>(pages);
  const double units = static_cast<double>(folios ? folios : pages);
  switch (expectation) {
    case TouchExpectation::kNearZero:
      verdict.ok = faults_per_op <= 0.01 * n;
      break;
    case TouchExpectation::kOnePerFolio:
      verdict.ok = faults_per_op >= 0.99 * units && faults_per_op <= 1.01 * units + 1;
      break;
    case TouchExpectation::kSome:
      verdict.ok = faults_per_op >= 1 && faults_per_op <= 1.01 * n + 1;
      break;
  }
  std::string expected = TouchExpectationName(expectation);
  if (expectation == TouchExpectation::kOnePerFolio) {
    expected += folios ? ": " + std::to_string(folios) + " folios mapped" : " (taken as pages)";
  }
  char note[200];
  std::snprintf(note, sizeof(note), "touch: %.4g faults/op = %.4f per page (expected %s)",
                faults_per_op, pages ? faults_per_op / n : 0.0, expected.c_str());
  verdict.note = note;
  return verdict;
}

uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

HostReports HostReportsDelta(const HostReports& before, const HostReports& after) {
  auto minus = [](const std::optional<uint64_t>& a,
                  const std::optional<uint64_t>& b) -> std::optional<uint64_t> {
    if (!a || !b || *a < *b) return std::nullopt;
    return *a - *b;
  };
  return {minus(after.reports, before.reports), minus(after.reported_kib, before.reported_kib)};
}

ReturnedCheck CheckReturnedToHost(double first_cpu_ns, std::vector<double> steady_cpu_ns,
                                  const HostReports& during_idle, double min_ratio) {
  ReturnedCheck check;
  std::string reports = "during the idle: ";
  reports += during_idle.reports ? std::to_string(*during_idle.reports) + " free page reports"
                                 : "free page reports not visible";
  if (during_idle.reported_kib)
    reports += ", " + std::to_string(*during_idle.reported_kib) + " KiB";
  std::sort(steady_cpu_ns.begin(), steady_cpu_ns.end());
  const size_t n = steady_cpu_ns.size();
  const double median = n == 0  ? 0
                        : n % 2 ? steady_cpu_ns[n / 2]
                                : (steady_cpu_ns[n / 2 - 1] + steady_cpu_ns[n / 2]) / 2;
  char text[320];
  if (median <= 0 || first_cpu_ns <= 0) {
    std::snprintf(text, sizeof(text),
                  "memory returned to the host NOT checked: no steady-state CPU time to compare "
                  "with; %s",
                  reports.c_str());
    check.note = text;
    return check;
  }
  check.ratio = first_cpu_ns / median;
  check.ok = check.ratio >= min_ratio;
  std::snprintf(text, sizeof(text),
                "%s: first touch %.3g ms CPU = %.2fx the steady median %.3g ms (%zu cycles "
                "before the idle; returned needs >= %.3gx); %s",
                check.ok ? "memory returned to the host"
                         : "memory NOT returned to the host (or too little of it)",
                first_cpu_ns / 1e6, check.ratio, median / 1e6, n, min_ratio, reports.c_str());
  check.note = text;
  return check;
}

bool HasCapability(std::string_view proc_status_text, int capability) {
  std::istringstream in{std::string(proc_status_text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const std::string hex = Trim(line.substr(7));
    unsigned long long mask = 0;
    if (std::sscanf(hex.c_str(), "%llx", &mask) != 1) return false;
    return (mask >> capability) & 1;
  }
  return false;
}

std::optional<std::string> MemlockShortage(std::string_view status_text, uint64_t memlock_limit,
                                           uint64_t bytes) {
  constexpr int kCapIpcLock = 14;
  if (HasCapability(status_text, kCapIpcLock)) return std::nullopt;
  if (memlock_limit == RLIM_INFINITY) return std::nullopt;
  const auto status = ParseMeminfo(status_text);  // "VmLck:  0 kB" has meminfo's shape
  const uint64_t locked = status.count("VmLck") ? status.at("VmLck") : 0;
  const uint64_t room = memlock_limit > locked ? memlock_limit - locked : 0;
  if (bytes <= room) return std::nullopt;
  return "RLIMIT_MEMLOCK allows " + std::to_string(room >> 10) + " KiB more locked memory, " +
         std::to_string(bytes >> 10) + " KiB needed (raise 'ulimit -l' or run with CAP_IPC_LOCK)";
}

}  // namespace mapbench
