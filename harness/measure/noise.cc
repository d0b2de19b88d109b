#include "harness/measure/noise.h"

#include <time.h>

#include <charconv>
#include <vector>

#include "harness/measure/parallel.h"
#include "harness/kernel/system_files.h"

namespace mapbench {

std::optional<CpuTicks> ParseProcStatCpu(std::string_view text) {
  if (text.substr(0, 4) != "cpu ") return std::nullopt;
  std::string_view line = text.substr(4, text.find('\n') == std::string_view::npos ? text.npos : text.find('\n') - 4);
  std::vector<uint64_t> fields;
  const char* at = line.data();
  const char* end = line.data() + line.size();
  while (at < end) {
    while (at < end && *at == ' ') ++at;
    if (at == end) break;
    uint64_t value = 0;
    auto [next, ec] = std::from_chars(at, end, value);
    if (ec != std::errc() || (next < end && *next != ' ')) return std::nullopt;
    fields.push_back(value);
    at = next;
  }
  if (fields.size() < 8) return std::nullopt;  // steal arrived in Linux 2.6.11
  CpuTicks ticks;
  // guest and guest_nice (fields 9, 10) are counted in user and nice already.
  for (size_t i = 0; i < std::min<size_t>(fields.size(), 8); ++i) ticks.total += fields[i];
  ticks.steal = fields[7];
  return ticks;
}

NoiseSample ReadNoise() {
  static const SystemFiles real;
  NoiseSample sample;
  sample.cpu = ParseProcStatCpu(real.Read("/proc/stat").value_or(""));
  if (auto sched = ReadThreadSchedstat(real)) sample.wait_ns = sched->wait_ns;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  sample.wall_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
  return sample;
}

void NoiseTotals::Add(const NoiseSample& begin, const NoiseSample& end) {
  any_ = true;
  wall_ns_ += end.wall_ns - begin.wall_ns;
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
