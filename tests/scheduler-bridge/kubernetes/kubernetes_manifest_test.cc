// The pure halves of the Kubernetes backend: spec -> Deployment manifest (checked against the
// contract server's validation too), and Deployment/PodList answers -> GroupStatus judged the
// way `kubectl rollout status` judges them.
#include <gtest/gtest.h>

#include "scheduler-bridge/kubernetes/kubernetes_deployment_manifest.h"
#include "scheduler-bridge/kubernetes/kubernetes_deployment_status.h"
#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_validation.h"

namespace canarymesh::bridge {
namespace {

using nlohmann::json;

InstanceGroupSpec Spec() {
  InstanceGroupSpec spec;
  spec.service = "user";
  spec.version = "v2.1";
  spec.image = "user:2.1";
  return spec;
}

TEST(KubernetesNameTest, ServiceDashVersion) {
  EXPECT_EQ(*KubernetesDeploymentName("user", "v2.1"), "user-v2.1");
  EXPECT_EQ(KubernetesLabelSelector("user", "v2"), "app=user,version=v2");
  for (const std::string& bad_version :
       std::vector<std::string>{"", "V2", "v_2", "-v2", "v2.", "v..2", std::string(64, 'a')}) {
    EXPECT_FALSE(KubernetesDeploymentName("user", bad_version).ok()) << bad_version;
  }
  for (const char* bad_service : {"", "User", "us.er", "user-"}) {
    EXPECT_FALSE(KubernetesDeploymentName(bad_service, "v2").ok()) << bad_service;
  }
}

TEST(KubernetesManifestTest, PassesTheContractServersValidation) {
  InstanceGroupSpec spec = Spec();
  spec.artifact = "exec ./server --port {port} --id {instance}";
  spec.constraints = {{"hostname", "UNIQUE", ""}, {"zone", "GROUP_BY", ""}, {"rack", "IS", "r1"}};
  spec.env["A"] = "1";
  spec.labels["team"] = "accounts";
  auto manifest = KubernetesDeployment(spec, KubernetesBackendConfig{});
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  auto causes = testing::ValidateDeployment(*manifest);
  for (const auto& cause : causes) ADD_FAILURE() << cause.field << ": " << cause.message;
  const json& container = (*manifest)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["command"],
            json::parse(R"(["/bin/sh","-c","exec ./server --port 8080 --id $HOSTNAME"])"));
  EXPECT_EQ((*manifest)["spec"]["template"]["metadata"]["labels"],
            json::parse(R"({"app":"user","version":"v2.1","team":"accounts"})"));
}

TEST(KubernetesManifestTest, ResourcesAndProbes) {
  InstanceGroupSpec spec = Spec();
  spec.cpus = 1.5;
  spec.mem_mb = 100.2;
  spec.health.protocol = "tcp";
  spec.health.interval_ms = 2500;
  spec.health.timeout_ms = 100;
  spec.health.grace_period_ms = 45'000;
  spec.health.max_consecutive_failures = 0;
  KubernetesBackendConfig config;
  config.container_port = 9000;
  auto manifest = KubernetesDeployment(spec, config);
  ASSERT_TRUE(manifest.ok());
  const json& container = (*manifest)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(
      container["resources"],
      json::parse(R"({"requests":{"cpu":"1500m","memory":"101Mi"},"limits":{"memory":"101Mi"}})"));
  EXPECT_EQ(
      container["readinessProbe"],
      json::parse(
          R"({"tcpSocket":{"port":"http"},"periodSeconds":3,"timeoutSeconds":1,"failureThreshold":1})"));
  EXPECT_EQ(container["livenessProbe"]["initialDelaySeconds"], 45);
  EXPECT_EQ(container["ports"][0]["containerPort"], 9000);
  EXPECT_FALSE((*manifest)["spec"]["template"]["spec"].contains("affinity"));
}

TEST(KubernetesManifestTest, BadSpecsAreInvalidArgument) {
  InstanceGroupSpec no_image = Spec();
  no_image.image.clear();
  EXPECT_EQ(KubernetesDeployment(no_image, {}).status().code(), Status::Code::kInvalidArgument);
  InstanceGroupSpec negative = Spec();
  negative.cpus = -1;
  EXPECT_EQ(KubernetesDeployment(negative, {}).status().code(), Status::Code::kInvalidArgument);
  InstanceGroupSpec grpc = Spec();
  grpc.health.protocol = "grpc";
  EXPECT_EQ(KubernetesDeployment(grpc, {}).status().code(), Status::Code::kInvalidArgument);
}

json Deployment(int generation, int observed, int spec_replicas, json status_fields) {
  json status = std::move(status_fields);
  if (observed >= 0) status["observedGeneration"] = observed;
  return {{"metadata", {{"name", "user-v2"}, {"generation", generation}}},
          {"spec", {{"replicas", spec_replicas}}},
          {"status", status}};
}

TEST(KubernetesRolloutStatusTest, JudgedLikeKubectlRolloutStatus) {
  json pods = json::object();
  // Spec change not yet observed.
  EXPECT_TRUE(
      KubernetesGroupStatus(
          Deployment(2, 1, 3, {{"replicas", 3}, {"updatedReplicas", 3}, {"availableReplicas", 3}}),
          pods, 80)
          .deploying);
  // Not all replicas updated.
  EXPECT_TRUE(
      KubernetesGroupStatus(
          Deployment(2, 2, 3, {{"replicas", 3}, {"updatedReplicas", 2}, {"availableReplicas", 3}}),
          pods, 80)
          .deploying);
  // Old replicas pending termination.
  EXPECT_TRUE(
      KubernetesGroupStatus(
          Deployment(2, 2, 3, {{"replicas", 4}, {"updatedReplicas", 3}, {"availableReplicas", 4}}),
          pods, 80)
          .deploying);
  // Updated but not all available.
  EXPECT_TRUE(
      KubernetesGroupStatus(
          Deployment(2, 2, 3, {{"replicas", 3}, {"updatedReplicas", 3}, {"availableReplicas", 2}}),
          pods, 80)
          .deploying);
  GroupStatus done = KubernetesGroupStatus(Deployment(2, 2, 3,
                                                      {{"replicas", 3},
                                                       {"updatedReplicas", 3},
                                                       {"readyReplicas", 3},
                                                       {"availableReplicas", 3}}),
                                           pods, 80);
  EXPECT_FALSE(done.deploying);
  EXPECT_TRUE(done.Ready());
  // Zero replicas: the API server leaves the zero counts out.
  EXPECT_TRUE(KubernetesGroupStatus(Deployment(3, 3, 0, json::object()), pods, 80).Ready());
  // Missing spec.replicas defaults to 1.
  json defaulted = Deployment(1, 1, 1, json::object());
  defaulted["spec"].erase("replicas");
  EXPECT_EQ(KubernetesGroupStatus(defaulted, pods, 80).desired, 1u);
}

TEST(KubernetesRolloutStatusTest, ProgressDeadlineCountsOnceObserved) {
  json condition = {{"type", "Progressing"},
                    {"status", "False"},
                    {"reason", "ProgressDeadlineExceeded"},
                    {"message", "ReplicaSet \"user-v2-x\" has timed out progressing."}};
  json status = {{"replicas", 1}, {"conditions", json::array({condition})}};
  GroupStatus failed = KubernetesGroupStatus(Deployment(1, 1, 1, status), json::object(), 80);
  EXPECT_EQ(failed.failure,
            "deployment \"user-v2\" exceeded its progress deadline: ReplicaSet \"user-v2-x\" has "
            "timed out progressing.");
  EXPECT_FALSE(failed.Ready());
  EXPECT_TRUE(
      KubernetesGroupStatus(Deployment(2, 1, 1, status), json::object(), 80).failure.empty());
}

TEST(KubernetesRolloutStatusTest, PodsBecomeInstances) {
  json pods = json::parse(R"({"kind": "PodList", "items": [
    {"metadata": {"name": "user-v2-a"}, "status": {"phase": "Running", "podIP": "10.1.0.5",
      "conditions": [{"type": "Ready", "status": "True"}]}},
    {"metadata": {"name": "user-v2-b"}, "status": {"phase": "Running", "podIP": "10.1.0.6",
      "conditions": [{"type": "Ready", "status": "False"}]}},
    {"metadata": {"name": "user-v2-c", "deletionTimestamp": "2024-01-01T00:00:00Z"},
      "status": {"phase": "Running", "podIP": "10.1.0.7", "conditions": [{"type": "Ready", "status": "True"}]}},
    {"metadata": {"name": "user-v2-d"}, "status": {"phase": "Pending"}},
    "garbage", {"metadata": 5, "status": {"conditions": "x"}}]})");
  GroupStatus group = KubernetesGroupStatus(Deployment(1, 1, 3, json::object()), pods, 8080);
  ASSERT_EQ(group.instances.size(), 6u);
  EXPECT_EQ(group.instances[0].host, "10.1.0.5");
  EXPECT_EQ(group.instances[0].port, 8080u);
  EXPECT_TRUE(group.instances[0].healthy);
  EXPECT_FALSE(group.instances[1].healthy);
  EXPECT_EQ(group.instances[2].state, "Terminating");
  EXPECT_FALSE(group.instances[2].healthy);
  EXPECT_EQ(group.instances[3].state, "Pending");
  EXPECT_EQ(group.instances[3].host, "");
  EXPECT_EQ(group.instances[4].state, "Unknown");
}

TEST(KubernetesUnsatisfiableTest, ListsRulesWithoutAKubernetesForm) {
  InstanceGroupSpec spec = Spec();
  spec.constraints = {{"hostname", "UNIQUE", ""},
                      {"rack", "CLUSTER", ""},
                      {"rack", "UNLIKE", "r3"},
                      {"x", "NEAR", ""},
                      {"", "UNIQUE", ""}};
  auto problems = KubernetesUnsatisfiable(spec);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_NE(problems[0].find("give CLUSTER a value"), std::string::npos);
  EXPECT_NE(problems[1].find("regular expressions"), std::string::npos);
  EXPECT_NE(problems[2].find("unknown operator \"NEAR\""), std::string::npos);
  EXPECT_NE(problems[3].find("names no field"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
