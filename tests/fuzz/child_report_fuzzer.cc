// Fuzzes DecodeChildReport, which reads the bytes a forked child sends back through its
// pipe (a child that crashed midway sends a torn report). Invariants: whatever decodes
// encodes back to exactly the same bytes (one encoding per report, nothing ignored), and
// a report built from the input encodes and decodes to itself.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "harness/process/child_process.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto report = mapbench::DecodeChildReport(bytes)) {
    FUZZ_CHECK(mapbench::EncodeChildReport(*report) == bytes);
  }
  FuzzedDataProvider in(data, size);
  mapbench::ChildReport report;
  report.ok = in.ConsumeBool();
  for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 64); n > 0; --n) {
    uint64_t bits = in.ConsumeIntegral<uint64_t>();
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    report.values.push_back(value);
  }
  report.error = in.ConsumeRandomLengthString(256);
  const std::string encoded = mapbench::EncodeChildReport(report);
  const auto decoded = mapbench::DecodeChildReport(encoded);
  FUZZ_CHECK(decoded && decoded->ok == report.ok && decoded->error == report.error &&
             decoded->values.size() == report.values.size());
  for (size_t i = 0; i < report.values.size(); ++i) {
    FUZZ_CHECK(SameBits(decoded->values[i], report.values[i]));
  }
  // Every proper prefix of a report is a torn one: never accepted.
  const size_t cut = in.ConsumeIntegralInRange<size_t>(0, encoded.size() - 1);
  FUZZ_CHECK(!mapbench::DecodeChildReport(std::string_view(encoded).substr(0, cut)));
  return 0;
}
