// Results as CSV: one row per benchmark repetition, written and flushed as each case
// finishes, beside Google Benchmark's console output. Schema: docs/results-schema.md.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "harness/measure/calibration.h"
#include "harness/run/registry.h"

namespace mapbench {

inline constexpr int kSchemaVersion = 1;

// Every row has these, in this order; parameter, metric and counter columns follow.
const std::vector<std::string>& BaseColumns();
// An interleaved run's rows also say which value of the knob they ran under:
// arm (its index in the --interleave list), variant ("knob=value") and arm_position
// (0 when that arm ran first in its case and process, 1 second, ...).
const std::vector<std::string>& ArmColumns();

struct CsvLayout {
  std::vector<std::string> param_keys;     // union over the cases, first-seen order
  std::vector<std::string> metric_names;   // union over the families
  std::vector<std::string> counter_stems;  // from the counter set
  bool interleaved = false;                 // --interleave: ArmColumns() follow the base ones
  std::vector<std::string> Columns() const;
};

// Checks that no parameter or metric would shadow a base column. Error text or empty.
std::string ValidateLayout(const CsvLayout& layout);

CsvLayout LayoutFor(const std::vector<CaseInfo>& cases, const CounterSet& counters);

// RFC 4180 quoting: quoted when the cell holds a comma, quote, CR or LF.
std::string CsvCell(const std::string& value);
std::string CsvLine(const std::vector<std::string>& cells);

struct RowContext {
  std::string run_id;
  std::string counters_mode;
  const std::map<std::string, CaseInfo>* cases = nullptr;  // by Google Benchmark name
  int process = 0;  // which of the --processes repetitions of the suite
  std::string counters_kernel{};     // CounterSet::KernelCounting()
  std::string counters_user_only{};  // CounterSet::UserOnlyColumns()
  int arm = -1;                      // -1: not an interleaved run
  std::string variant{};
  int arm_position = 0;
  CalibrationReading calibration{};  // around the case, in its process (Calibrator)
  std::string host{};                // gethostname()
  std::string kernel_release{};      // uname -r
  std::string machine_class{};       // --machine_class (may be empty)
};

// The cells of one repetition's row, keyed by column. Pure: no I/O.
std::map<std::string, std::string> RowCells(const benchmark::BenchmarkReporter::Run& run,
                                            const RowContext& context);

class CsvReporter : public benchmark::ConsoleReporter {
 public:
  // Creates the file (refusing to overwrite) and writes the header; check ok().
  CsvReporter(const std::string& path, std::vector<CaseInfo> cases, const CsvLayout& layout,
              RowContext context);
  ~CsvReporter() override;
  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;

  void SetProcess(int process) { context_.process = process; }
  // In a case's process, before its benchmarks: each batch of rows then carries the
  // geometric mean of the reading before it and one taken after it.
  void CalibrateWith(const Calibrator* calibrator) {
    calibrator_ = calibrator;
    last_reading_ = calibrator->Measure();
  }
  void SetArm(int arm, std::string variant, int position) {
    context_.arm = arm;
    context_.variant = std::move(variant);
    context_.arm_position = position;
  }
  // The machine description is printed before the first case only.
  void MarkContextPrinted() { context_printed_ = true; }
  // A row for a case that produced none (crashed, hung): status error, with the reason.
  void WriteFailureRow(const CaseInfo& info, const std::string& message);
  void Sync();

  // Status counts as text, so a child process can hand them to the parent.
  std::string CountsText() const;
  void AddCounts(const std::string& text);
  void ResetCounts() { status_counts_.clear(); }

  // Rows written so far, by status (ok, invalid, unvalidated, not_effective, skipped, error).
  const std::map<std::string, int>& status_counts() const { return status_counts_; }

 private:
  bool WriteLine(const std::string& line);
  int fd_ = -1;
  std::string error_;
  std::vector<std::string> columns_;
  std::map<std::string, CaseInfo> cases_;
  RowContext context_;
  std::map<std::string, int> status_counts_;
  bool context_printed_ = false;
  const Calibrator* calibrator_ = nullptr;
  CalibrationReading last_reading_{};
  void WriteRow(const Run& run);
};

}  // namespace mapbench
