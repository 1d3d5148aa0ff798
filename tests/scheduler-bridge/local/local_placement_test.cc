#include "scheduler-bridge/local/local_placement.h"

#include <gtest/gtest.h>

namespace canarymesh::bridge {
namespace {

std::vector<std::string> Problems(uint32_t instances,
                                  std::vector<PlacementConstraint> constraints) {
  InstanceGroupSpec spec;
  spec.instances = instances;
  spec.constraints = std::move(constraints);
  return LocalPlacementProblems(spec, "box1");
}

TEST(LocalPlacementTest, NoConstraintsNoProblems) { EXPECT_TRUE(Problems(5, {}).empty()); }

TEST(LocalPlacementTest, HostnameUniqueOnlyForOneInstance) {
  EXPECT_TRUE(Problems(1, {{"hostname", "UNIQUE", ""}}).empty());
  auto problems = Problems(3, {{"hostname", "UNIQUE", ""}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("hostname:UNIQUE: 3 instances", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find("box1"), std::string::npos);
}

TEST(LocalPlacementTest, ClusterIsOneMachineUnlessItNamesAnother) {
  EXPECT_TRUE(Problems(3, {{"hostname", "CLUSTER", ""}}).empty());
  EXPECT_TRUE(Problems(3, {{"hostname", "CLUSTER", "box1"}}).empty());
  auto problems = Problems(3, {{"hostname", "CLUSTER", "box2"}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("'box2'"), std::string::npos) << problems[0];
}

TEST(LocalPlacementTest, LikeUnlikeIsMatchTheWholeHostname) {
  EXPECT_TRUE(Problems(2, {{"hostname", "LIKE", "box[0-9]"}}).empty());
  EXPECT_EQ(Problems(2, {{"hostname", "LIKE", "box"}}).size(), 1u);  // not a full match
  EXPECT_TRUE(Problems(2, {{"hostname", "UNLIKE", "db.*"}}).empty());
  EXPECT_EQ(Problems(2, {{"hostname", "UNLIKE", "box.*"}}).size(), 1u);
  EXPECT_TRUE(Problems(2, {{"hostname", "IS", "box1"}}).empty());
  EXPECT_EQ(Problems(2, {{"hostname", "IS", "box2"}}).size(), 1u);
  auto bad = Problems(1, {{"hostname", "LIKE", "(["}});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("not a valid regular expression"), std::string::npos) << bad[0];
}

TEST(LocalPlacementTest, SpreadingOperators) {
  EXPECT_TRUE(Problems(3, {{"hostname", "MAX_PER", "3"}}).empty());
  EXPECT_EQ(Problems(4, {{"hostname", "MAX_PER", "3"}}).size(), 1u);
  EXPECT_EQ(Problems(4, {{"hostname", "MAX_PER", "many"}}).size(), 1u);
  EXPECT_TRUE(Problems(1, {{"hostname", "GROUP_BY", "3"}}).empty());
  EXPECT_EQ(Problems(2, {{"hostname", "GROUP_BY", "3"}}).size(), 1u);
}

TEST(LocalPlacementTest, OtherAttributesAreMissingHere) {
  auto problems = Problems(2, {{"rack", "LIKE", "r1"}, {"rack", "UNLIKE", "r1"}});
  ASSERT_EQ(problems.size(), 1u);  // no rack attribute cannot match r1, so UNLIKE holds
  EXPECT_NE(problems[0].find("no attribute 'rack'"), std::string::npos) << problems[0];
}

TEST(LocalPlacementTest, UnknownOperatorAndOneLineEach) {
  auto problems =
      Problems(2, {{"hostname", "NEAR", "x"}, {"hostname", "UNIQUE", ""}, {"", "IS", "x"}});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("unknown operator 'NEAR'"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("UNIQUE"), std::string::npos);
  EXPECT_NE(problems[2].find("without a field"), std::string::npos);
  for (const std::string& line : problems) EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
