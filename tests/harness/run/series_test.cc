#include "harness/run/series.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mapbench {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SeriesLines, OneQuotedLinePerPoint) {
  EXPECT_EQ(SeriesLines("run", "fam", "fam/a:1,b", 2, 3, {{0.1, "bytes_per_second", 1.5e9}, {0.2, "major_faults", 7}}),
            "1,run,fam,\"fam/a:1,b\",2,3,0.1,bytes_per_second,1.5e+09\n"
            "1,run,fam,\"fam/a:1,b\",2,3,0.2,major_faults,7\n");
  EXPECT_EQ(SeriesLines("run", "fam", "n", 0, 0, {}), "");
}

TEST(ReportSeries, WritesTheHeaderOnceAndNumbersRepetitions) {
  char dir[] = "/tmp/mapbench-series-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/series.csv";
  BeginCaseSeries(path, "run", "fam", "fam/x:1", 4);
  NextSeriesRepetition();
  EXPECT_EQ(ReportSeries({{0.1, "s", 1}}), "");
  NextSeriesRepetition();
  EXPECT_EQ(ReportSeries({{0.1, "s", 2}}), "");
  BeginCaseSeries(path, "run", "fam", "fam/x:2", 4);  // the next case's process
  NextSeriesRepetition();
  EXPECT_EQ(ReportSeries({{0.1, "s", 3}}), "");
  EXPECT_EQ(ReadAll(path),
            "schema_version,run_id,family,name,process,repetition,t_s,series,value\n"
            "1,run,fam,fam/x:1,4,0,0.1,s,1\n"
            "1,run,fam,fam/x:1,4,1,0.1,s,2\n"
            "1,run,fam,fam/x:2,4,0,0.1,s,3\n");
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ReportSeries, AnInterleavedRunsPointsSayTheirArm) {
  char dir[] = "/tmp/mapbench-series-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/series.csv";
  // The two arms of one case and process slot: same name, process and repetition.
  for (int arm : {1, 0}) {
    BeginCaseSeries(path, "run", "fam", "fam/x:1", 2, arm);
    NextSeriesRepetition();
    EXPECT_EQ(ReportSeries({{0.1, "s", 10.0 + arm}}), "");
  }
  EXPECT_EQ(ReadAll(path),
            "schema_version,run_id,family,name,process,repetition,t_s,series,value,arm\n"
            "1,run,fam,fam/x:1,2,0,0.1,s,11,1\n"
            "1,run,fam,fam/x:1,2,0,0.1,s,10,0\n");
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ReportSeries, SaysWhyItCouldNotWrite) {
  BeginCaseSeries("/nonexistent-dir/series.csv", "run", "fam", "fam/x:1", 0);
  NextSeriesRepetition();
  EXPECT_NE(ReportSeries({{0.1, "s", 1}}).find("No such file"), std::string::npos);
  BeginCaseSeries("/dev/full", "run", "fam", "fam/x:1", 0);
  NextSeriesRepetition();
  std::string full = ReportSeries({{0.1, "s", 1}});
  EXPECT_FALSE(full.empty());
  BeginCaseSeries("", "run", "fam", "fam/x:1", 0);
  EXPECT_FALSE(ReportSeries({{0.1, "s", 1}}).empty());
}

}  // namespace
}  // namespace mapbench
