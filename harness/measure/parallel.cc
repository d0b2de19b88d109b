#include "harness/measure/parallel.h"

#include <sched.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "harness/kernel/resources.h"
#include "harness/measure/report_keys.h"

namespace mapbench {

WorkerCounts ToWorkerCounts(const CounterGroup::Readings& readings) {
  WorkerCounts counts;
  counts.count = static_cast<uint32_t>(std::min(readings.values.size(), WorkerCounts::kMax));
  for (uint32_t i = 0; i < counts.count; ++i) {
    counts.values[i] =
        readings.values[i] ? *readings.values[i] : std::numeric_limits<double>::quiet_NaN();
  }
  counts.min_run_fraction = readings.any ? readings.min_run_fraction : 1;
  return counts;
}

void Accumulate(WorkerCounts& total, const WorkerCounts& more) {
  for (uint32_t i = 0; i < more.count; ++i) {
    if (i >= total.count) total.values[i] = std::numeric_limits<double>::quiet_NaN();
    if (std::isnan(more.values[i])) continue;
    total.values[i] =
        std::isnan(total.values[i]) ? more.values[i] : total.values[i] + more.values[i];
  }
  total.count = std::max(total.count, more.count);
  total.min_run_fraction = std::min(total.min_run_fraction, more.min_run_fraction);
}

void AddWorkerCounts(benchmark::UserCounters& counters, int thread_index, const CounterSet& set,
                     const WorkerCounts& counts) {
  const auto& statuses = set.statuses();
  bool any = false;
  for (size_t i = 0; i < statuses.size() && i < counts.count; ++i) {
    if (std::isnan(counts.values[i])) continue;
    any = true;
    const std::string key = keys::kCounterPrefix + statuses[i].spec.column;
    auto found = counters.find(key);
    if (found == counters.end()) {
      counters[key] = benchmark::Counter(counts.values[i], benchmark::Counter::kAvgIterations);
    } else {
      found->second.value += counts.values[i];
    }
  }
  if (!any) return;
  // Per thread, as Measurement reports it: Google Benchmark would average a shared key.
  const std::string key = keys::RunFraction(thread_index);
  auto fraction = counters.find(key);
  if (fraction == counters.end()) {
    counters[key] = benchmark::Counter(counts.min_run_fraction);
  } else {
    fraction->second.value = std::min(fraction->second.value, counts.min_run_fraction);
  }
}

void ReportTotalRate(benchmark::UserCounters& counters, const std::string& name, double count) {
  counters[keys::kMetricPrefix + name] = benchmark::Counter(count, benchmark::Counter::kIsRate);
}

void SharedTotals::Arrive() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t generation = generation_;
  if (++arrived_ == threads_) {
    arrived_ = 0;
    ++generation_;
    arrived_all_.notify_all();
    return;
  }
  arrived_all_.wait(lock, [&] { return generation_ != generation; });
}

void SharedTotals::Reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  values_.clear();
  failures_.clear();
  notes_.clear();
  counts_ = WorkerCounts();
  have_counts_ = false;
}

void SharedTotals::Add(const std::map<std::string, double>& values, const std::string& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, value] : values) values_[key] += value;
  if (!failure.empty()) failures_.push_back(failure);
}

void SharedTotals::AddCounts(const WorkerCounts& counts) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!have_counts_) {
    counts_ = counts;
    have_counts_ = true;
  } else {
    Accumulate(counts_, counts);
  }
}

double SharedTotals::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = values_.find(key);
  return found == values_.end() ? 0 : found->second;
}

std::string SharedTotals::Failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string joined;
  for (const std::string& failure : failures_) joined += (joined.empty() ? "" : "; ") + failure;
  return joined;
}

WorkerCounts SharedTotals::Counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

void SharedTotals::SetNote(const std::string& key, const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  notes_[key] = text;
}

std::string SharedTotals::Note(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = notes_.find(key);
  return found == notes_.end() ? "" : found->second;
}

std::optional<SchedStat> ParseSchedstat(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string cpu, wait, slices;
  if (!(in >> cpu >> wait >> slices)) return std::nullopt;
  auto c = ParseUnsigned(cpu), w = ParseUnsigned(wait), s = ParseUnsigned(slices);
  if (!c || !w || !s) return std::nullopt;
  return SchedStat{*c, *w, *s};
}

std::optional<SchedStat> ReadThreadSchedstat(const SystemFiles& system) {
  return ParseSchedstat(system.Read("/proc/thread-self/schedstat").value_or(""));
}

ParallelismCheck CheckParallelism(double wait_seconds, double wall_seconds, int workers,
                                  double max_wait_fraction) {
  ParallelismCheck check;
  if (wait_seconds < 0 || wall_seconds <= 0 || workers <= 0) {
    check.note = "workers' wait for a CPU unknown (no schedstat)";
    return check;
  }
  check.wait_fraction = wait_seconds / (wall_seconds * workers);
  check.ok = check.wait_fraction <= max_wait_fraction;
  char text[128];
  std::snprintf(text, sizeof(text), "workers waited for a CPU %.1f%% of the time%s",
                100 * check.wait_fraction,
                check.ok ? "" : " (other load: not the parallelism claimed)");
  check.note = text;
  return check;
}

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

ScopedPin::ScopedPin(int cpu) {
  CPU_ZERO(&previous_);
  if (sched_getaffinity(0, sizeof(previous_), &previous_) != 0) {
    error_ = SysError("sched_getaffinity");
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) {
    error_ = SysError("sched_setaffinity(cpu " + std::to_string(cpu) + ")");
    return;
  }
  restore_ = true;
}

ScopedPin::~ScopedPin() {
  if (restore_) sched_setaffinity(0, sizeof(previous_), &previous_);
}

}  // namespace mapbench
