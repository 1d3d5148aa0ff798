// MarathonBackend against FakeMarathon, the contract server that answers as Marathon 1.x's v2 REST
// API documents (see marathon_contract_server.h for what it models).
#include "scheduler-bridge/marathon/marathon_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/scheduler-bridge/marathon/marathon_contract_server.h"

namespace canarymesh::bridge {
namespace {

using nlohmann::json;
using testing::FakeMarathon;

const char kAppId[] = "/canarymesh/user/v2";

InstanceGroupSpec UserV2(uint32_t instances = 3) {
  InstanceGroupSpec spec;
  spec.service = "user";
  spec.version = "v2";
  spec.artifact = "./user-server --port {port} --version {version}";
  spec.instances = instances;
  spec.cpus = 0.5;
  spec.mem_mb = 256;
  spec.constraints.push_back({"hostname", "UNIQUE", ""});
  spec.env["LOG_LEVEL"] = "info";
  spec.labels["team"] = "accounts";
  spec.serverset_path = "/discovery/user";
  spec.stop_grace_period_ms = 15'500;
  return spec;
}

class MarathonBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake_.Start().ok()); }

  std::unique_ptr<MarathonBackend> Backend(MarathonBackendConfig config = {}) {
    config.url = fake_.url();
    auto backend = MarathonBackend::Create(config);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    return std::move(*backend);
  }

  // Inspects until Ready; returns how many Inspect calls that took (0 when it never got there).
  int PollsUntilReady(MarathonBackend& backend, int limit = 20) {
    for (int poll = 1; poll <= limit; ++poll) {
      auto status = backend.Inspect("user", "v2");
      EXPECT_TRUE(status.ok()) << status.status().message();
      if (status.ok() && status->Ready()) return poll;
    }
    return 0;
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid());
    std::ofstream(path) << content;
    return path;
  }

  FakeMarathon fake_;
};

TEST_F(MarathonBackendTest, NameIsMarathon) { EXPECT_EQ(Backend()->Name(), "marathon"); }

TEST_F(MarathonBackendTest, DeployPostsTheDocumentedAppDefinition) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2()).ok());
  auto app = fake_.AppDefinition(kAppId);
  ASSERT_TRUE(app.has_value());
  EXPECT_EQ((*app)["cmd"], "./user-server --port $PORT0 --version v2");
  EXPECT_EQ((*app)["instances"], 3);
  EXPECT_DOUBLE_EQ((*app)["cpus"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ((*app)["mem"].get<double>(), 256);
  EXPECT_EQ((*app)["constraints"], json::parse(R"([["hostname","UNIQUE"]])"));
  EXPECT_EQ((*app)["labels"], json::parse(R"({"app":"user","version":"v2","team":"accounts"})"));
  EXPECT_EQ((*app)["env"]["CANARYMESH_SERVERSET_PATH"], "/discovery/user");
  EXPECT_EQ((*app)["env"]["LOG_LEVEL"], "info");
  EXPECT_EQ((*app)["healthChecks"][0]["protocol"], "MESOS_HTTP");
  EXPECT_EQ((*app)["healthChecks"][0]["path"], "/health");
  EXPECT_EQ((*app)["upgradeStrategy"]["minimumHealthCapacity"], 1.0);
  EXPECT_EQ((*app)["taskKillGracePeriodSeconds"], 16);
  EXPECT_EQ(fake_.CountRequests("POST", "/v2/apps"), 1u);
}

TEST_F(MarathonBackendTest, DeployIsIdempotent) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2()).ok());
  Status again = backend->Deploy(UserV2());
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(fake_.CountRequests("POST", "/v2/apps"),
            2u);  // the second one got 409 "already exists"
  EXPECT_EQ(fake_.AppCount(), 1u);
}

TEST_F(MarathonBackendTest, DockerImageBecomesAContainer) {
  auto backend = Backend();
  InstanceGroupSpec spec = UserV2(1);
  spec.artifact.clear();
  spec.image = "registry.example/user:2.0";
  ASSERT_TRUE(backend->Deploy(spec).ok());
  auto app = fake_.AppDefinition(kAppId);
  ASSERT_TRUE(app.has_value());
  EXPECT_FALSE(app->contains("cmd"));
  EXPECT_EQ((*app)["container"]["docker"]["image"], "registry.example/user:2.0");
  EXPECT_EQ((*app)["networks"][0]["mode"], "host");
}

TEST_F(MarathonBackendTest, InspectMovesFromDeployingToReadyOverPolls) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(3)).ok());
  auto first = backend->Inspect("user", "v2");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->exists);
  EXPECT_TRUE(first->deploying);
  EXPECT_EQ(first->desired, 3u);
  EXPECT_EQ(first->running, 1u);
  EXPECT_FALSE(first->Ready());
  EXPECT_EQ(PollsUntilReady(*backend),
            2);  // one task starts per poll: 2nd and 3rd poll after the first
  EXPECT_GE(fake_.CountRequests("GET", "/v2/deployments"), 2u);

  auto ready = backend->Inspect("user", "v2");
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->Ready());
  EXPECT_EQ(ready->healthy, 3u);
  ASSERT_EQ(ready->instances.size(), 3u);
  std::set<std::string> hosts;
  for (const auto& instance : ready->instances) {
    hosts.insert(instance.host);
    EXPECT_TRUE(instance.healthy);
    EXPECT_EQ(instance.state, "TASK_RUNNING");
    EXPECT_GT(instance.port, 0u);
    EXPECT_NE(instance.id.find("canarymesh_user_v2."), std::string::npos) << instance.id;
  }
  EXPECT_EQ(hosts.size(), 3u);  // hostname:UNIQUE
}

TEST_F(MarathonBackendTest, UniqueHostnameWithTooFewAgentsNeverFinishes) {
  fake_.SetAgents(2);
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(3)).ok());
  EXPECT_EQ(PollsUntilReady(*backend, 6), 0);
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->running, 2u);
  EXPECT_TRUE(status->deploying);
}

TEST_F(MarathonBackendTest, FailingHealthChecksKeepTheGroupUnready) {
  fake_.SetAppHealthy(kAppId, false);
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  EXPECT_EQ(PollsUntilReady(*backend, 6), 0);
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->running, 2u);
  EXPECT_EQ(status->healthy, 0u);
  EXPECT_TRUE(status->deploying);
  for (const auto& instance : status->instances) EXPECT_FALSE(instance.healthy);
}

TEST_F(MarathonBackendTest, InspectOfAMissingAppIsNotAnError) {
  auto status = Backend()->Inspect("user", "v9");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_FALSE(status->exists);
  EXPECT_FALSE(status->Ready());
}

TEST_F(MarathonBackendTest, ScaleUpdatesInstancesAndDeploysAgain) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(1)).ok());
  ASSERT_GT(PollsUntilReady(*backend), 0);
  ASSERT_TRUE(backend->Scale("user", "v2", 3).ok());
  EXPECT_EQ((*fake_.AppDefinition(kAppId))["instances"], 3);
  auto scaling = backend->Inspect("user", "v2");
  ASSERT_TRUE(scaling.ok());
  EXPECT_TRUE(scaling->deploying);
  EXPECT_EQ(scaling->desired, 3u);
  EXPECT_GT(PollsUntilReady(*backend), 0);
  EXPECT_EQ(fake_.TaskCount(kAppId), 3u);

  ASSERT_TRUE(backend->Scale("user", "v2", 0).ok());
  EXPECT_GT(PollsUntilReady(*backend), 0);
  EXPECT_EQ(fake_.TaskCount(kAppId), 0u);
}

TEST_F(MarathonBackendTest, ScaleToTheCurrentCountSendsNoChange) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  ASSERT_TRUE(backend->Scale("user", "v2", 2).ok());
  EXPECT_EQ(fake_.CountRequests("PUT", "/v2/apps"), 0u);
}

TEST_F(MarathonBackendTest, ScaleOfAMissingAppIsNotFound) {
  Status status = Backend()->Scale("user", "v9", 2);
  EXPECT_EQ(status.code(), Status::Code::kNotFound) << status.message();
  EXPECT_EQ(fake_.CountRequests("PUT", "/v2/apps"), 0u);
}

TEST_F(MarathonBackendTest, ScaleWhileAnotherDeploymentHoldsTheApp) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(1)).ok());
  ASSERT_GT(PollsUntilReady(*backend), 0);
  fake_.LockApp(kAppId);
  Status locked = backend->Scale("user", "v2", 2);
  EXPECT_EQ(locked.code(), Status::Code::kUnavailable);
  EXPECT_NE(locked.message().find("App is locked by one or more deployments"), std::string::npos)
      << locked.message();
  EXPECT_EQ((*fake_.AppDefinition(kAppId))["instances"], 1);

  MarathonBackendConfig forcing;
  forcing.force_scale_when_locked = true;
  Status forced = Backend(forcing)->Scale("user", "v2", 2);
  EXPECT_TRUE(forced.ok()) << forced.message();
  EXPECT_EQ((*fake_.AppDefinition(kAppId))["instances"], 2);
}

TEST_F(MarathonBackendTest, RemoveDeletesAndAMissingAppIsFine) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  ASSERT_TRUE(backend->Remove("user", "v2").ok());
  EXPECT_EQ(fake_.AppCount(), 0u);
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->exists);
  Status again = backend->Remove("user", "v2");
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(fake_.CountRequests("DELETE", "/v2/apps/canarymesh/user/v2"), 2u);
}

TEST_F(MarathonBackendTest, RemoveOverridesADeploymentThatNeverFinishes) {
  fake_.SetAppHealthy(kAppId, false);  // an unhealthy canary: its deployment never ends
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  ASSERT_TRUE(backend->Inspect("user", "v2")->deploying);
  Status removed = backend->Remove("user", "v2");
  EXPECT_TRUE(removed.ok()) << removed.message();
  EXPECT_EQ(fake_.AppCount(), 0u);
}

TEST_F(MarathonBackendTest, ValidationErrorCarriesMarathonsDetails) {
  InstanceGroupSpec spec = UserV2();
  spec.cpus = -1;
  Status status = Backend()->Deploy(spec);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("HTTP 422"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("Object is not valid; /cpus: got -1.0, expected 0.0 or more"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(fake_.AppCount(), 0u);
}

TEST_F(MarathonBackendTest, NamesMarathonCannotTakeFailBeforeAnyRequest) {
  auto backend = Backend();
  InstanceGroupSpec spec = UserV2();
  spec.version = "V2_final";
  EXPECT_EQ(backend->Deploy(spec).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->Inspect("User", "v2").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->Scale("user", "", 1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->Remove("user", "a/b").code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(fake_.Requests().empty());
}

TEST_F(MarathonBackendTest, BasicAuth) {
  fake_.RequireBasicAuth("bridge", "s3cret");
  Status anonymous = Backend()->Deploy(UserV2());
  EXPECT_EQ(anonymous.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(anonymous.message().find("HTTP 401: Invalid username or password."), std::string::npos)
      << anonymous.message();
  EXPECT_NE(anonymous.message().find("authentication failed"), std::string::npos);

  MarathonBackendConfig config;
  config.basic_user = "bridge";
  config.basic_password = "wrong";
  EXPECT_EQ(Backend(config)->Inspect("user", "v2").status().code(), Status::Code::kInvalidArgument);
  config.basic_password = "s3cret";
  auto backend = Backend(config);
  EXPECT_TRUE(backend->Deploy(UserV2()).ok());
  EXPECT_TRUE(backend->Inspect("user", "v2")->exists);
}

TEST_F(MarathonBackendTest, DcosTokenFileIsReadOnEveryCall) {
  fake_.RequireToken("token-one");
  MarathonBackendConfig config;
  config.token_file = WriteFile("marathon_token", "token-one\n");
  auto backend = Backend(config);
  ASSERT_TRUE(backend->Deploy(UserV2()).ok());
  fake_.RequireToken("token-two");  // rotated on the server
  EXPECT_EQ(backend->Inspect("user", "v2").status().code(), Status::Code::kInvalidArgument);
  WriteFile("marathon_token", "token-two\n");  // ... and then in the file
  EXPECT_TRUE(backend->Inspect("user", "v2").ok());

  config.token_file = ::testing::TempDir() + "/no_such_token";
  Status missing = Backend(config)->Remove("user", "v2");
  EXPECT_EQ(missing.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(missing.message().find("no_such_token"), std::string::npos);
}

TEST_F(MarathonBackendTest, ForbiddenIsAClearError) {
  fake_.SetForbidden(true);
  Status status = Backend()->Remove("user", "v2");
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("HTTP 403"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("not authorized"), std::string::npos);
}

TEST_F(MarathonBackendTest, UnreachableMarathonIsUnavailable) {
  MarathonBackendConfig config;
  auto port = fake_.port();
  fake_.Stop();
  config.url = "http://127.0.0.1:" + std::to_string(port);
  auto backend = MarathonBackend::Create(config);
  ASSERT_TRUE(backend.ok());
  auto status = (*backend)->Inspect("user", "v2");
  EXPECT_EQ(status.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(status.status().message().rfind("marathon: ", 0), 0u) << status.status().message();
}

TEST_F(MarathonBackendTest, UnknownOperatorsAreListedAndLeftOut) {
  auto backend = Backend();
  InstanceGroupSpec spec = UserV2(1);
  spec.constraints.push_back({"rack", "NEAR", "r1"});
  spec.constraints.push_back({"rack", "LIKE", ""});
  spec.constraints.push_back({"zone", "GROUP_BY", "3"});
  auto problems = backend->Unsatisfiable(spec);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("rack:NEAR:r1"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("LIKE needs a value"), std::string::npos) << problems[1];
  ASSERT_TRUE(backend->Deploy(spec).ok());
  EXPECT_EQ((*fake_.AppDefinition(kAppId))["constraints"],
            json::parse(R"([["hostname","UNIQUE"],["zone","GROUP_BY","3"]])"));
  EXPECT_TRUE(backend->Unsatisfiable(UserV2()).empty());
}

}  // namespace
}  // namespace canarymesh::bridge
