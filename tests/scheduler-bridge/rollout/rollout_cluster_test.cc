// The same RolloutMachine, unchanged, driving the Marathon and Kubernetes backends against their
// contract servers (tests/scheduler-bridge/*_contract_server.h): a good canary promoted and a bad
// one rolled back on each. Route weights and metrics come from the in-memory world (no sidecars
// run here); the engine calls are real HTTP to the contract servers.
#include <gtest/gtest.h>

#include <memory>

#include "scheduler-bridge/kubernetes/kubernetes_backend.h"
#include "scheduler-bridge/marathon/marathon_backend.h"
#include "scheduler-bridge/rollout/rollout_machine.h"
#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_server.h"
#include "tests/scheduler-bridge/marathon/marathon_contract_server.h"
#include "tests/scheduler-bridge/rollout/rollout_test_world.h"
#include "tests/scheduler-bridge/support/contract_tls.h"

namespace canarymesh::bridge {
namespace {

using testing::EventLog;
using testing::InMemoryRoutes;
using testing::ScriptedCheckRunner;
using testing::SimulatedTraffic;

RolloutServiceConfig ShopService() {
  RolloutServiceConfig s;
  s.name = "shop";
  s.serverset_path = "/discovery/shop";
  s.stable_version = "v1";
  s.instances = 3;
  s.artifact = "./shop --version {version} --port $PORT0";
  s.image = "registry.example.com/shop:{version}";
  s.constraints = {{"hostname", "UNIQUE", ""}};
  return s;
}

class RolloutClusterTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "marathon") {
      ASSERT_TRUE(marathon_.Start().ok());
      MarathonBackendConfig config;
      config.url = marathon_.url();
      auto made = MarathonBackend::Create(config);
      ASSERT_TRUE(made.ok()) << made.status().ToString();
      backend_ = std::move(made.value());
    } else {
      auto certs = testing::TestCertificates::Generate();
      ASSERT_TRUE(certs.ok()) << certs.status().ToString();
      certs_ = std::move(certs.value());
      ASSERT_TRUE(kubernetes_.Start(certs_->server_cert_file(), certs_->server_key_file()).ok());
      KubernetesBackendConfig config;
      config.api_server = kubernetes_.url();
      config.namespace_name = "shop";
      config.http.ca_file = certs_->ca_file();
      auto made = KubernetesBackend::Create(config);
      ASSERT_TRUE(made.ok()) << made.status().ToString();
      backend_ = std::move(made.value());
    }
    RolloutTimings timings;
    timings.drain_ms = 0;
    traffic_.requests_per_read = 1000;
    machine_ = std::make_unique<RolloutMachine>(
        RolloutWorld{backend_.get(), &routes_, &traffic_, &checks_}, canary::CanaryJudge(), timings,
        std::vector<RolloutServiceConfig>{ShopService()}, "127.0.0.1:4140");
  }

  void StartStable() {
    ASSERT_TRUE(machine_->EnsureStable("shop", "v1", "", "").ok());
    for (int i = 0; i < 50; ++i) {
      auto g = backend_->Inspect("shop", "v1");
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      if (g->Ready()) return;
    }
    FAIL() << "stable version never ready on " << GetParam();
  }

  RolloutRecord Run(RolloutOptions options) {
    RolloutRecord r;
    r.id = "shop-v2-1";
    r.service = "shop";
    r.version = "v2";
    r.baseline_version = "v1";
    r.options = options;
    EnterStage(r, RolloutStage::kTestStarting, now_, "requested");
    for (int i = 0; i < 1000 && !IsTerminal(r.stage); ++i) r = machine_->Advance(r, now_ += 1000);
    return r;
  }

  testing::FakeMarathon marathon_;
  testing::FakeKubernetes kubernetes_;
  std::unique_ptr<testing::TestCertificates> certs_;
  std::unique_ptr<ClusterBackend> backend_;
  EventLog log_;
  InMemoryRoutes routes_{&log_};
  SimulatedTraffic traffic_{&routes_, "shop", "v1"};
  ScriptedCheckRunner checks_;
  std::unique_ptr<RolloutMachine> machine_;
  int64_t now_ = 1'700'000'000'000;
};

TEST_P(RolloutClusterTest, GoodCanaryIsPromoted) {
  StartStable();
  RolloutOptions options;
  options.instances = 1;  // a single test instance, scaled to 3 on promotion
  options.integration_check = "./check";
  RolloutRecord r = Run(options);
  ASSERT_EQ(r.stage, RolloutStage::kPromoted) << r.final_reason << " / " << r.last_error;
  auto v2 = backend_->Inspect("shop", "v2");
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->Ready());
  EXPECT_EQ(v2->desired, 3u);
  auto v1 = backend_->Inspect("shop", "v1");
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->exists);
  EXPECT_EQ(routes_.policies.at("shop").weights(), (canary::VersionWeights{{"v2", 100}}));
  if (GetParam() == "marathon") {
    EXPECT_EQ(marathon_.AppCount(), 1u);
    EXPECT_GE(marathon_.CountRequests("PUT", "/v2/apps/"), 1u);  // the scale-up
  } else {
    EXPECT_EQ(kubernetes_.DeploymentCount(), 1u);
    EXPECT_GE(kubernetes_.CountRequests("PATCH", "/apis/apps/v1/namespaces/shop/deployments/"), 1u);
  }
}

TEST_P(RolloutClusterTest, BadCanaryIsRolledBack) {
  StartStable();
  traffic_.error_rate = {{"v1", 0.01}, {"v2", 0.05}};
  RolloutRecord r = Run(RolloutOptions{});
  ASSERT_EQ(r.stage, RolloutStage::kRolledBack) << r.final_reason << " / " << r.last_error;
  auto v2 = backend_->Inspect("shop", "v2");
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->exists);
  auto v1 = backend_->Inspect("shop", "v1");
  ASSERT_TRUE(v1.ok());
  EXPECT_TRUE(v1->Ready());
  EXPECT_EQ(routes_.policies.at("shop").weights(), (canary::VersionWeights{{"v1", 100}}));
}

INSTANTIATE_TEST_SUITE_P(Engines, RolloutClusterTest, ::testing::Values("marathon", "kubernetes"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace canarymesh::bridge
