#include "harness/measure/calibration.h"

#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cmath>

#include "harness/measure/checksum.h"

namespace mapbench {
namespace {

constexpr uint64_t kLoopSteps = uint64_t{1} << 21;  // about 4 ms here
constexpr int kRounds = 3;

double NowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// A dependent chain the compiler cannot shorten: each step needs the last.
uint64_t CpuLoop() {
  uint64_t x = 1;
  for (uint64_t i = 0; i < kLoopSteps; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    benchmark::DoNotOptimize(x);
  }
  return x;
}

double Median(double (&v)[kRounds]) {
  std::sort(v, v + kRounds);
  return v[kRounds / 2];
}

}  // namespace

CalibrationReading GeometricMean(const CalibrationReading& a, const CalibrationReading& b) {
  auto mean = [](double x, double y) { return x > 0 && y > 0 ? std::sqrt(x * y) : std::max(x, y); };
  return {mean(a.cpu_ns, b.cpu_ns), mean(a.memory_bytes_per_second, b.memory_bytes_per_second)};
}

Calibrator::Calibrator(size_t bytes) {
  count_ = bytes / sizeof(uint64_t);
  void* p = mmap(nullptr, count_ * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    count_ = 0;
    return;
  }
  madvise(p, count_ * sizeof(uint64_t), MADV_NOHUGEPAGE);  // the same page size whatever THP is set to
  words_ = static_cast<uint64_t*>(p);
  for (size_t i = 0; i < count_; ++i) words_[i] = ScratchWord(i);
  expected_sum_ = SumWords(words_, count_ * sizeof(uint64_t));
  expected_loop_ = CpuLoop();
}

Calibrator::~Calibrator() {
  if (words_ != nullptr) munmap(words_, count_ * sizeof(uint64_t));
}

CalibrationReading Calibrator::Measure() const {
  CalibrationReading reading;
  if (words_ == nullptr) return reading;
  double cpu[kRounds], memory[kRounds];
  bool cpu_ok = true, memory_ok = true;
  for (int r = 0; r < kRounds; ++r) {
    double start = NowNs();
    cpu_ok &= CpuLoop() == expected_loop_;
    cpu[r] = NowNs() - start;
    start = NowNs();
    memory_ok &= SumWords(words_, count_ * sizeof(uint64_t)) == expected_sum_;
    memory[r] = static_cast<double>(count_ * sizeof(uint64_t)) * 1e9 / std::max(NowNs() - start, 1.0);
  }
  if (cpu_ok) reading.cpu_ns = Median(cpu);
  if (memory_ok) reading.memory_bytes_per_second = Median(memory);
  return reading;
}

}  // namespace mapbench
