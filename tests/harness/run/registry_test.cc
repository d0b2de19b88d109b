// Headline declarations: checked against the family's columns, written for environment.json.
#include "harness/run/registry.h"

#include <gtest/gtest.h>

namespace mapbench {
namespace {

std::vector<Case> NoCases(Suite) { return {}; }

MAPBENCH_FAMILY(Family{"registry_test_time", "default headline", {"a_per_op"}, NoCases});
MAPBENCH_FAMILY(Family{"registry_test_steady", "own headline", {"steady_bytes_per_second"}, NoCases,
                       "steady_bytes_per_second"});
MAPBENCH_FAMILY(Family{"registry_test_bad", "headline not a column", {"a_per_op"}, NoCases, "b_per_op"});

CaseInfo CaseOf(const std::string& family) { return CaseInfo{family + "/x:1", family, family, {}}; }

TEST(Headlines, DefaultAndDeclaredHeadlinesPassAndAreWritten) {
  std::vector<CaseInfo> cases = {CaseOf("registry_test_time"), CaseOf("registry_test_steady"),
                                 CaseOf("registry_test_steady")};
  EXPECT_EQ(CheckHeadlines(cases), "");
  nlohmann::json families = FamiliesJson(cases);
  ASSERT_EQ(families.size(), 2u);  // one entry per family, only those with cases
  EXPECT_EQ(families["registry_test_time"]["headline"], "ns_per_op");
  EXPECT_EQ(families["registry_test_steady"]["headline"], "steady_bytes_per_second");
}

TEST(Headlines, AHeadlineThatIsNoColumnIsRefusedByName) {
  std::string error = CheckHeadlines({CaseOf("registry_test_time"), CaseOf("registry_test_bad")});
  EXPECT_NE(error.find("registry_test_bad"), std::string::npos) << error;
  EXPECT_NE(error.find("b_per_op"), std::string::npos) << error;
}

TEST(Headlines, AFamilyWithoutSelectedCasesIsNotChecked) {
  EXPECT_EQ(CheckHeadlines({CaseOf("registry_test_time")}), "");
  EXPECT_TRUE(FamiliesJson({}).empty());
}

}  // namespace
}  // namespace mapbench
