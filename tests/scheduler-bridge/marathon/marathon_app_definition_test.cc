// The pure halves of the Marathon backend: spec -> app definition, and Marathon's documented
// answer shapes -> GroupStatus.
#include "scheduler-bridge/marathon/marathon_app_definition.h"

#include <gtest/gtest.h>

#include "scheduler-bridge/marathon/marathon_app_status.h"
#include "tests/scheduler-bridge/marathon/marathon_contract_validation.h"

namespace canarymesh::bridge {
namespace {

using nlohmann::json;

InstanceGroupSpec Spec() {
  InstanceGroupSpec spec;
  spec.service = "user";
  spec.version = "v2.1";
  spec.artifact = "run {service} {version} {port} {instance}";
  return spec;
}

TEST(MarathonAppIdTest, GroupPerServiceUnderThePrefix) {
  EXPECT_EQ(*MarathonAppId("/canarymesh", "user", "v2"), "/canarymesh/user/v2");
  EXPECT_EQ(*MarathonAppId("/", "user", "v2"), "/user/v2");
  EXPECT_EQ(*MarathonAppId("/prod/mesh", "a-b", "1.2.3"), "/prod/mesh/a-b/1.2.3");
  for (const char* bad : {"", "V2", "v_2", "-v2", "v2-", "v..2", "a/b"}) {
    EXPECT_FALSE(MarathonAppId("/canarymesh", "user", bad).ok()) << bad;
  }
}

TEST(MarathonAppDefinitionTest, PlaceholdersBecomeMarathonVariables) {
  auto app = MarathonAppDefinition(Spec(), MarathonBackendConfig{});
  ASSERT_TRUE(app.ok()) << app.status().message();
  EXPECT_EQ((*app)["cmd"], "run user v2.1 $PORT0 $MESOS_TASK_ID");
  EXPECT_EQ((*app)["portDefinitions"],
            json::parse(R"([{"port":0,"protocol":"tcp","name":"http"}])"));
  EXPECT_TRUE(testing::ValidateMarathonApp(*app).empty());
}

TEST(MarathonAppDefinitionTest, AppAndVersionLabelsWinOverUserLabels) {
  InstanceGroupSpec spec = Spec();
  spec.labels["version"] = "spoofed";
  spec.labels["owner"] = "me";
  auto app = MarathonAppDefinition(spec, MarathonBackendConfig{});
  ASSERT_TRUE(app.ok());
  EXPECT_EQ((*app)["labels"], json::parse(R"({"app":"user","version":"v2.1","owner":"me"})"));
}

TEST(MarathonAppDefinitionTest, HealthCheckTranslation) {
  InstanceGroupSpec spec = Spec();
  spec.health.protocol = "tcp";
  spec.health.interval_ms = 1500;
  spec.health.timeout_ms = 200;
  spec.health.grace_period_ms = 0;
  spec.health.max_consecutive_failures = 5;
  auto app = MarathonAppDefinition(spec, MarathonBackendConfig{});
  ASSERT_TRUE(app.ok());
  EXPECT_EQ((*app)["healthChecks"],
            json::parse(R"([{"protocol":"MESOS_TCP","portIndex":0,"intervalSeconds":2,
      "timeoutSeconds":1,"gracePeriodSeconds":0,"maxConsecutiveFailures":5}])"));
  spec.health.protocol = "grpc";
  EXPECT_EQ(MarathonAppDefinition(spec, MarathonBackendConfig{}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(MarathonAppDefinitionTest, NothingToRunIsInvalid) {
  InstanceGroupSpec spec = Spec();
  spec.artifact.clear();
  EXPECT_EQ(MarathonAppDefinition(spec, MarathonBackendConfig{}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(MarathonAppStatusTest, ReadsCountsTasksAndHealth) {
  json app = json::parse(R"({
    "id": "/canarymesh/user/v2", "instances": 2, "tasksRunning": 2, "tasksHealthy": 1,
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health"}],
    "deployments": [{"id": "d-1"}],
    "tasks": [
      {"id": "t1", "host": "a1", "ports": [31001], "state": "TASK_RUNNING",
       "healthCheckResults": [{"alive": true, "consecutiveFailures": 0}]},
      {"id": "t2", "host": "a2", "ports": [31002], "state": "TASK_RUNNING",
       "healthCheckResults": [{"alive": false, "consecutiveFailures": 2}]}]})");
  GroupStatus status = MarathonGroupStatus(app, true);
  EXPECT_TRUE(status.exists);
  EXPECT_EQ(status.desired, 2u);
  EXPECT_EQ(status.running, 2u);
  EXPECT_EQ(status.healthy, 1u);
  EXPECT_TRUE(status.deploying);
  ASSERT_EQ(status.instances.size(), 2u);
  EXPECT_EQ(status.instances[0].host, "a1");
  EXPECT_EQ(status.instances[0].port, 31001u);
  EXPECT_TRUE(status.instances[0].healthy);
  EXPECT_FALSE(status.instances[1].healthy);
  EXPECT_EQ(MarathonAppDeploymentIds(app), std::vector<std::string>{"d-1"});
}

TEST(MarathonAppStatusTest, WithoutHealthChecksRunningCountsAsHealthy) {
  json app = json::parse(R"({"instances": 1, "tasksRunning": 1, "tasksHealthy": 0,
      "tasks": [{"id": "t", "host": "h", "ports": [1], "state": "TASK_RUNNING", "healthCheckResults": []}]})");
  GroupStatus status = MarathonGroupStatus(app, false);
  EXPECT_EQ(status.healthy, 1u);
  EXPECT_TRUE(status.instances[0].healthy);
  EXPECT_TRUE(status.Ready());
}

TEST(MarathonAppStatusTest, WrongTypesReadAsAbsentInsteadOfCrashing) {
  json app = json::parse(R"({"instances": "three", "tasksRunning": -4, "healthChecks": {},
      "tasks": [{"id": 7, "ports": ["x"], "healthCheckResults": "bad"}, 5], "deployments": [3, {"id": null}]})");
  GroupStatus status = MarathonGroupStatus(app, false);
  EXPECT_EQ(status.desired, 0u);
  EXPECT_EQ(status.running, 0u);
  ASSERT_EQ(status.instances.size(), 2u);
  EXPECT_EQ(status.instances[0].port, 0u);
  EXPECT_TRUE(MarathonAppDeploymentIds(app).empty());
}

TEST(MarathonAppStatusTest, DeploymentsListDecidesWhetherOneIsStillRunning) {
  json list = json::parse(R"([{"id": "d-9", "affectedApps": ["/other"]},
                              {"id": "d-7", "affectedApps": ["/canarymesh/user/v2"]}])");
  EXPECT_TRUE(MarathonDeploymentsHolding(list, "/canarymesh/user/v2", {"d-1"}));  // by affectedApps
  EXPECT_TRUE(MarathonDeploymentsHolding(list, "/x", {"d-9"}));                   // by id
  EXPECT_FALSE(MarathonDeploymentsHolding(list, "/x", {"d-1"}));
  EXPECT_FALSE(MarathonDeploymentsHolding(json::object(), "/x", {"d-1"}));
}

}  // namespace
}  // namespace canarymesh::bridge
