#include "scheduler-bridge/kubernetes/kubernetes_kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "core/yaml_fields.h"
#include "scheduler-bridge/http/base64.h"

namespace canarymesh::bridge {

namespace {

std::string ScalarOr(const YAML::Node& map, const char* key) {
  YAML::Node value = map[key];
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : "";
}

// The `inner` map of the entry named `name` in a list such as clusters: [{name, cluster: {...}}].
YAML::Node FindNamed(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : list) {
    if (entry.IsMap() && ScalarOr(entry, "name") == name) return entry[inner];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string Absolute(const std::string& path, const std::filesystem::path& base) {
  if (path.empty() || path.front() == '/') return path;
  return (base / path).lexically_normal().string();
}

}  // namespace

Result<KubeconfigCredentials> LoadKubeconfig(const std::string& path, const std::string& context) {
  // `at`: the node the problem is about, whose place in the file ends the message.
  auto bad = [&](const std::string& why, const YAML::Node& at) {
    return Status::InvalidArgument("kubeconfig " + path + ": " + why + YamlPosition(at, path));
  };
  try {
    const YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return bad("not a kubeconfig (expected a map)", root);
    std::string context_name = context.empty() ? ScalarOr(root, "current-context") : context;
    if (context_name.empty()) {
      return bad("no current-context; name one with kubernetes.context", root);
    }
    YAML::Node ctx = FindNamed(root["contexts"], context_name, "context");
    if (!ctx.IsMap()) {
      const YAML::Node named = context.empty() ? root["current-context"] : root["contexts"];
      return bad("no context named \"" + context_name + "\"", named);
    }
    std::string cluster_name = ScalarOr(ctx, "cluster");
    std::string user_name = ScalarOr(ctx, "user");
    YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
    if (!cluster.IsMap()) {
      return bad("context \"" + context_name + "\" names unknown cluster \"" + cluster_name + "\"",
                 ctx["cluster"].IsDefined() ? ctx["cluster"] : ctx);
    }

    std::filesystem::path base = std::filesystem::path(path).parent_path();
    KubeconfigCredentials out;
    out.namespace_name = ScalarOr(ctx, "namespace");
    out.server = ScalarOr(cluster, "server");
    if (out.server.empty()) return bad("cluster \"" + cluster_name + "\" has no server", cluster);
    if (ScalarOr(cluster, "insecure-skip-tls-verify") == "true") {
      return bad("cluster \"" + cluster_name +
                     "\" skips TLS verification, which the bridge does not do; "
                     "give certificate-authority or certificate-authority-data",
                 cluster["insecure-skip-tls-verify"]);
    }
    out.ca_file = Absolute(ScalarOr(cluster, "certificate-authority"), base);
    std::string ca_data = ScalarOr(cluster, "certificate-authority-data");
    if (!ca_data.empty()) {
      auto pem = Base64Decode(ca_data);
      if (!pem.ok()) {
        return bad("cluster \"" + cluster_name +
                       "\": certificate-authority-data: " + pem.status().message(),
                   cluster["certificate-authority-data"]);
      }
      out.ca_pem = *pem;
    }

    if (!user_name.empty()) {
      YAML::Node user = FindNamed(root["users"], user_name, "user");
      if (!user.IsMap()) {
        return bad("context \"" + context_name + "\" names unknown user \"" + user_name + "\"",
                   ctx["user"]);
      }
      for (const char* unsupported :
           {"client-certificate", "client-certificate-data", "exec", "auth-provider", "username"}) {
        if (user[unsupported].IsDefined() && ScalarOr(user, "token").empty() &&
            ScalarOr(user, "tokenFile").empty()) {
          return bad("user \"" + user_name + "\" authenticates with " + unsupported +
                         ", which the bridge does not support; give it a service-account token "
                         "(token or tokenFile)",
                     user[unsupported]);
        }
      }
      out.token = ScalarOr(user, "token");
      out.token_file = Absolute(ScalarOr(user, "tokenFile"), base);
    }
    return out;
  } catch (const YAML::BadFile&) {
    return bad("cannot read the file", YAML::Node());
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("kubeconfig " + path + ": not valid YAML: " + e.msg +
                                   YamlPosition(e.mark, path));
  }
}

}  // namespace canarymesh::bridge
