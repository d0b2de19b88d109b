// A short calibration measured next to every case, in the case's own process, so that a
// comparison can divide out what slowed the whole host while the case ran (another
// tenant, steal, memory bandwidth taken by neighbours): a memory-read ceiling over a
// buffer the parent faulted in once (the same physical pages for every case, base pages)
// and a fixed CPU loop. Each is checked: a wrong sum leaves the reading empty.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mapbench {

struct CalibrationReading {
  double cpu_ns = 0;                   // wall time of the CPU loop; 0: not measured
  double memory_bytes_per_second = 0;  // one pass over the buffer; 0: not measured
};

// The geometric mean of two readings (one before the case, one after), field by field;
// a field measured on one side only keeps that side's value.
CalibrationReading GeometricMean(const CalibrationReading& a, const CalibrationReading& b);

class Calibrator {
 public:
  explicit Calibrator(size_t bytes = size_t{64} << 20);  // maps and fills the buffer
  ~Calibrator();
  Calibrator(const Calibrator&) = delete;
  Calibrator& operator=(const Calibrator&) = delete;
  bool ok() const { return words_ != nullptr; }

  // The median of three of each: about 3 x (7 + 4) ms on the development VM.
  CalibrationReading Measure() const;

 private:
  uint64_t* words_ = nullptr;
  size_t count_ = 0;
  uint64_t expected_sum_ = 0;
  uint64_t expected_loop_ = 0;
};

}  // namespace mapbench
