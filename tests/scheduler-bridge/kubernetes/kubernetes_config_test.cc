#include "scheduler-bridge/kubernetes/kubernetes_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "scheduler-bridge/http/base64.h"

namespace canarymesh::bridge {
namespace {

class KubernetesConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir() + "/k8s_config_test-" +
                                 std::to_string(::getpid()))
               .lexically_normal()
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/sa");
    environment_.serviceaccount_dir = dir_ + "/sa";
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name) << content;
  }
  Result<KubernetesBackendConfig> Parse(const std::string& yaml) {
    return KubernetesBackendConfigFromYaml(YAML::Load(yaml), environment_);
  }

  std::string dir_;
  KubernetesEnvironment environment_;
};

TEST_F(KubernetesConfigTest, InClusterDefaults) {
  environment_.service_host = "10.96.0.1";
  environment_.service_port = "443";
  Write("sa/namespace", "shop\n");
  auto config = Parse("{}");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->api_server, "https://10.96.0.1:443");
  EXPECT_EQ(config->namespace_name, "shop");
  EXPECT_EQ(config->token_file, dir_ + "/sa/token");
  EXPECT_EQ(config->http.ca_file, dir_ + "/sa/ca.crt");
  EXPECT_EQ(config->container_port, 8080u);
}

TEST_F(KubernetesConfigTest, InClusterIpv6AndNoNamespaceFile) {
  environment_.service_host = "fd00::1";
  environment_.service_port = "6443";
  auto config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->api_server, "https://[fd00::1]:6443");
  EXPECT_EQ(config->namespace_name, "default");
}

TEST_F(KubernetesConfigTest, OutsideAPodWithoutSettingsIsAnError) {
  auto config = Parse("{}");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("kubernetes.api_server: not set", 0), 0u)
      << config.status().message();
}

TEST_F(KubernetesConfigTest, ExplicitKeysWin) {
  environment_.service_host = "10.96.0.1";
  auto config = Parse(R"(
api_server: https://k8s.example:6443
namespace: canary
token_file: /etc/bridge/token
ca_file: /etc/bridge/ca.crt
container_port: 9090
progress_deadline_seconds: 120
request_timeout_ms: 5000
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->api_server, "https://k8s.example:6443");
  EXPECT_EQ(config->namespace_name, "canary");
  EXPECT_EQ(config->token_file, "/etc/bridge/token");
  EXPECT_EQ(config->http.ca_file, "/etc/bridge/ca.crt");
  EXPECT_EQ(config->container_port, 9090u);
  EXPECT_EQ(config->progress_deadline_seconds, 120u);
  EXPECT_EQ(config->http.request_timeout_ms, 5000u);
}

TEST_F(KubernetesConfigTest, KubeconfigCurrentContext) {
  Write("kubeconfig", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev-cluster
  cluster: {server: https://dev.example:6443}
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/prod-ca.crt
users:
- name: bridge
  user: {tokenFile: tokens/bridge}
- name: dev
  user: {token: dev-token}
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev}
- name: prod
  context: {cluster: prod-cluster, user: bridge, namespace: payments}
)");
  auto config = Parse("kubeconfig: " + dir_ + "/kubeconfig");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->api_server, "https://prod.example:6443");
  EXPECT_EQ(config->http.ca_file, dir_ + "/certs/prod-ca.crt");
  EXPECT_EQ(config->token_file, dir_ + "/tokens/bridge");
  EXPECT_EQ(config->namespace_name, "payments");

  auto dev = Parse("{kubeconfig: " + dir_ + "/kubeconfig, context: dev, namespace: sandbox}");
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  EXPECT_EQ(dev->api_server, "https://dev.example:6443");
  EXPECT_EQ(dev->token, "dev-token");
  EXPECT_TRUE(dev->token_file.empty());
  EXPECT_EQ(dev->namespace_name, "sandbox");
}

TEST_F(KubernetesConfigTest, KubeconfigCaData) {
  Write("kubeconfig",
        "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443\n"
        "    certificate-authority-data: " +
            Base64Encode("-----BEGIN CERTIFICATE-----\nabc\n") +
            "\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: "
            "k, user: u}\n");
  auto config = Parse("kubeconfig: " + dir_ + "/kubeconfig");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->http.ca_pem, "-----BEGIN CERTIFICATE-----\nabc\n");
  EXPECT_TRUE(config->http.ca_file.empty());
  EXPECT_EQ(config->namespace_name, "default");
}

TEST_F(KubernetesConfigTest, KubeconfigProblemsAreExplained) {
  struct Case {
    const char* content;
    const char* expected;
  };
  const std::string cluster = "clusters:\n- name: k\n  cluster: {server: https://h:6443}\n";
  for (const Case& c : {
           Case{"current-context: c\nusers:\n- name: u\n  user: {client-certificate-data: eA==, "
                "client-key-data: eA==}\n"
                "contexts:\n- name: c\n  context: {cluster: k, user: u}\n",
                "authenticates with client-certificate-data"},
           Case{"current-context: c\nusers:\n- name: u\n  user: {exec: {command: aws}}\n"
                "contexts:\n- name: c\n  context: {cluster: k, user: u}\n",
                "authenticates with exec"},
           Case{"current-context: nope\ncontexts: []\n", "no context named \"nope\""},
           Case{"contexts: []\n", "no current-context"},
           Case{"current-context: c\ncontexts:\n- name: c\n  context: {cluster: other}\n",
                "unknown cluster \"other\""},
           Case{"- clusters\n", "expected a map"},
           Case{"current-context: [unclosed\n", "not valid YAML"},
       }) {
    Write("kubeconfig", std::string(c.content).find("clusters") == std::string::npos
                            ? cluster + c.content
                            : c.content);
    auto config = Parse("kubeconfig: " + dir_ + "/kubeconfig");
    ASSERT_FALSE(config.ok()) << c.content;
    EXPECT_NE(config.status().message().find(c.expected), std::string::npos)
        << config.status().message();
    EXPECT_EQ(config.status().message().rfind("kubernetes.kubeconfig: ", 0), 0u);
  }
  auto missing = Parse("kubeconfig: " + dir_ + "/no-such-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
  Write("kubeconfig",
        "current-context: c\nclusters:\n- name: k\n  cluster: {server: https://h:6443, "
        "insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: k}\n");
  auto insecure = Parse("kubeconfig: " + dir_ + "/kubeconfig");
  ASSERT_FALSE(insecure.ok());
  EXPECT_NE(insecure.status().message().find("skips TLS verification"), std::string::npos);
}

TEST_F(KubernetesConfigTest, ErrorsNameTheField) {
  environment_.service_host = "10.96.0.1";
  struct Case {
    const char* yaml;
    const char* field;
  };
  for (const Case& c :
       {Case{"apiserver: x", "kubernetes.apiserver"},
        Case{"api_server: 10.0.0.1:6443", "kubernetes.api_server"},
        Case{"namespace: Not_Valid", "kubernetes.namespace"},
        Case{"container_port: 70000", "kubernetes.container_port"},
        Case{"container_port: http", "kubernetes.container_port"},
        Case{"progress_deadline_seconds: 0", "kubernetes.progress_deadline_seconds"},
        Case{"context: prod", "kubernetes.context"},
        Case{"token_file: {a: b}", "kubernetes.token_file"}, Case{"[1, 2]", "kubernetes"}}) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(config.status().message().rfind(c.field, 0), 0u)
        << c.yaml << " -> " << config.status().message();
  }
}

TEST_F(KubernetesConfigTest, ErrorsGiveTheLineAndColumn) {
  environment_.service_host = "10.96.0.1";
  struct Case {
    std::string yaml;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"namespace: shop\ncontainer_port: http",
            "kubernetes.container_port: expected an integer, got 'http' (at 2:17)"},
           {"container_port: 70000",
            "kubernetes.container_port: must be between 1 and 65535 (at 1:17)"},
           {"namespace: shop\napiserver: x",
            "kubernetes.apiserver: unknown field (known: api_server, ca_file, connect_timeout_ms, "
            "container_port, context, kubeconfig, namespace, progress_deadline_seconds, "
            "request_timeout_ms, token_file) (at 2:1)"},
           {"namespace: Not_Valid",
            "kubernetes.namespace: \"Not_Valid\" is not a valid namespace name (at 1:12)"},
       }) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().message(), c.message) << c.yaml;
  }
  // A kubeconfig's own mistakes are placed in that file, after the field that names it.
  Write("kubeconfig",
        "current-context: c\nclusters:\n- name: k\n  cluster: {server: https://h:6443}\n"
        "contexts:\n- name: c\n  context: {cluster: other}\n");
  const std::string path = dir_ + "/kubeconfig";
  auto config = Parse("kubeconfig: " + path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "kubernetes.kubeconfig: kubeconfig " + path +
                                           ": context \"c\" names unknown cluster \"other\" (at " +
                                           path + ":7:22) (at 1:13)");
}

}  // namespace
}  // namespace canarymesh::bridge
