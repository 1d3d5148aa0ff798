// KubernetesBackend against FakeKubernetes over HTTPS with a CA generated for the test: the
// contract server answers as the apps/v1 and core/v1 API documents (see
// kubernetes_contract_server.h for what it models).
#include "scheduler-bridge/kubernetes/kubernetes_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "scheduler-bridge/http/base64.h"
#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_server.h"
#include "tests/scheduler-bridge/support/contract_tls.h"

namespace canarymesh::bridge {
namespace {

using nlohmann::json;
using testing::FakeKubernetes;
using testing::TestCertificates;

InstanceGroupSpec UserV2(uint32_t instances = 3) {
  InstanceGroupSpec spec;
  spec.service = "user";
  spec.version = "v2";
  spec.image = "registry.example/user:2.0";
  spec.instances = instances;
  spec.cpus = 0.25;
  spec.mem_mb = 128;
  spec.constraints.push_back({"hostname", "UNIQUE", ""});
  spec.env["LOG_LEVEL"] = "info";
  spec.serverset_path = "/discovery/user";
  spec.stop_grace_period_ms = 20'000;
  spec.health.path = "/ready";
  return spec;
}

class KubernetesBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto generated = TestCertificates::Generate();
    ASSERT_TRUE(generated.ok()) << generated.status().message();
    certs_ = generated->release();
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(certs_, nullptr);
    ASSERT_TRUE(fake_.Start(certs_->server_cert_file(), certs_->server_key_file()).ok());
    fake_.RequireToken("sa-token");
    token_file_ = ::testing::TempDir() + "/k8s_sa_token-" + std::to_string(::getpid());
    std::ofstream(token_file_) << "sa-token\n";
  }

  KubernetesBackendConfig Config() {
    KubernetesBackendConfig config;
    config.api_server = fake_.url();
    config.namespace_name = "shop";
    config.token_file = token_file_;
    config.http.ca_file = certs_->ca_file();
    return config;
  }

  std::unique_ptr<KubernetesBackend> Backend(KubernetesBackendConfig config) {
    auto backend = KubernetesBackend::Create(std::move(config));
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    return std::move(*backend);
  }
  std::unique_ptr<KubernetesBackend> Backend() { return Backend(Config()); }

  int PollsUntilReady(KubernetesBackend& backend, int limit = 20) {
    for (int poll = 1; poll <= limit; ++poll) {
      auto status = backend.Inspect("user", "v2");
      EXPECT_TRUE(status.ok()) << status.status().message();
      if (status.ok() && status->Ready()) return poll;
    }
    return 0;
  }

  static TestCertificates* certs_;
  FakeKubernetes fake_;
  std::string token_file_;
};

TestCertificates* KubernetesBackendTest::certs_ = nullptr;

TEST_F(KubernetesBackendTest, NameIsKubernetes) { EXPECT_EQ(Backend()->Name(), "kubernetes"); }

TEST_F(KubernetesBackendTest, DeployPostsTheDocumentedDeployment) {
  ASSERT_TRUE(Backend()->Deploy(UserV2()).ok());
  auto deployment = fake_.Deployment("shop", "user-v2");
  ASSERT_TRUE(deployment.has_value());
  const json& d = *deployment;
  EXPECT_EQ(d["metadata"]["labels"]["app"], "user");
  EXPECT_EQ(d["metadata"]["labels"]["version"], "v2");
  EXPECT_EQ(d["spec"]["replicas"], 3);
  EXPECT_EQ(d["spec"]["selector"]["matchLabels"], json::parse(R"({"app":"user","version":"v2"})"));
  const json& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(pod["terminationGracePeriodSeconds"], 20);
  EXPECT_EQ(pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
               ["topologyKey"],
            "kubernetes.io/hostname");
  const json& container = pod["containers"][0];
  EXPECT_EQ(container["image"], "registry.example/user:2.0");
  EXPECT_EQ(container["resources"]["requests"], json::parse(R"({"cpu":"250m","memory":"128Mi"})"));
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/ready");
  EXPECT_NE(container["env"].dump().find(
                R"({"name":"CANARYMESH_SERVERSET_PATH","value":"/discovery/user"})"),
            std::string::npos);
  EXPECT_EQ(fake_.CountRequests("POST", "/apis/apps/v1/namespaces/shop/deployments"), 1u);
}

TEST_F(KubernetesBackendTest, DeployIsIdempotent) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2()).ok());
  Status again = backend->Deploy(UserV2());
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(fake_.CountRequests("POST", "/apis/apps/v1/namespaces/shop/deployments"), 2u);
  EXPECT_EQ(fake_.DeploymentCount(), 1u);
}

TEST_F(KubernetesBackendTest, ANameTakenByAnotherGroupIsNotSuccess) {
  auto backend = Backend();
  InstanceGroupSpec first = UserV2(1);
  first.service = "user-v2";
  first.version = "1";
  InstanceGroupSpec second = UserV2(1);
  second.service = "user";
  second.version = "v2-1";  // also "user-v2-1"
  ASSERT_TRUE(backend->Deploy(first).ok());
  Status clash = backend->Deploy(second);
  EXPECT_EQ(clash.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(clash.message().find("already exists but is not app=user,version=v2-1"),
            std::string::npos)
      << clash.message();
}

TEST_F(KubernetesBackendTest, ImageIsRequired) {
  InstanceGroupSpec spec = UserV2();
  spec.image.clear();
  spec.artifact = "./user-server";
  Status status = Backend()->Deploy(spec);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("image"), std::string::npos);
  EXPECT_TRUE(fake_.Requests().empty());
}

TEST_F(KubernetesBackendTest, InvalidObjectGetsTheStatusMessage) {
  InstanceGroupSpec spec = UserV2();
  spec.labels["team"] = "not a valid value!";
  Status status = Backend()->Deploy(spec);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("HTTP 422: Invalid: Deployment.apps \"user-v2\" is invalid: "
                                  "[metadata.labels: Invalid value"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(fake_.DeploymentCount(), 0u);
}

TEST_F(KubernetesBackendTest, InspectMovesFromDeployingToReadyOverPolls) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(3)).ok());
  auto first = backend->Inspect("user", "v2");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->exists);
  EXPECT_TRUE(first->deploying);
  EXPECT_EQ(first->desired, 3u);
  EXPECT_EQ(first->running, 0u);
  EXPECT_TRUE(first->failure.empty());
  // observe, then per poll: one new pod and the previous one Ready -> the third is Ready on poll 5.
  EXPECT_EQ(PollsUntilReady(*backend), 4);

  auto ready = backend->Inspect("user", "v2");
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->Ready());
  EXPECT_EQ(ready->healthy, 3u);
  ASSERT_EQ(ready->instances.size(), 3u);
  std::set<std::string> ips;
  for (const auto& instance : ready->instances) {
    ips.insert(instance.host);
    EXPECT_TRUE(instance.healthy);
    EXPECT_EQ(instance.state, "Running");
    EXPECT_EQ(instance.port, 8080u);
    EXPECT_EQ(instance.id.rfind("user-v2-", 0), 0u);
  }
  EXPECT_EQ(ips.size(), 3u);
  EXPECT_GE(
      fake_.CountRequests("GET", "/api/v1/namespaces/shop/pods?labelSelector=app=user,version=v2"),
      5u);
}

TEST_F(KubernetesBackendTest, ProgressDeadlineExceededIsAFailure) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  ASSERT_TRUE(backend->Inspect("user", "v2").ok());
  fake_.ExceedProgressDeadline("shop", "user-v2");
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->Ready());
  EXPECT_NE(
      status->failure.find("deployment \"user-v2\" exceeded its progress deadline: ReplicaSet"),
      std::string::npos)
      << status->failure;
}

TEST_F(KubernetesBackendTest, PodsThatNeverGetReadyKeepItDeploying) {
  fake_.SetPodsReady("shop", "user-v2", false);
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  EXPECT_EQ(PollsUntilReady(*backend, 8), 0);
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->running, 2u);
  EXPECT_EQ(status->healthy, 0u);
  EXPECT_TRUE(status->deploying);
}

TEST_F(KubernetesBackendTest, AntiAffinityWithTooFewNodesLeavesAPodPending) {
  fake_.SetNodes(2);
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(3)).ok());
  EXPECT_EQ(PollsUntilReady(*backend, 8), 0);
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->running, 3u);
  EXPECT_EQ(status->healthy, 2u);
  int pending = 0;
  for (const auto& instance : status->instances) pending += instance.state == "Pending" ? 1 : 0;
  EXPECT_EQ(pending, 1);
}

TEST_F(KubernetesBackendTest, ScaleUsesAMergePatchOnTheScaleSubresource) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(1)).ok());
  ASSERT_GT(PollsUntilReady(*backend), 0);
  ASSERT_TRUE(backend->Scale("user", "v2", 3).ok());
  EXPECT_EQ(fake_.CountRequests("PATCH", "/apis/apps/v1/namespaces/shop/deployments/user-v2/scale"),
            1u);
  auto deployment = fake_.Deployment("shop", "user-v2");
  EXPECT_EQ((*deployment)["spec"]["replicas"], 3);
  EXPECT_EQ((*deployment)["metadata"]["generation"], 2);
  auto scaling = backend->Inspect("user", "v2");
  ASSERT_TRUE(scaling.ok());
  EXPECT_TRUE(scaling->deploying);
  EXPECT_EQ(scaling->desired, 3u);
  EXPECT_GT(PollsUntilReady(*backend), 0);
  EXPECT_EQ(fake_.PodCount("shop", "user-v2"), 3u);

  ASSERT_TRUE(backend->Scale("user", "v2", 0).ok());
  EXPECT_GT(PollsUntilReady(*backend), 0);
  EXPECT_EQ(fake_.PodCount("shop", "user-v2"), 0u);
}

TEST_F(KubernetesBackendTest, ScaleOfAMissingDeploymentIsNotFound) {
  Status status = Backend()->Scale("user", "v9", 2);
  EXPECT_EQ(status.code(), Status::Code::kNotFound) << status.message();
  EXPECT_NE(status.message().find("NotFound: deployments.apps \"user-v9\" not found"),
            std::string::npos);
}

TEST_F(KubernetesBackendTest, InspectOfAMissingDeploymentIsNotAnError) {
  auto status = Backend()->Inspect("user", "v9");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_FALSE(status->exists);
}

TEST_F(KubernetesBackendTest, RemoveDeletesInTheForegroundAndInspectFollowsIt) {
  auto backend = Backend();
  ASSERT_TRUE(backend->Deploy(UserV2(2)).ok());
  ASSERT_GT(PollsUntilReady(*backend), 0);
  ASSERT_TRUE(backend->Remove("user", "v2").ok());
  EXPECT_EQ(fake_.LastPropagationPolicy(), "Foreground");

  auto stopping = backend->Inspect("user", "v2");
  ASSERT_TRUE(stopping.ok());
  EXPECT_TRUE(stopping->exists);
  EXPECT_TRUE(stopping->deploying);
  EXPECT_FALSE(stopping->Ready());
  for (const auto& instance : stopping->instances) {
    EXPECT_EQ(instance.state, "Terminating");
    EXPECT_FALSE(instance.healthy);
  }
  Status redeploy = backend->Deploy(UserV2(2));
  EXPECT_EQ(redeploy.code(), Status::Code::kUnavailable) << redeploy.message();

  bool gone = false;
  for (int poll = 0; poll < 5 && !gone; ++poll) {
    auto status = backend->Inspect("user", "v2");
    ASSERT_TRUE(status.ok());
    gone = !status->exists;
  }
  EXPECT_TRUE(gone);
  Status again = backend->Remove("user", "v2");
  EXPECT_TRUE(again.ok()) << again.message();
}

TEST_F(KubernetesBackendTest, MissingOrWrongTokenIsAnAuthenticationError) {
  KubernetesBackendConfig config = Config();
  config.token_file.clear();
  Status anonymous = Backend(config)->Deploy(UserV2());
  EXPECT_EQ(anonymous.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(anonymous.message().find("HTTP 401: Unauthorized: Unauthorized (authentication failed"),
            std::string::npos)
      << anonymous.message();
  config.token = "stolen";
  EXPECT_EQ(Backend(config)->Inspect("user", "v2").status().code(), Status::Code::kInvalidArgument);
  config.token = "sa-token";
  EXPECT_TRUE(Backend(config)->Inspect("user", "v2").ok());
}

TEST_F(KubernetesBackendTest, ForbiddenNamesRbac) {
  fake_.SetForbidden(true);
  Status status = Backend()->Scale("user", "v2", 1);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(
      status.message().find("cannot patch resource \"deployments/scale\" in API group \"apps\""),
      std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("RBAC"), std::string::npos);
}

TEST_F(KubernetesBackendTest, WrongCaFailsTheTlsHandshake) {
  KubernetesBackendConfig config = Config();
  config.http.ca_file = certs_->other_ca_file();
  auto status = Backend(config)->Inspect("user", "v2");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), Status::Code::kIoError);
  EXPECT_NE(status.status().message().find("certificate verify failed"), std::string::npos)
      << status.status().message();
  EXPECT_TRUE(fake_.Requests().empty());
}

TEST_F(KubernetesBackendTest, KubeconfigWithEmbeddedCaAndToken) {
  std::string path = ::testing::TempDir() + "/k8s_kubeconfig-" + std::to_string(::getpid());
  std::ofstream(path)
      << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
      << "clusters:\n- name: fake\n  cluster:\n    server: " << fake_.url()
      << "\n    certificate-authority-data: " << Base64Encode(certs_->ReadCaPem()) << "\n"
      << "users:\n- name: bridge\n  user:\n    token: sa-token\n"
      << "contexts:\n- name: test\n  context: {cluster: fake, user: bridge, namespace: shop}\n";
  auto config =
      KubernetesBackendConfigFromYaml(YAML::Load("kubeconfig: " + path), KubernetesEnvironment{});
  ASSERT_TRUE(config.ok()) << config.status().message();
  auto backend = Backend(*config);
  ASSERT_TRUE(backend->Deploy(UserV2(1)).ok());
  EXPECT_TRUE(fake_.Deployment("shop", "user-v2").has_value());
}

TEST_F(KubernetesBackendTest, PlacementRulesWithoutAKubernetesForm) {
  auto backend = Backend();
  InstanceGroupSpec spec = UserV2(1);
  spec.constraints.push_back({"rack", "LIKE", "r[12]"});
  spec.constraints.push_back({"hostname", "MAX_PER", "2"});
  spec.constraints.push_back({"zone", "GROUP_BY", ""});
  spec.constraints.push_back({"disk", "CLUSTER", "ssd"});
  auto problems = backend->Unsatisfiable(spec);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("rack:LIKE:r[12]: ", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("hostname:MAX_PER:2: ", 0), 0u) << problems[1];
  ASSERT_TRUE(backend->Deploy(spec).ok());
  const json pod = (*fake_.Deployment("shop", "user-v2"))["spec"]["template"]["spec"];
  EXPECT_EQ(pod["nodeSelector"], json::parse(R"({"disk":"ssd"})"));
  EXPECT_EQ(pod["topologySpreadConstraints"][0]["topologyKey"], "zone");
  EXPECT_TRUE(backend->Unsatisfiable(UserV2()).empty());
}

}  // namespace
}  // namespace canarymesh::bridge
