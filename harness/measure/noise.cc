#include "harness/measure/noise.h"

#include <sys/resource.h>
#include <time.h>

#include <climits>
#include <sstream>
#include <vector>

#include "harness/kernel/system_files.h"
#include "harness/measure/parallel.h"

namespace mapbench {

namespace {

// Whitespace-separated whole numbers (ParseUnsigned each); nullopt if one is not.
std::optional<std::vector<uint64_t>> Numbers(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<uint64_t> numbers;
  for (std::string word; in >> word;) {
    auto n = ParseUnsigned(word);
    if (!n) return std::nullopt;
    numbers.push_back(*n);
  }
  return numbers;
}

uint64_t Ns(const timeval& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_usec) * 1000ull;
}

}  // namespace

std::optional<CpuTicks> ParseProcStatCpu(std::string_view text) {
  if (text.substr(0, 4) != "cpu ") return std::nullopt;
  auto fields = Numbers(text.substr(4, text.find('\n') == std::string_view::npos ? text.npos : text.find('\n') - 4));
  if (!fields || fields->size() < 8) return std::nullopt;  // steal arrived in Linux 2.6.11
  CpuTicks ticks;
  // guest and guest_nice (fields 9, 10) are counted in user and nice already.
  for (size_t i = 0; i < 8; ++i) ticks.total += (*fields)[i];
  ticks.steal = (*fields)[7];
  return ticks;
}

std::optional<std::vector<int64_t>> ParseChildren(std::string_view text) {
  auto numbers = Numbers(text);
  if (!numbers) return std::nullopt;
  std::vector<int64_t> pids;
  for (uint64_t n : *numbers) {
    if (n == 0 || n > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    pids.push_back(static_cast<int64_t>(n));
  }
  return pids;
}

uint64_t ProcessTreeCpuNs() {
  static const SystemFiles real;
  timespec own;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &own);
  uint64_t total = static_cast<uint64_t>(own.tv_sec) * 1000000000ull + static_cast<uint64_t>(own.tv_nsec);
  rusage reaped;
  if (getrusage(RUSAGE_CHILDREN, &reaped) == 0) total += Ns(reaped.ru_utime) + Ns(reaped.ru_stime);
  for (const std::string& task : real.List("/proc/self/task")) {
    auto children = ParseChildren(real.Read("/proc/self/task/" + task + "/children").value_or(""));
    for (int64_t pid : children.value_or(std::vector<int64_t>{})) {
      const std::string threads = "/proc/" + std::to_string(pid) + "/task";
      for (const std::string& tid : real.List(threads)) {
        if (auto sched = ParseSchedstat(real.Read(threads + "/" + tid + "/schedstat").value_or(""))) {
          total += sched->cpu_ns;
        }
      }
    }
  }
  return total;
}

NoiseSample ReadNoise() {
  static const SystemFiles real;
  NoiseSample sample;
  sample.cpu = ParseProcStatCpu(real.Read("/proc/stat").value_or(""));
  if (auto sched = ReadThreadSchedstat(real)) sample.wait_ns = sched->wait_ns;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  sample.wall_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
  sample.tree_cpu_ns = ProcessTreeCpuNs();
  return sample;
}

void NoiseTotals::Add(const NoiseSample& begin, const NoiseSample& end) {
  any_ = true;
  wall_ns_ += end.wall_ns - begin.wall_ns;
  if (end.tree_cpu_ns > begin.tree_cpu_ns) tree_cpu_ns_ += end.tree_cpu_ns - begin.tree_cpu_ns;
  if (begin.cpu && end.cpu && end.cpu->total >= begin.cpu->total) {
    ticks_ += end.cpu->total - begin.cpu->total;
    steal_ += end.cpu->steal - begin.cpu->steal;
  } else {
    cpu_known_ = false;
  }
  if (begin.wait_ns && end.wait_ns) {
    wait_ns_ += *end.wait_ns - *begin.wait_ns;
  } else {
    wait_known_ = false;
  }
}

std::optional<double> NoiseTotals::StealFraction() const {
  if (!any_ || !cpu_known_ || ticks_ == 0) return std::nullopt;
  return static_cast<double>(steal_) / static_cast<double>(ticks_);
}

std::optional<double> NoiseTotals::CpuWaitFraction() const {
  if (!any_ || !wait_known_ || wall_ns_ == 0) return std::nullopt;
  return static_cast<double>(wait_ns_) / static_cast<double>(wall_ns_);
}

}  // namespace mapbench
