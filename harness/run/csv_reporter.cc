#include "harness/run/csv_reporter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "harness/kernel/resources.h"
#include "harness/measure/report_keys.h"

namespace mapbench {
namespace {

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.10g", value);
  return buffer;
}

void AddUnique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

const double* FindCounter(const benchmark::UserCounters& counters, const std::string& key) {
  auto found = counters.find(key);
  return found == counters.end() ? nullptr : &found->second.value;
}

// "<key>@<thread>" values (keys::kPerThread) become one "<key>", the smallest of them.
benchmark::UserCounters SmallestOverThreads(const benchmark::UserCounters& counters) {
  benchmark::UserCounters merged;
  for (const auto& [key, counter] : counters) {
    const std::string base = key.substr(0, key.find(keys::kPerThread));
    auto [found, added] = merged.emplace(base, counter);
    if (!added) found->second.value = std::min(found->second.value, counter.value);
  }
  return merged;
}

}  // namespace

const std::vector<std::string>& BaseColumns() {
  static const std::vector<std::string> columns = {
      "schema_version", "run_id",          "family",             "workload",
      "name",           "process",         "repetition",         "repetitions",
      "threads",        "status",          "valid",              "config_ok",
      "validation",     "config_note",     "message",            "iterations",
      "ns_per_op",      "cpu_ns_per_op",   "bytes_per_op",       "bytes_per_second",
      "pages_per_op",   "counters_mode",   "counters_kernel",    "counters_user_only",
      "counter_run_fraction", "steal_fraction",  "cpu_wait_fraction",
      "calibration_cpu_ns", "calibration_memory_bytes_per_second", "fraction_of_ceiling",
      "total_cpu_ns_per_op",
      // Which machine: runs of several hosts merge into one dataset (`mapbench merge`).
      "host", "kernel_release", "machine_class"};
  return columns;
}

const std::vector<std::string>& ArmColumns() {
  static const std::vector<std::string> columns = {"arm", "variant", "arm_position"};
  return columns;
}

std::vector<std::string> CsvLayout::Columns() const {
  std::vector<std::string> columns = BaseColumns();
  if (interleaved) columns.insert(columns.end(), ArmColumns().begin(), ArmColumns().end());
  for (const std::string& key : param_keys) columns.push_back(key);
  for (const std::string& metric : metric_names) columns.push_back(metric);
  for (const std::string& stem : counter_stems) {
    columns.push_back(stem + "_per_op");
    columns.push_back(stem + "_per_page");
  }
  return columns;
}

std::string ValidateLayout(const CsvLayout& layout) {
  std::vector<std::string> seen = BaseColumns();
  seen.insert(seen.end(), ArmColumns().begin(), ArmColumns().end());  // reserved, used or not
  auto check = [&](const std::string& name, const char* kind) -> std::string {
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return std::string(kind) + " '" + name + "' would shadow another column";
    }
    seen.push_back(name);
    return "";
  };
  for (const std::string& key : layout.param_keys) {
    if (auto e = check(key, "parameter"); !e.empty()) return e;
  }
  for (const std::string& metric : layout.metric_names) {
    if (auto e = check(metric, "metric"); !e.empty()) return e;
  }
  return "";
}

CsvLayout LayoutFor(const std::vector<CaseInfo>& cases, const CounterSet& counters) {
  CsvLayout layout;
  for (const CaseInfo& info : cases) {
    for (const Param& p : info.params) AddUnique(layout.param_keys, p.key);
    for (const Family& family : Families()) {
      if (family.name != info.family) continue;
      for (const std::string& metric : family.metrics) {
        size_t at = metric.find(kCounterPlaceholder);
        if (at == std::string::npos) {
          AddUnique(layout.metric_names, metric);
          continue;
        }
        for (const CounterStatus& s : counters.statuses()) {
          std::string expanded = metric;
          expanded.replace(at, std::strlen(kCounterPlaceholder), s.spec.column);
          AddUnique(layout.metric_names, expanded);
        }
      }
    }
  }
  for (const CounterStatus& s : counters.statuses()) AddUnique(layout.counter_stems, s.spec.column);
  return layout;
}

std::string CsvCell(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string CsvLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvCell(cells[i]);
  }
  return line + "\n";
}

std::map<std::string, std::string> RowCells(const benchmark::BenchmarkReporter::Run& run,
                                            const RowContext& context) {
  std::map<std::string, std::string> cells;
  const std::string name = run.run_name.function_name;
  cells["schema_version"] = std::to_string(kSchemaVersion);
  cells["run_id"] = context.run_id;
  cells["name"] = name;
  cells["counters_mode"] = context.counters_mode;
  cells["counters_kernel"] = context.counters_kernel;
  cells["counters_user_only"] = context.counters_user_only;
  cells["host"] = context.host;
  cells["kernel_release"] = context.kernel_release;
  cells["machine_class"] = context.machine_class;
  if (context.cases != nullptr) {
    if (auto found = context.cases->find(name); found != context.cases->end()) {
      cells["family"] = found->second.family;
      cells["workload"] = found->second.workload;
      for (const Param& p : found->second.params) cells[p.key] = p.value;
    }
  }
  cells["process"] = std::to_string(context.process);
  if (context.arm >= 0) {
    cells["arm"] = std::to_string(context.arm);
    cells["variant"] = context.variant;
    cells["arm_position"] = std::to_string(context.arm_position);
  }
  cells["repetition"] = std::to_string(std::max<int64_t>(run.repetition_index, 0));
  cells["repetitions"] = std::to_string(run.repetitions);
  cells["threads"] = std::to_string(run.threads);

  if (run.error_occurred) {
    const std::string skip = keys::kSkipPrefix;
    bool skipped = run.error_message.rfind(skip, 0) == 0;
    cells["status"] = skipped ? "skipped" : "error";
    cells["message"] = skipped ? run.error_message.substr(skip.size()) : run.error_message;
    return cells;
  }

  const benchmark::UserCounters counters = SmallestOverThreads(run.counters);
  const double* valid = FindCounter(counters, keys::kValid);
  const double* config_ok = FindCounter(counters, keys::kConfigOk);
  // Averaged over threads: only a unanimous 1 is a pass.
  if (valid != nullptr) cells["valid"] = *valid == 1.0 ? "1" : "0";
  if (config_ok != nullptr) cells["config_ok"] = *config_ok == 1.0 ? "1" : "0";
  if (valid == nullptr) {
    cells["status"] = "unvalidated";
  } else if (*valid != 1.0) {
    cells["status"] = "invalid";
  } else if (config_ok != nullptr && *config_ok != 1.0) {
    cells["status"] = "not_effective";
  } else {
    cells["status"] = "ok";
  }
  size_t tab = run.report_label.find(keys::kLabelSeparator);
  cells["validation"] = run.report_label.substr(0, tab);
  if (tab != std::string::npos) cells["config_note"] = run.report_label.substr(tab + 1);

  cells["iterations"] = std::to_string(run.iterations);
  if (run.iterations > 0) {
    double ns_per_op = run.real_accumulated_time * 1e9 / static_cast<double>(run.iterations);
    cells["ns_per_op"] = Number(ns_per_op);
    cells["cpu_ns_per_op"] =
        Number(run.cpu_accumulated_time * 1e9 / static_cast<double>(run.iterations));
    const double* bytes = FindCounter(counters, keys::kBytesPerOp);
    if (bytes != nullptr && *bytes > 0) {
      cells["bytes_per_op"] = Number(*bytes);
      if (ns_per_op > 0) cells["bytes_per_second"] = Number(*bytes / (ns_per_op * 1e-9));
      if (ns_per_op > 0 && context.calibration.memory_bytes_per_second > 0) {
        cells["fraction_of_ceiling"] = Number(*bytes / (ns_per_op * 1e-9) / context.calibration.memory_bytes_per_second);
      }
    }
  }
  if (context.calibration.cpu_ns > 0) cells["calibration_cpu_ns"] = Number(context.calibration.cpu_ns);
  if (context.calibration.memory_bytes_per_second > 0) {
    cells["calibration_memory_bytes_per_second"] = Number(context.calibration.memory_bytes_per_second);
  }
  const double* pages = FindCounter(counters, keys::kPagesPerOp);
  if (pages != nullptr && *pages > 0) cells["pages_per_op"] = Number(*pages);
  if (const double* tree = FindCounter(counters, keys::kTreeCpuNs)) cells["total_cpu_ns_per_op"] = Number(*tree);
  if (const double* steal = FindCounter(counters, keys::kStealFraction)) cells["steal_fraction"] = Number(*steal);
  if (const double* wait = FindCounter(counters, keys::kCpuWaitFraction)) {
    cells["cpu_wait_fraction"] = Number(*wait);
  }
  if (const double* fraction = FindCounter(counters, keys::kRunFraction)) {
    cells["counter_run_fraction"] = Number(*fraction);
  }
  const std::string counter_prefix = keys::kCounterPrefix;
  const std::string metric_prefix = keys::kMetricPrefix;
  for (const auto& [key, counter] : counters) {
    if (key.rfind(counter_prefix, 0) == 0) {
      std::string stem = key.substr(counter_prefix.size());
      cells[stem + "_per_op"] = Number(counter.value);
      if (pages != nullptr && *pages > 0) cells[stem + "_per_page"] = Number(counter.value / *pages);
    } else if (key.rfind(metric_prefix, 0) == 0) {
      cells[key.substr(metric_prefix.size())] = Number(counter.value);
    }
  }
  return cells;
}

CsvReporter::CsvReporter(const std::string& path, std::vector<CaseInfo> cases,
                         const CsvLayout& layout, RowContext context)
    : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular),
      columns_(layout.Columns()), context_(std::move(context)) {
  for (CaseInfo& info : cases) cases_.emplace(info.name, std::move(info));
  context_.cases = &cases_;
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = SysError("open(" + path + ", O_CREAT|O_EXCL)");
    return;
  }
  if (!WriteLine(CsvLine(columns_))) {
    close(fd_);
    fd_ = -1;
  }
}

CsvReporter::~CsvReporter() {
  if (fd_ >= 0) {
    fsync(fd_);
    close(fd_);
  }
}

bool CsvReporter::WriteLine(const std::string& line) {
  // One write per row: a run killed at any moment leaves only whole rows behind.
  ssize_t wrote = write(fd_, line.data(), line.size());
  if (wrote == static_cast<ssize_t>(line.size())) return true;
  error_ = SysError("write(results.csv)", wrote < 0 ? errno : ENOSPC);
  std::cerr << "mapbench: cannot write a results row: " << error_ << "\n";
  return false;
}

void CsvReporter::ReportRuns(const std::vector<Run>& runs) {
  // The console shows throughput and the counters; the bookkeeping keys stay in the CSV.
  std::vector<Run> shown = runs;
  for (Run& run : shown) {
    benchmark::UserCounters kept;
    for (const auto& [key, counter] : run.counters) {
      const std::string prefix = keys::kCounterPrefix;
      if (key.rfind(prefix, 0) == 0) kept[key.substr(prefix.size())] = counter;
      if (key == "bytes_per_second") kept[key] = counter;
    }
    run.counters = kept;
  }
  ConsoleReporter::ReportRuns(shown);
  if (calibrator_ != nullptr) {
    const CalibrationReading after = calibrator_->Measure();
    context_.calibration = GeometricMean(last_reading_, after);
    last_reading_ = after;
  }
  for (const Run& run : runs) {
    if (run.run_type == Run::RT_Iteration) WriteRow(run);  // aggregates are recomputed downstream
  }
  Sync();
}

bool CsvReporter::ReportContext(const Context& context) {
  if (context_printed_) return true;
  context_printed_ = true;
  return ConsoleReporter::ReportContext(context);
}

void CsvReporter::WriteRow(const Run& run) {
  if (fd_ < 0) return;
  std::map<std::string, std::string> cells = RowCells(run, context_);
  std::vector<std::string> line;
  line.reserve(columns_.size());
  for (const std::string& column : columns_) {
    auto found = cells.find(column);
    line.push_back(found == cells.end() ? "" : found->second);
  }
  if (WriteLine(CsvLine(line))) ++status_counts_[cells["status"]];
}

void CsvReporter::WriteFailureRow(const CaseInfo& info, const std::string& message) {
  Run run;
  run.run_name.function_name = info.name;
  run.error_occurred = true;
  run.error_message = message;
  run.repetitions = 0;
  WriteRow(run);
  Sync();
}

void CsvReporter::Sync() {
  if (fd_ >= 0) fsync(fd_);
}

std::string CsvReporter::CountsText() const {
  std::string text;
  for (const auto& [status, count] : status_counts_) text += status + " " + std::to_string(count) + "\n";
  return text;
}

void CsvReporter::AddCounts(const std::string& text) {
  std::istringstream in(text);
  std::string status;
  int count;
  while (in >> status >> count) status_counts_[status] += count;
}

}  // namespace mapbench
