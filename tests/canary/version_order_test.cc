#include "canary/version_order.h"

#include <gtest/gtest.h>

namespace canarymesh::canary {
namespace {

TEST(VersionOrderTest, DigitRunsCompareAsNumbers) {
  EXPECT_LT(CompareVersionsNaturally("v2", "v9"), 0);
  EXPECT_LT(CompareVersionsNaturally("v9", "v10"), 0);
  EXPECT_GT(CompareVersionsNaturally("v10", "v2"), 0);
  EXPECT_LT(CompareVersionsNaturally("1.9.3", "1.10.0"), 0);
  EXPECT_LT(CompareVersionsNaturally("v1", "v1-rc1"), 0);
  EXPECT_EQ(CompareVersionsNaturally("v7", "v7"), 0);
  // Numbers longer than 64 bits still compare by value.
  EXPECT_LT(CompareVersionsNaturally("v99999999999999999999999", "v100000000000000000000000"), 0);
}

TEST(VersionOrderTest, DistinctNamesNeverCompareEqual) {
  EXPECT_NE(CompareVersionsNaturally("v07", "v7"), 0);
  EXPECT_EQ(CompareVersionsNaturally("v07", "v7"), -CompareVersionsNaturally("v7", "v07"));
}

TEST(VersionOrderTest, SortNewestFirst) {
  std::vector<std::string> versions = {"v2", "v10", "v1", "v9", "canary", "v10a"};
  SortNewestFirst(versions);
  const std::vector<std::string> expected = {"v10a", "v10", "v9", "v2", "v1", "canary"};
  EXPECT_EQ(versions, expected);
}

}  // namespace
}  // namespace canarymesh::canary
