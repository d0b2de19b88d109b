#include "harness/run/csv_reporter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mapbench {
namespace {

using BenchRun = benchmark::BenchmarkReporter::Run;
using benchmark::Counter;

TEST(CsvCell, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvCell(""), "");
  EXPECT_EQ(CsvLine({"a", "b,c", ""}), "a,\"b,c\",\n");
}

std::map<std::string, CaseInfo> Cases() {
  CaseInfo info{"fam/method:mmap/block_kib:64", "fam", "fam",
                {{"method", "mmap"}, {"block_kib", "64"}}};
  return {{info.name, info}};
}

BenchRun OkRun() {
  BenchRun run;
  run.run_name.function_name = "fam/method:mmap/block_kib:64";
  run.iterations = 10;
  run.repetition_index = 2;
  run.repetitions = 5;
  run.real_accumulated_time = 0.001;  // 100 us per op
  run.cpu_accumulated_time = 0.0005;
  run.counters[keys::kValid] = Counter(1);
  run.counters[keys::kConfigOk] = Counter(1);
  run.counters[keys::kBytesPerOp] = Counter(1 << 20);
  run.counters[keys::kPagesPerOp] = Counter(256);
  run.counters["ctr.minor_faults"] = Counter(512);
  run.counters["metric.resident_fraction_before"] = Counter(0.5);
  run.report_label = std::string("checksum ok") + keys::kLabelSeparator + "warm: 100%";
  return run;
}

TEST(RowCells, OkRowHasParamsTimesCountersAndNotes) {
  auto cases = Cases();
  RowContext context{"run-1", "software", &cases};
  auto cells = RowCells(OkRun(), context);
  EXPECT_EQ(cells["status"], "ok");
  EXPECT_EQ(cells["family"], "fam");
  EXPECT_EQ(cells["method"], "mmap");
  EXPECT_EQ(cells["block_kib"], "64");
  EXPECT_EQ(cells["repetition"], "2");
  EXPECT_EQ(cells["ns_per_op"], "100000");
  EXPECT_EQ(cells["cpu_ns_per_op"], "50000");
  EXPECT_DOUBLE_EQ(std::stod(cells["bytes_per_second"]), 1048576.0 * 1e4);
  EXPECT_EQ(cells["minor_faults_per_op"], "512");
  EXPECT_EQ(cells["minor_faults_per_page"], "2");
  EXPECT_EQ(cells["resident_fraction_before"], "0.5");
  EXPECT_EQ(cells["validation"], "checksum ok");
  EXPECT_EQ(cells["config_note"], "warm: 100%");
  EXPECT_EQ(cells["run_id"], "run-1");
  EXPECT_EQ(cells["schema_version"], "1");
}

TEST(RowCells, StatusFollowsTheChecks) {
  auto cases = Cases();
  RowContext context{"r", "none", &cases};
  BenchRun invalid = OkRun();
  invalid.counters[keys::kValid] = Counter(0);
  EXPECT_EQ(RowCells(invalid, context)["status"], "invalid");

  BenchRun partly = OkRun();  // one of two threads failed: averaged to 0.5, still invalid
  partly.counters[keys::kValid] = Counter(0.5);
  EXPECT_EQ(RowCells(partly, context)["status"], "invalid");

  BenchRun not_effective = OkRun();
  not_effective.counters[keys::kConfigOk] = Counter(0);
  EXPECT_EQ(RowCells(not_effective, context)["status"], "not_effective");

  BenchRun unchecked = OkRun();
  unchecked.counters.erase(keys::kValid);
  EXPECT_EQ(RowCells(unchecked, context)["status"], "unvalidated");
}

TEST(RowCells, SkipsAndErrorsKeepTheirReason) {
  auto cases = Cases();
  RowContext context{"r", "none", &cases};
  BenchRun skipped = OkRun();
  skipped.error_occurred = true;
  skipped.error_message = std::string(keys::kSkipPrefix) + "not enough disk";
  auto cells = RowCells(skipped, context);
  EXPECT_EQ(cells["status"], "skipped");
  EXPECT_EQ(cells["message"], "not enough disk");
  EXPECT_EQ(cells.count("ns_per_op"), 0u);

  BenchRun failed = OkRun();
  failed.error_occurred = true;
  failed.error_message = "mmap: Cannot allocate memory";
  EXPECT_EQ(RowCells(failed, context)["status"], "error");
}

// Every row, a failed one too, says which machine it ran on: runs of several hosts merge.
TEST(RowCells, EveryRowCarriesTheMachineIdentity) {
  auto cases = Cases();
  RowContext context{.run_id = "r", .counters_mode = "none", .cases = &cases, .host = "node7",
                     .kernel_release = "6.18.0-1-amd64", .machine_class = "zen4"};
  BenchRun failed = OkRun();
  failed.error_occurred = true;
  failed.error_message = "crashed";
  for (const BenchRun& run : {OkRun(), failed}) {
    auto cells = RowCells(run, context);
    EXPECT_EQ(cells["host"], "node7");
    EXPECT_EQ(cells["kernel_release"], "6.18.0-1-amd64");
    EXPECT_EQ(cells["machine_class"], "zen4");
  }
  const std::vector<std::string>& base = BaseColumns();
  ASSERT_GE(base.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(base.end() - 3, base.end()),
            (std::vector<std::string>{"host", "kernel_release", "machine_class"}));
}

// Kernel counting refused: the row says so, and names the user-mode-only counters.
TEST(RowCells, SayWhichCountersLostKernelMode) {
  auto cases = Cases();
  RowContext context{.run_id = "r",
                     .counters_mode = "software",
                     .cases = &cases,
                     .counters_kernel = "0",
                     .counters_user_only = "minor_faults major_faults"};
  auto cells = RowCells(OkRun(), context);
  EXPECT_EQ(cells["counters_kernel"], "0");
  EXPECT_EQ(cells["counters_user_only"], "minor_faults major_faults");
  BenchRun skipped = OkRun();
  skipped.error_occurred = true;
  skipped.error_message = std::string(keys::kSkipPrefix) + "no disk";
  EXPECT_EQ(RowCells(skipped, context)["counters_kernel"], "0");  // like counters_mode
  const std::vector<std::string>& base = BaseColumns();
  auto mode = std::find(base.begin(), base.end(), "counters_mode");
  ASSERT_NE(mode, base.end());
  ASSERT_LT(mode + 2, base.end());
  EXPECT_EQ(*(mode + 1), "counters_kernel");
  EXPECT_EQ(*(mode + 2), "counters_user_only");
}

// Per-thread running fractions ("key@thread") become one cell: the smallest.
TEST(RowCells, RunFractionsAreTheSmallestOverThreads) {
  auto cases = Cases();
  RowContext context{"r", "hardware", &cases};
  BenchRun run = OkRun();
  run.counters[keys::RunFraction(0)] = Counter(1);
  run.counters[keys::RunFraction(1)] = Counter(0.25);
  run.counters["metric.touch_counter_run_fraction@0"] = Counter(0.5);
  run.counters["metric.touch_counter_run_fraction@1"] = Counter(0.75);
  auto cells = RowCells(run, context);
  EXPECT_EQ(cells["counter_run_fraction"], "0.25");
  EXPECT_EQ(cells["touch_counter_run_fraction"], "0.5");
  EXPECT_EQ(cells.count("touch_counter_run_fraction@0"), 0u);
}

TEST(CsvLayout, ColumnsAreBaseThenParamsMetricsCounters) {
  CsvLayout layout{{"method"}, {"resident_fraction_before"}, {"minor_faults"}};
  auto columns = layout.Columns();
  ASSERT_EQ(columns.size(), BaseColumns().size() + 4);
  EXPECT_EQ(columns[0], "schema_version");
  EXPECT_EQ(columns[BaseColumns().size()], "method");
  EXPECT_EQ(columns.back(), "minor_faults_per_page");
  EXPECT_EQ(ValidateLayout(layout), "");
}

TEST(CsvLayout, RefusesShadowedColumns) {
  EXPECT_NE(ValidateLayout({{"threads"}, {}, {}}), "");
  EXPECT_NE(ValidateLayout({{"size_kib"}, {"size_kib"}, {}}), "");
}

// Noise, calibration and the interleaved arm: cells only where they were measured.
TEST(RowCells, NoiseCalibrationAndArm) {
  auto cases = Cases();
  RowContext plain{"run-1", "software", &cases};
  auto cells = RowCells(OkRun(), plain);
  for (const char* column : {"steal_fraction", "cpu_wait_fraction", "calibration_cpu_ns",
                             "calibration_memory_bytes_per_second", "fraction_of_ceiling", "arm", "variant"}) {
    EXPECT_EQ(cells.count(column), 0u) << column;
  }
  RowContext context{"run-1", "software", &cases};
  context.arm = 1;
  context.variant = "thp.enabled=never";
  context.arm_position = 0;
  context.calibration = {2e6, 2 * 1048576.0 * 1e4};  // twice the row's throughput
  BenchRun run = OkRun();
  run.counters[keys::kStealFraction] = Counter(0.25);
  run.counters[keys::kCpuWaitFraction] = Counter(0.125);
  cells = RowCells(run, context);
  EXPECT_EQ(cells["steal_fraction"], "0.25");
  EXPECT_EQ(cells["cpu_wait_fraction"], "0.125");
  EXPECT_EQ(cells["calibration_cpu_ns"], "2000000");
  EXPECT_DOUBLE_EQ(std::stod(cells["fraction_of_ceiling"]), 0.5);
  EXPECT_EQ(cells["arm"], "1");
  EXPECT_EQ(cells["variant"], "thp.enabled=never");
  EXPECT_EQ(cells["arm_position"], "0");
}

TEST(CsvLayout, ArmColumnsOnlyWhenInterleaved) {
  CsvLayout layout{{"method"}, {}, {}};
  EXPECT_EQ(layout.Columns().size(), BaseColumns().size() + 1);
  layout.interleaved = true;
  auto columns = layout.Columns();
  EXPECT_EQ(columns[BaseColumns().size()], "arm");
  EXPECT_EQ(columns.back(), "method");
  EXPECT_NE(ValidateLayout({{"variant"}, {}, {}}), "");  // reserved even when not used
}

TEST(CsvReporter, WritesHeaderAndRowsAndNeverOverwrites) {
  char dir_template[] = "csvtestXXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/results.csv";
  CaseInfo info = Cases().begin()->second;
  CsvLayout layout{{"method", "block_kib"}, {"resident_fraction_before"}, {"minor_faults"}};
  {
    std::ostringstream console;
    CsvReporter reporter(path, {info}, layout, RowContext{"run-7", "software", nullptr});
    reporter.SetOutputStream(&console);
    reporter.SetErrorStream(&console);
    ASSERT_TRUE(reporter.ok()) << reporter.error();
    BenchRun aggregate = OkRun();
    aggregate.run_type = BenchRun::RT_Aggregate;
    reporter.ReportRuns({OkRun(), OkRun(), aggregate});
    EXPECT_EQ(reporter.status_counts().at("ok"), 2);
  }
  std::ifstream in(path);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("schema_version,run_id,family", 0), 0u);
  int rows = 0;
  while (std::getline(in, row)) {
    ++rows;
    EXPECT_NE(row.find(",run-7,fam,"), std::string::npos) << row;
  }
  EXPECT_EQ(rows, 2);  // aggregates are not rows

  CsvReporter again(path, {info}, layout, RowContext{"run-8", "software", nullptr});
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.error().find("File exists"), std::string::npos);
  unlink(path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace mapbench
