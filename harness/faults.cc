#include "harness/faults.h"

#include <sys/resource.h>

#include <cstdio>
#include <sstream>

#include "harness/system_files.h"

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
