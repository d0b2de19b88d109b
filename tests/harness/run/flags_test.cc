#include "harness/run/flags.h"

#include <gtest/gtest.h>

#include "harness/run/registry.h"

namespace mapbench {
namespace {

std::optional<Flags> Parse(std::vector<std::string> args, std::string* error) {
  args.insert(args.begin(), "mapbench");
  return ParseFlags(args, error);
}

TEST(Flags, ParsesBothSpellingsAndPassesBenchmarkFlagsThrough) {
  std::string error;
  auto flags = Parse({"--suite=full", "--filter", "ceiling", "--out_dir=/tmp/x",
                      "--benchmark_repetitions=3", "--list"},
                     &error);
  ASSERT_TRUE(flags) << error;
  EXPECT_EQ(flags->config.suite, Suite::kFull);
  EXPECT_EQ(flags->config.filter, "ceiling");
  EXPECT_EQ(flags->config.out_dir, "/tmp/x");
  EXPECT_TRUE(flags->out_dir_given);
  EXPECT_TRUE(flags->list_cases);
  EXPECT_EQ(flags->benchmark_args,
            (std::vector<std::string>{"mapbench", "--benchmark_repetitions=3"}));
}

TEST(Flags, MachineClassIsALabelForEveryRow) {
  std::string error;
  auto flags = Parse({}, &error);
  ASSERT_TRUE(flags) << error;
  EXPECT_EQ(flags->config.machine_class, "");  // default: no label
  flags = Parse({"--machine_class", "epyc-zen4 VM"}, &error);
  ASSERT_TRUE(flags) << error;
  EXPECT_EQ(flags->config.machine_class, "epyc-zen4 VM");
  flags = Parse({"--machine_class=" + std::string(64, 'x')}, &error);
  ASSERT_TRUE(flags) << error;
}

TEST(Flags, BadInputGetsOneClearLine) {
  struct BadCase {
    std::vector<std::string> args;
    std::string says;
  };
  const BadCase cases[] = {
      {{"--suite=huge"}, "--suite must be quick or full"},
      {{"--suite"}, "needs a value"},
      {{"--suite="}, "non-empty"},
      {{"--filter=("}, "not a valid regular expression"},
      {{"--nonsense"}, "unknown flag '--nonsense'"},
      {{"--machine_class=a,b"}, "no comma"},
      {{"--machine_class", "tab\there"}, "printable characters only"},
      {{"--machine_class", "line\nbreak"}, "printable characters only"},
      {{"--machine_class", std::string(65, 'x')}, "at most 64 characters"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--list=yes"}, "takes no value"},
      {{"--out_dir", "--list"}, "needs a value"},
  };
  for (const BadCase& c : cases) {
    std::string error;
    EXPECT_FALSE(Parse(c.args, &error)) << c.args[0];
    EXPECT_NE(error.find(c.says), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

// Every numeric flag, with each kind of bad value: one line naming the flag and the range.
TEST(Flags, NumericFlagsRefuseEveryKindOfBadValue) {
  const std::vector<std::string> bad_values = {"", "abc", "-1", "0", "99999999999", "1e999", "nan",
                                               "inf", "2x", " 3", "0x10"};
  for (const std::string flag : {"--processes", "--case_timeout", "--benchmark_repetitions",
                                 "--benchmark_min_time"}) {
    for (const std::string& value : bad_values) {
      std::string error;
      EXPECT_FALSE(Parse({flag + "=" + value}, &error)) << flag << "=" << value;
      EXPECT_NE(error.find(flag), std::string::npos) << error;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
  std::string error;
  EXPECT_FALSE(Parse({"--processes=2.5"}, &error));
  EXPECT_FALSE(Parse({"--benchmark_repetitions=2.5"}, &error));
  auto ok = Parse({"--processes=3", "--case_timeout=0.5", "--benchmark_repetitions=1", "--benchmark_min_time=0.01"},
                  &error);
  ASSERT_TRUE(ok) << error;
  EXPECT_EQ(ok->config.processes, 3);
  EXPECT_DOUBLE_EQ(ok->config.case_timeout_s, 0.5);
}

TEST(Flags, PageStateTakesAutoOrAMethod) {
  std::string error;
  auto defaults = Parse({}, &error);
  ASSERT_TRUE(defaults) << error;
  EXPECT_EQ(defaults->config.page_state, "auto");
  for (const std::string value : {"auto", "cachestat", "kpageflags", "smaps"}) {
    auto flags = Parse({"--page_state=" + value}, &error);
    ASSERT_TRUE(flags) << error;
    EXPECT_EQ(flags->config.page_state, value);
  }
  for (const std::string value : {"mincore", "Cachestat", "auto,smaps"}) {
    EXPECT_FALSE(Parse({"--page_state=" + value}, &error)) << value;
    EXPECT_NE(error.find("--page_state must be auto, cachestat, kpageflags or smaps"),
              std::string::npos)
        << error;
  }
}

TEST(Flags, SuiteDefaultsYieldToTheUser) {
  auto defaults = SuiteBenchmarkDefaults(Suite::kQuick, {"mapbench"});
  EXPECT_EQ(defaults.size(), 2u);
  auto with_user = SuiteBenchmarkDefaults(Suite::kQuick, {"mapbench", "--benchmark_repetitions=9"});
  ASSERT_EQ(with_user.size(), 1u);
  EXPECT_EQ(with_user[0].rfind("--benchmark_min_time", 0), 0u);
}

TEST(Flags, GoogleBenchmarkJsonIsKeptUnlessTheUserChoseAnOutput) {
  BenchmarkOut kept = BenchmarkOutFor("results/r1", {"mapbench"});
  EXPECT_EQ(kept.path, "results/r1/benchmark.json");
  EXPECT_EQ(kept.case_path, "results/r1/.benchmark-case.json");
  EXPECT_EQ(kept.flags, (std::vector<std::string>{"--benchmark_out=results/r1/.benchmark-case.json",
                                                  "--benchmark_out_format=json"}));
  BenchmarkOut theirs = BenchmarkOutFor("results/r1", {"mapbench", "--benchmark_out=gb.json"});
  EXPECT_EQ(theirs.path, "gb.json");
  EXPECT_EQ(theirs.case_path, "gb.json");
  EXPECT_TRUE(theirs.flags.empty());
  BenchmarkOut csv = BenchmarkOutFor("results/r1", {"mapbench", "--benchmark_out_format=csv"});
  EXPECT_TRUE(csv.case_path.empty());
  EXPECT_TRUE(csv.flags.empty());
}

TEST(Flags, HelpNamesEveryFlag) {
  std::string help = HelpText();
  for (const char* flag : {"--suite", "--filter", "--out_dir", "--counters", "--scratch_dir",
                           "--list", "--list_counters"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// A family registered only in this test binary.
MAPBENCH_FAMILY(Family{"test_family", "for registry tests", {"widgets_per_op"}, [](Suite suite) {
  std::vector<Case> cases;
  for (const char* size : {"1", "2"}) {
    cases.push_back(Case{"", {{"size_kib", size}}, [](benchmark::State&, const RunContext&) {}, {}});
  }
  if (suite == Suite::kFull) {
    cases.push_back(Case{"other", {{"size_kib", "3"}}, [](benchmark::State&, const RunContext&) {}, {}});
  }
  return cases;
}});

TEST(Registry, NamesAndSelection) {
  EXPECT_EQ(CaseName("fam", "fam", {{"a", "1"}, {"b", "x"}}), "fam/a:1/b:x");
  EXPECT_EQ(CaseName("fam", "sub", {}), "fam/sub");
  auto quick = SelectCases(Suite::kQuick, "");
  ASSERT_EQ(quick.size(), 2u);
  EXPECT_EQ(quick[0].name, "test_family/size_kib:1");
  EXPECT_EQ(quick[0].workload, "test_family");
  auto full = SelectCases(Suite::kFull, "other");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].name, "test_family/other/size_kib:3");
  EXPECT_TRUE(SelectCases(Suite::kQuick, "no_match").empty());
}

}  // namespace
}  // namespace mapbench
