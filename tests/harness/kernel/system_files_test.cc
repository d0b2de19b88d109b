#include "harness/kernel/system_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "harness/run/environment.h"

namespace mapbench {
namespace {

const std::string kFixtureRoot = MAPBENCH_TEST_FIXTURES "/sysroot";

TEST(Parsers, SelectedChoice) {
  EXPECT_EQ(SelectedChoice("always [madvise] never\n"), "madvise");
  EXPECT_EQ(SelectedChoice("8192\n"), "8192");
  EXPECT_EQ(SelectedChoice("[always] never"), "always");
  EXPECT_EQ(SelectedChoice("broken [text"), "broken [text");
}

TEST(Parsers, Meminfo) {
  auto values = ParseMeminfo("MemTotal:  100 kB\nHugePages_Total:  3\ngarbage line\nBad: x kB\n");
  EXPECT_EQ(values["MemTotal"], 102400u);
  EXPECT_EQ(values["HugePages_Total"], 3u);
  EXPECT_EQ(values.count("Bad"), 0u);
  // A kB value whose byte count does not fit in 64 bits is dropped, not wrapped.
  EXPECT_EQ(ParseMeminfo("Huge: 18014398509481984 kB\n").count("Huge"), 0u);
  EXPECT_EQ(ParseMeminfo("Big: 18014398509481983 kB\n")["Big"], 18014398509481983ull * 1024);
}

TEST(Parsers, KeyValuesAndUnsigned) {
  auto values = ParseKeyValues("nr_dirty 12\npgfault 99\nbroken\n");
  EXPECT_EQ(values["nr_dirty"], 12u);
  EXPECT_EQ(values["pgfault"], 99u);
  // A line with one word does not swallow the next line's name as its value.
  values = ParseKeyValues("broken\nnr_dirty 12\nname words 5\npgfault 7 extra\n");
  EXPECT_EQ(values.count("broken"), 0u);
  EXPECT_EQ(values["nr_dirty"], 12u);
  EXPECT_EQ(values.count("name"), 0u);
  EXPECT_EQ(values["pgfault"], 7u);
  EXPECT_EQ(ParseUnsigned("42"), 42u);
  EXPECT_FALSE(ParseUnsigned("-1"));
  EXPECT_FALSE(ParseUnsigned("12abc"));
  EXPECT_FALSE(ParseUnsigned(""));
  EXPECT_FALSE(ParseUnsigned("99999999999999999999999"));
}

TEST(SystemFiles, ReadsThroughRootAndReportsMissing) {
  SystemFiles sys(kFixtureRoot);
  EXPECT_EQ(sys.ReadLine("/proc/sys/vm/swappiness"), "60");
  EXPECT_FALSE(sys.Read("/proc/does/not/exist"));
  EXPECT_EQ(sys.List("/sys/kernel/mm/hugepages"),
            (std::vector<std::string>{"hugepages-1048576kB", "hugepages-2048kB"}));
}

TEST(Environment, BalloonFeatureBit) {
  EXPECT_TRUE(BalloonReportsFreePages("011001010000"));
  EXPECT_FALSE(BalloonReportsFreePages("011000010000"));
  EXPECT_FALSE(BalloonReportsFreePages(""));
}

TEST(Environment, FreePageReportingNeedsABalloonThatReports) {
  const FreePageReporting fixture = ReadFreePageReporting(SystemFiles(kFixtureRoot));
  EXPECT_TRUE(fixture.balloon);
  EXPECT_TRUE(fixture.active);
  EXPECT_EQ(fixture.order, "9");
  EXPECT_EQ(NoFreePageReporting(fixture), std::nullopt);

  FreePageReporting bare_metal;
  ASSERT_TRUE(NoFreePageReporting(bare_metal));
  EXPECT_NE(NoFreePageReporting(bare_metal)->find("no virtio balloon"), std::string::npos);
  FreePageReporting balloon_only;
  balloon_only.balloon = true;
  ASSERT_TRUE(NoFreePageReporting(balloon_only));
  EXPECT_NE(NoFreePageReporting(balloon_only)->find("does not report free pages"),
            std::string::npos);
  EXPECT_FALSE(ReadFreePageReporting(SystemFiles("/nonexistent")).active);
}

TEST(Environment, SaysWhenTlbShootdownsCannotBeCounted) {
  const std::string root = testing::TempDir() + "/arm64-root";
  std::filesystem::create_directories(root + "/proc");
  std::filesystem::copy_file(MAPBENCH_TEST_FIXTURES "/kernel-text/interrupts-arm64",
                             root + "/proc/interrupts",
                             std::filesystem::copy_options::overwrite_existing);
  RunContext context;
  context.system = SystemFiles(root);
  auto env = CaptureEnvironment(context, ".");
  EXPECT_EQ(env["tlb_shootdowns"]["countable"], false);
  EXPECT_EQ(env["tlb_shootdowns"]["interrupts_row"], false);
  EXPECT_NE(env["tlb_shootdowns"]["note"].get<std::string>().find(
                "TLB shootdown count not available here"),
            std::string::npos);
}

TEST(Environment, PageSizeIsTheMachinesBasePage) {
  EXPECT_EQ(PageSize(), static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(PageSize() & (PageSize() - 1), 0u);  // a power of two
  EXPECT_GE(PageSize(), 4096u);
}

TEST(Environment, HostReportsFromInterruptsAndReportedKib) {
  const HostReports reports = ReadHostReports(SystemFiles(kFixtureRoot));
  EXPECT_EQ(reports.reports, 1449u);
  EXPECT_EQ(reports.reported_kib, 2856984u);
  const HostReports none = ReadHostReports(SystemFiles("/nonexistent"));
  EXPECT_FALSE(none.reports);
  EXPECT_FALSE(none.reported_kib);
}

TEST(Environment, MountOfTheScratchDevice) {
  const char kMountinfo[] =
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
      "29 1 254:1 / / rw,relatime shared:1 master:2 - ext4 /dev/vda1 rw,errors=remount-ro\n"
      "30 29 0:25 / /tmp rw,nosuid - tmpfs tmpfs rw\n";
  auto root = FindMount(kMountinfo, "254:1");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->filesystem, "ext4");
  EXPECT_EQ(root->source, "/dev/vda1");
  EXPECT_EQ(root->options, "rw,relatime");
  EXPECT_EQ(FindMount(kMountinfo, "0:25")->filesystem, "tmpfs");
  EXPECT_FALSE(FindMount(kMountinfo, "8:1"));
  EXPECT_FALSE(FindMount("", "8:1"));
}

TEST(Environment, CmdlineValueIsAWholeParameter) {
  const std::string key = "page_reporting.page_reporting_order";
  EXPECT_EQ(CmdlineValue("quiet " + key + "=9 ro", key), "9");
  EXPECT_EQ(CmdlineValue(key + "=5", key), "5");
  EXPECT_EQ(CmdlineValue("x" + key + "=1 " + key + "=2", key), "2");
  EXPECT_FALSE(CmdlineValue("quiet x" + key + "=1", key));
  EXPECT_FALSE(CmdlineValue("", key));
}

TEST(Environment, JsonTextToleratesBytesThatAreNotUtf8) {
  nlohmann::json value = {{"command_line", "mapbench --scratch_dir /mnt/\xff\xfe"}};
  std::string text;
  ASSERT_NO_THROW(text = JsonText(value));
  EXPECT_EQ(nlohmann::json::parse(text)["command_line"], "mapbench --scratch_dir /mnt/\uFFFD\uFFFD");
}

TEST(Environment, CapturesFixtureTree) {
  RunContext context;
  context.system = SystemFiles(kFixtureRoot);
  context.config.run_id = "fixture-run";
  auto env = CaptureEnvironment(context, ".");
  EXPECT_EQ(env["run"]["run_id"], "fixture-run");
  EXPECT_EQ(env["cpu"]["model"], "Fixture CPU @ 3.0GHz");
  EXPECT_EQ(env["cpu"]["logical_cpus"], 2);
  EXPECT_EQ(env["cpu"]["hypervisor"], true);
  EXPECT_EQ(env["cpu"]["vulnerabilities"]["spectre_v2"], "Mitigation: Enhanced IBRS");
  EXPECT_EQ(env["memory"]["MemAvailable_bytes"], 22000000ull * 1024);
  EXPECT_EQ(env["thp"]["enabled"], "madvise");
  EXPECT_EQ(env["thp"]["defrag"], "madvise");
  EXPECT_EQ(env["thp"]["shmem_enabled"], "never");
  EXPECT_EQ(env["thp"]["sizes"]["hugepages-64kB"]["enabled"], "inherit");
  EXPECT_EQ(env["thp"]["sizes"]["hugepages-2048kB"]["enabled"], "never");
  EXPECT_EQ(env["hugetlb"]["hugepages-2048kB"]["nr_hugepages"], 4);
  EXPECT_EQ(env["hugetlb"]["hugepages-1048576kB"]["free_hugepages"], 0);
  EXPECT_EQ(env["vm"]["dirty_ratio"], "20");
  EXPECT_TRUE(env["vm"]["dirty_bytes"].is_null());  // missing in the fixture: null, not an error
  EXPECT_EQ(env["perf"]["perf_event_paranoid"], "2");
  EXPECT_EQ(env["virtualization"]["free_page_reporting"], true);
  EXPECT_EQ(env["virtualization"]["page_reporting_order"], "9");  // sysfs, not the cmdline request
  EXPECT_EQ(env["virtualization"]["free_page_reports"], 1449);    // virtio0-reporting_vq
  EXPECT_EQ(env["virtualization"]["reported_kib"], 2856984);
  EXPECT_EQ(env["memory"]["page_size_bytes"], PageSize());
  EXPECT_EQ(env["tlb_shootdowns"]["countable"], true);  // the fixture's x86 TLB row
  EXPECT_EQ(env["tlb_shootdowns"]["note"], "");
  EXPECT_FALSE(env["build"]["compiler"].get<std::string>().empty());
}

}  // namespace
}  // namespace mapbench
