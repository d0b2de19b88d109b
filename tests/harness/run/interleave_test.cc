#include "harness/run/interleave.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

namespace mapbench {
namespace {

namespace fs = std::filesystem;

TEST(Interleave, ParsesValuesAndRefusesMalformedText) {
  std::string error;
  auto request = ParseInterleave("thp.enabled=always,never", &error);
  ASSERT_TRUE(request) << error;
  EXPECT_EQ(request->knob, "thp.enabled");
  EXPECT_EQ(request->values, (std::vector<std::string>{"always", "never"}));
  auto same = ParseInterleave("thp.enabled=never,never,never", &error);  // A/A/A
  ASSERT_TRUE(same);
  EXPECT_EQ(same->values.size(), 3u);
  for (const char* bad : {"thp.enabled", "thp.enabled=always", "thp.enabled=always,", "thp.enabled=,never",
                          "=always,never", "thp.enabled=always,,never"}) {
    EXPECT_FALSE(ParseInterleave(bad, &error)) << bad;
    EXPECT_NE(error.find("--interleave"), std::string::npos) << error;
  }
}

TEST(Interleave, ChecksKnobRuntimeValuesAndTune) {
  const SystemFiles sys(MAPBENCH_TEST_FIXTURES "/sysroot");
  const std::vector<KnobInfo> knobs = ListKnobs(sys, "");
  auto check = [&](const std::string& text, const std::vector<TuningRequest>& tune = {}) {
    std::string error;
    auto request = ParseInterleave(text, &error);
    return request ? CheckInterleave(*request, knobs, tune) : error;
  };
  EXPECT_EQ(check("thp.enabled=always,never"), "");
  EXPECT_EQ(check("vm.swappiness=10,60,10"), "");
  EXPECT_NE(check("kernel.panic=0,1").find("allowlist"), std::string::npos);
  EXPECT_NE(check("thp.enabled=always,sometimes"), "");
  EXPECT_NE(check("hugetlb.2M.nr_hugepages=0,8").find("cannot change between cases"), std::string::npos);
  EXPECT_NE(check("thp.enabled=always,never", {{"thp.enabled", "never"}}).find("--tune"), std::string::npos);
  EXPECT_EQ(check("thp.enabled=always,never", {{"vm.swappiness", "10"}}), "");
}

// Every order is a permutation of the arms; per case, each arm holds each position
// equally often over a multiple of `arms` processes; the seed fixes the order.
TEST(Interleave, OrdersAreBalancedRotationsAndSeeded) {
  for (int arms : {2, 3}) {
    const int processes = 4 * arms, cases = 25;
    auto orders = ArmOrders(arms, processes, cases, 7);
    ASSERT_EQ(orders.size(), static_cast<size_t>(processes));
    for (int c = 0; c < cases; ++c) {
      std::map<std::pair<int, int>, int> at;  // (position, arm) -> count
      for (int p = 0; p < processes; ++p) {
        const std::vector<int>& order = orders[p][c];
        ASSERT_EQ(order.size(), static_cast<size_t>(arms));
        for (int i = 0; i < arms; ++i) {
          EXPECT_EQ(order[i], (order[0] + i) % arms);  // a rotation: a Latin square row
          ++at[{i, order[i]}];
        }
      }
      for (const auto& [where, count] : at) EXPECT_EQ(count, processes / arms);
    }
    EXPECT_EQ(ArmOrders(arms, processes, cases, 7), orders);
  }
  // Not one fixed order: over many cases both orders of two arms come first.
  auto orders = ArmOrders(2, 1, 64, 3);
  int a_first = 0;
  for (const auto& order : orders[0]) a_first += order[0] == 0;
  EXPECT_GT(a_first, 10);
  EXPECT_LT(a_first, 54);
  EXPECT_NE(ArmOrders(2, 4, 64, 3), ArmOrders(2, 4, 64, 4));
}

}  // namespace
}  // namespace mapbench
