#include "harness/measure/calibration.h"

#include <gtest/gtest.h>

namespace mapbench {
namespace {

TEST(Calibration, GeometricMeanKeepsAOneSidedReading) {
  CalibrationReading m = GeometricMean({4, 100}, {9, 400});
  EXPECT_DOUBLE_EQ(m.cpu_ns, 6);
  EXPECT_DOUBLE_EQ(m.memory_bytes_per_second, 200);
  m = GeometricMean({0, 100}, {9, 0});  // each measured on one side only
  EXPECT_DOUBLE_EQ(m.cpu_ns, 9);
  EXPECT_DOUBLE_EQ(m.memory_bytes_per_second, 100);
  EXPECT_EQ(GeometricMean({}, {}).cpu_ns, 0);
}

// Measured, not timed: both readings exist and are positive (their values are not checked).
TEST(Calibration, MeasuresBothOnAVerifiedBuffer) {
  Calibrator calibrator(size_t{1} << 20);
  ASSERT_TRUE(calibrator.ok());
  CalibrationReading r = calibrator.Measure();
  EXPECT_GT(r.cpu_ns, 0);
  EXPECT_GT(r.memory_bytes_per_second, 0);
}

}  // namespace
}  // namespace mapbench
