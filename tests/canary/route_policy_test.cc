#include "canary/route_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace canarymesh::canary {
namespace {

Result<RoutePolicy> Parse(std::string_view text) {
  return RoutePolicy::FromJson(text, PolicySource::kAdmin, 1700000000000);
}

void ExpectError(std::string_view text, std::string_view fragment) {
  Result<RoutePolicy> policy = Parse(text);
  ASSERT_FALSE(policy.ok()) << "accepted: " << text;
  EXPECT_EQ(policy.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(policy.status().message().find(fragment), std::string::npos)
      << "message: " << policy.status().message();
}

TEST(RoutePolicyTest, ParsesWeightsAndStickyHeader) {
  Result<RoutePolicy> policy =
      Parse(R"({"weights":{"v1":95,"v2":5},"sticky":{"header":"X-User-Id"}})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->WeightOf("v1"), 95u);
  EXPECT_EQ(policy->WeightOf("v2"), 5u);
  EXPECT_EQ(policy->WeightOf("v3"), 0u);
  EXPECT_EQ(policy->sticky().kind, StickyKeySource::Kind::kHeader);
  EXPECT_EQ(policy->sticky().header, "x-user-id");  // header names compare case-insensitively
  EXPECT_EQ(policy->source(), PolicySource::kAdmin);
  EXPECT_EQ(policy->updated_unix_ms(), 1700000000000);
}

TEST(RoutePolicyTest, ParsesClientIpStickyAndOrder) {
  Result<RoutePolicy> policy =
      Parse(R"({"weights":{"v1":9,"v2":1},"sticky":{"client_ip":true},"order":["v1"]})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->sticky().kind, StickyKeySource::Kind::kClientIp);
  EXPECT_EQ(policy->version_order(), std::vector<std::string>{"v1"});
}

TEST(RoutePolicyTest, EmptyDocumentMeansShareByInstances) {
  for (const char* text : {"{}", R"({"weights":{}})", R"({"sticky":{"client_ip":false}})"}) {
    Result<RoutePolicy> policy = Parse(text);
    ASSERT_TRUE(policy.ok()) << text << ": " << policy.status().ToString();
    EXPECT_FALSE(policy->has_weights());
    EXPECT_EQ(policy->sticky().kind, StickyKeySource::Kind::kNone);
  }
}

TEST(RoutePolicyTest, ZeroWeightIsAllowedBesideAPositiveOne) {
  Result<RoutePolicy> policy = Parse(R"({"weights":{"v1":100,"v2":0}})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->WeightOf("v2"), 0u);
}

TEST(RoutePolicyTest, RejectsBadJsonAndNonObjects) {
  ExpectError(R"({"weights":)", "not valid JSON");
  ExpectError("", "not valid JSON");
  ExpectError("[1,2]", "must be a JSON object");
  ExpectError("\"v1\"", "must be a JSON object");
}

TEST(RoutePolicyTest, RejectsUnknownFields) {
  ExpectError(R"({"weights":{"v1":1},"stiky":{}})", "\"stiky\": unknown field");
  ExpectError(R"({"sticky":{"header":"x","cookie":"y"}})", "sticky.\"cookie\": unknown field");
  ExpectError(R"({"weights":{"v1":1},"provenance":{"source":"admin"}})",
              "\"provenance\": unknown field");
}

TEST(RoutePolicyTest, RejectsBadWeights) {
  ExpectError(R"({"weights":{"v1":-5}})", "weights.v1: must not be negative, got \"-5\"");
  ExpectError(R"({"weights":{"v1":2.5}})", "weights.v1: must be an integer, got \"2.5\"");
  ExpectError(R"({"weights":{"v1":5.0}})", "weights.v1: must be an integer");
  ExpectError(R"({"weights":{"v1":"5"}})", "weights.v1: must be a non-negative integer");
  ExpectError(R"({"weights":{"v1":true}})", "weights.v1: must be a non-negative integer");
  ExpectError(R"({"weights":{"v1":4294967296}})", "weights.v1: must be at most 4294967295");
  ExpectError(R"({"weights":[95,5]})", "weights: must be an object");
  ExpectError(R"({"weights":{"v 1":5}})", "weights: version name \"v 1\"");
  ExpectError(R"({"weights":{"":5}})", "weights: version name \"\"");
}

// A hostile document nests a value deeply where a weight belongs. The error message used to dump
// the value, which recursed once per level and overflowed the stack (found by fuzzing).
TEST(RoutePolicyTest, RejectsDeeplyNestedWeightWithoutRecursing) {
  constexpr size_t kDepth = 200'000;
  const std::string doc =
      R"({"weights":{"v1":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}}";
  ExpectError(doc, "weights.v1: must be a non-negative integer, got an array");
  ExpectError(R"({"weights":{"v1":{"a":1}}})",
              "weights.v1: must be a non-negative integer, got an object");
}

TEST(RoutePolicyTest, RejectsRepeatedKeys) {
  ExpectError(R"({"weights":{"v1":5,"v2":1,"v1":95}})", "\"v1\": field appears twice");
  ExpectError(R"({"weights":{"v1":5},"weights":{"v1":6}})", "\"weights\": field appears twice");
  // The same name in different objects is fine.
  Result<RoutePolicy> policy = Parse(R"({"weights":{"header":1},"sticky":{"header":"x"}})");
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
}

TEST(RoutePolicyTest, RejectsAllZeroWeights) {
  ExpectError(R"({"weights":{"v1":0,"v2":0}})", "weights: all weights are zero");
}

TEST(RoutePolicyTest, RejectsBadSticky) {
  ExpectError(R"({"sticky":{"header":"x-user","client_ip":true}})",
              "sticky: give either header or client_ip, not both");
  ExpectError(R"({"sticky":"x-user"})", "sticky: must be an object");
  ExpectError(R"({"sticky":{"header":5}})", "sticky.header: must be a string");
  ExpectError(R"({"sticky":{"header":"x user"}})", "sticky.header: \"x user\" is not a valid");
  ExpectError(R"({"sticky":{"header":""}})", "sticky.header: \"\" is not a valid");
  ExpectError(R"({"sticky":{"client_ip":1}})", "sticky.client_ip: must be true or false");
}

TEST(RoutePolicyTest, RejectsBadOrder) {
  ExpectError(R"({"weights":{"v1":1},"order":"v1"})", "order: must be an array");
  ExpectError(R"({"weights":{"v1":1},"order":[1]})", "order[0]: must be a string");
  ExpectError(R"({"weights":{"v1":1,"v2":1},"order":["v2","v3"]})",
              "order[1]: version \"v3\" is not in weights");
  ExpectError(R"({"weights":{"v1":1,"v2":1},"order":["v2","v2"]})",
              "order[1]: version \"v2\" is listed twice");
}

TEST(RoutePolicyTest, JsonRoundTrip) {
  const std::string text =
      R"({"weights":{"v1":90,"v10":10,"v9":0},"sticky":{"header":"x-user-id"},"order":["v10"]})";
  Result<RoutePolicy> policy = Parse(text);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  const nlohmann::json doc = policy->ToJson();
  EXPECT_EQ(doc, nlohmann::json::parse(text));

  Result<RoutePolicy> again = RoutePolicy::FromJsonValue(doc, PolicySource::kZooKeeper, 1);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->SameRouting(*policy));
  EXPECT_EQ(again->source(), PolicySource::kZooKeeper);

  Result<RoutePolicy> client_ip = Parse(R"({"weights":{"v1":1},"sticky":{"client_ip":true}})");
  ASSERT_TRUE(client_ip.ok());
  EXPECT_EQ(client_ip->ToJson()["sticky"], nlohmann::json({{"client_ip", true}}));
  EXPECT_FALSE(client_ip->ToJson().contains("order"));
}

TEST(RoutePolicyTest, ProvenanceIsReportedSeparately) {
  Result<RoutePolicy> policy = Parse(R"({"weights":{"v1":1}})");
  ASSERT_TRUE(policy.ok());
  const nlohmann::json doc = policy->ToJsonWithProvenance();
  EXPECT_EQ(doc["provenance"]["source"], "admin");
  EXPECT_EQ(doc["provenance"]["updated_unix_ms"], 1700000000000);
  EXPECT_FALSE(policy->ToJson().contains("provenance"));
}

TEST(RoutePolicyTest, SourceNames) {
  EXPECT_EQ(PolicySourceName(PolicySource::kConfig), "config");
  EXPECT_EQ(PolicySourceName(PolicySource::kZooKeeper), "zookeeper");
  EXPECT_EQ(PolicySourceName(PolicySource::kAdmin), "admin");
  EXPECT_EQ(PolicySourceName(PolicySource::kDefault), "default");
  EXPECT_EQ(RoutePolicy().source(), PolicySource::kDefault);
}

TEST(RoutePolicyTest, FromConfig) {
  RoutePolicyConfig config;
  config.weights = {{"v1", 95}, {"v2", 5}};
  config.sticky_header = "X-User";
  Result<RoutePolicy> policy = RoutePolicy::FromConfig(config, 42);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->source(), PolicySource::kConfig);
  EXPECT_EQ(policy->updated_unix_ms(), 42);
  EXPECT_EQ(policy->WeightOf("v2"), 5u);
  EXPECT_EQ(policy->sticky().header, "x-user");

  config.sticky_client_ip = true;
  EXPECT_FALSE(RoutePolicy::FromConfig(config, 0).ok());

  RoutePolicyConfig zero;
  zero.weights = {{"v1", 0}};
  Result<RoutePolicy> bad = RoutePolicy::FromConfig(zero, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("all weights are zero"), std::string::npos);

  Result<RoutePolicy> empty = RoutePolicy::FromConfig(RoutePolicyConfig{}, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_weights());
}

}  // namespace
}  // namespace canarymesh::canary
