#include "harness/measure/measurement.h"

#include <sys/statvfs.h>

#include "harness/measure/noise.h"
#include "harness/measure/report_keys.h"

namespace mapbench {

struct Measurement::Impl {
  explicit Impl(const CounterSet& counters) : set(counters), group(counters) {}
  const CounterSet& set;
  CounterGroup group;
  bool stopped = false;
  // Thread 0 samples the noise around the timed stretches; one row, one machine.
  bool samples_noise = false;
  NoiseSample noise_begin;
  bool paused = false;
  NoiseTotals noise;
};

Measurement::Measurement(benchmark::State& state, const RunContext& context)
    : state_(state), impl_(new Impl(context.counters)) {
  impl_->samples_noise = state.thread_index() == 0;
  if (impl_->samples_noise) impl_->noise_begin = ReadNoise();
  impl_->group.Reset();
  impl_->group.Enable();
}

Measurement::~Measurement() {
  Stop();
  delete impl_;
}

void Measurement::Pause() {
  impl_->group.Disable();
  state_.PauseTiming();
  if (impl_->samples_noise && !impl_->paused) impl_->noise.Add(impl_->noise_begin, ReadNoise());
  impl_->paused = true;
}

void Measurement::Resume() {
  if (impl_->samples_noise) impl_->noise_begin = ReadNoise();
  impl_->paused = false;
  state_.ResumeTiming();
  impl_->group.Enable();
}

void Measurement::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->group.Disable();
  if (impl_->samples_noise) {
    if (!impl_->paused) impl_->noise.Add(impl_->noise_begin, ReadNoise());
    if (auto steal = impl_->noise.StealFraction()) state_.counters[keys::kStealFraction] = *steal;
    if (auto wait = impl_->noise.CpuWaitFraction()) state_.counters[keys::kCpuWaitFraction] = *wait;
    // A total over the timed stretches; Google Benchmark divides it by the iterations.
    state_.counters[keys::kTreeCpuNs] =
        benchmark::Counter(static_cast<double>(impl_->noise.TreeCpuNs()), benchmark::Counter::kAvgIterations);
  }
  CounterGroup::Readings readings = impl_->group.Read();
  const auto& statuses = impl_->set.statuses();
  for (size_t i = 0; i < statuses.size(); ++i) {
    if (!readings.values[i]) continue;  // unavailable here: the cell stays empty
    // Totals over the run; Google Benchmark divides by the iterations (per op).
    state_.counters[keys::kCounterPrefix + statuses[i].spec.column] =
        benchmark::Counter(*readings.values[i], benchmark::Counter::kAvgIterations);
  }
  if (readings.any) {
    state_.counters[keys::RunFraction(state_.thread_index())] =
        benchmark::Counter(readings.min_run_fraction);
  }
}

void Report(benchmark::State& state, const Outcome& outcome) {
  using benchmark::Counter;
  state.counters[keys::kBytesPerOp] = Counter(outcome.bytes_per_op, Counter::kAvgThreads);
  state.counters[keys::kPagesPerOp] = Counter(outcome.pages_per_op, Counter::kAvgThreads);
  if (outcome.valid) state.counters[keys::kValid] = Counter(*outcome.valid, Counter::kAvgThreads);
  if (outcome.config_ok) {
    state.counters[keys::kConfigOk] = Counter(*outcome.config_ok, Counter::kAvgThreads);
  }
  const std::string per_thread = keys::kPerThread + std::to_string(state.thread_index());
  for (const auto& [name, value] : outcome.metrics) {
    // A running fraction is the smallest over threads, not their mean.
    if (name.ends_with(kRunFractionSuffix)) {
      state.counters[keys::kMetricPrefix + name + per_thread] = Counter(value);
    } else {
      state.counters[keys::kMetricPrefix + name] = Counter(value, Counter::kAvgThreads);
    }
  }
  if (outcome.bytes_per_op > 0) {
    state.SetBytesProcessed(static_cast<int64_t>(outcome.bytes_per_op * state.iterations()));
  }
  std::string label = outcome.validation;
  if (!outcome.config.empty()) label += keys::kLabelSeparator + outcome.config;
  state.SetLabel(label);
}

void Skip(benchmark::State& state, const std::string& reason) {
  state.SkipWithError((keys::kSkipPrefix + reason).c_str());
}

std::optional<std::string> CheckMemory(const RunContext& context, uint64_t bytes) {
  auto meminfo = ParseMeminfo(context.system.Read("/proc/meminfo").value_or(""));
  auto available = meminfo.find("MemAvailable");
  if (available == meminfo.end()) return std::nullopt;  // cannot tell: let the kernel decide
  // Keep a margin so the suite never invites the OOM killer.
  const uint64_t usable = available->second / 10 * 8;
  if (bytes <= usable) return std::nullopt;
  return "needs " + std::to_string(bytes >> 20) + " MiB of memory, " +
         std::to_string(available->second >> 20) + " MiB available (80% usable)";
}

}  // namespace mapbench
