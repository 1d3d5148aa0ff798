#include "scheduler-bridge/kubernetes/kubernetes_config.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/yaml_fields.h"
#include "scheduler-bridge/cluster/cluster_config_yaml.h"
#include "scheduler-bridge/kubernetes/kubernetes_kubeconfig.h"

namespace canarymesh::bridge {

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The service account's namespace file, trimmed; "" when there is none.
std::string ReadNamespaceFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

bool IsDnsLabel(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

KubernetesEnvironment KubernetesEnvironment::FromProcess() {
  KubernetesEnvironment environment;
  environment.service_host = Env("KUBERNETES_SERVICE_HOST");
  environment.service_port = Env("KUBERNETES_SERVICE_PORT");
  return environment;
}

Result<KubernetesBackendConfig> KubernetesBackendConfigFromYaml(
    const YAML::Node& node, const KubernetesEnvironment& environment, const std::string& field) {
  YamlDocument document(node, "", YamlSyntax::kStrict, field);
  const YamlField root = document.Root();
  root.CheckKeys({"api_server", "namespace", "token_file", "ca_file", "kubeconfig", "context",
                  "connect_timeout_ms", "request_timeout_ms", "container_port",
                  "progress_deadline_seconds"});
  std::string api_server, namespace_name, token_file, ca_file, kubeconfig, context;
  KubernetesBackendConfig config;
  root["api_server"].Read(&api_server);
  root["namespace"].Read(&namespace_name);
  root["token_file"].Read(&token_file);
  root["ca_file"].Read(&ca_file);
  root["kubeconfig"].Read(&kubeconfig);
  root["context"].Read(&context);
  ReadHttpClientOptions(root, &config.http);
  root["container_port"].Read(&config.container_port, 1, 65535);
  root["progress_deadline_seconds"].Read(&config.progress_deadline_seconds, 1, UINT32_MAX);
  if (!context.empty() && kubeconfig.empty()) {
    root["context"].Fail("only meaningful with kubeconfig");
  }
  if (!document.ok()) return document.status();

  if (!kubeconfig.empty()) {
    auto credentials = LoadKubeconfig(kubeconfig, context);
    if (!credentials.ok()) {
      root["kubeconfig"].Fail(credentials.status().message());
      return document.status();
    }
    config.api_server = credentials->server;
    config.http.ca_file = credentials->ca_file;
    config.http.ca_pem = credentials->ca_pem;
    config.token = credentials->token;
    config.token_file = credentials->token_file;
    if (!credentials->namespace_name.empty()) config.namespace_name = credentials->namespace_name;
  } else {
    const std::string& sa = environment.serviceaccount_dir;
    if (!environment.service_host.empty()) {
      std::string host = environment.service_host;
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      config.api_server =
          "https://" + host + ":" +
          (environment.service_port.empty() ? std::string("443") : environment.service_port);
    }
    std::string sa_namespace = ReadNamespaceFile(sa + "/namespace");
    if (!sa_namespace.empty()) config.namespace_name = sa_namespace;
    config.token_file = sa + "/token";
    config.http.ca_file = sa + "/ca.crt";
  }
  if (!api_server.empty()) config.api_server = api_server;
  if (!namespace_name.empty()) config.namespace_name = namespace_name;
  if (!token_file.empty()) {
    config.token_file = token_file;
    config.token.clear();
  }
  if (!ca_file.empty()) {
    config.http.ca_file = ca_file;
    config.http.ca_pem.clear();
  }

  if (config.api_server.empty()) {
    root["api_server"].Fail(
        "not set, no kubeconfig, and KUBERNETES_SERVICE_HOST is not in the "
        "environment (is the bridge running outside a pod?)");
  } else if (auto url = ParseHttpUrl(config.api_server); !url.ok()) {
    root["api_server"].Fail(url.status().message());
  }
  if (!IsDnsLabel(config.namespace_name)) {
    root["namespace"].Fail("\"" + config.namespace_name + "\" is not a valid namespace name");
  }
  if (!document.ok()) return document.status();
  return config;
}

}  // namespace canarymesh::bridge
