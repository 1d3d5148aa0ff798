#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/net_address.h"

namespace canarymesh {
namespace {

// Thrown only inside this file, turned into a Status at the boundary: config loading is not on
// the data path, and unwinding keeps the many field checks readable.
struct ConfigError {
  std::string field;
  std::string message;
};

std::string Join(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

void CheckKeys(const YAML::Node& node, const std::string& field, std::set<std::string> allowed) {
  if (!node.IsMap()) throw ConfigError{field.empty() ? "(top level)" : field, "expected a mapping"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError{Join(field, key), "unknown field (known: " + known + ")"};
    }
  }
}

template <typename T>
T Scalar(const YAML::Node& node, const std::string& field, const char* what) {
  if (!node.IsScalar()) throw ConfigError{field, std::string("expected ") + what};
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError{field, std::string("expected ") + what + ", got '" + node.Scalar() + "'"};
  }
}

uint32_t U32(const YAML::Node& node, const std::string& field, uint32_t min, uint32_t max) {
  auto value = Scalar<long long>(node, field, "an integer");
  if (value < min || value > max) {
    throw ConfigError{field, "must be between " + std::to_string(min) + " and " + std::to_string(max)};
  }
  return static_cast<uint32_t>(value);
}

void ReadU32(const YAML::Node& parent, const char* key, const std::string& field, uint32_t* out,
             uint32_t min, uint32_t max) {
  if (parent[key]) *out = U32(parent[key], Join(field, key), min, max);
}

void ReadString(const YAML::Node& parent, const char* key, const std::string& field, std::string* out) {
  if (parent[key]) *out = Scalar<std::string>(parent[key], Join(field, key), "a string");
}

void CheckAddress(const std::string& text, const std::string& field) {
  auto parsed = ParseNetAddress(text);
  if (!parsed.ok()) throw ConfigError{field, parsed.status().message()};
}

std::vector<std::string> StringList(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) throw ConfigError{field, "expected a list"};
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(Scalar<std::string>(node[i], field + "[" + std::to_string(i) + "]", "a string"));
  }
  return out;
}

ThriftServiceConfig ParseThriftService(const YAML::Node& node, const std::string& field) {
  CheckKeys(node, field, {"transport", "http_path", "method_versions"});
  ThriftServiceConfig thrift;
  ReadString(node, "transport", field, &thrift.transport);
  const std::set<std::string> transports = {"same", "framed", "buffered", "header", "ttwitter"};
  if (!transports.count(thrift.transport)) {
    throw ConfigError{Join(field, "transport"), "must be one of same, framed, buffered, header, ttwitter"};
  }
  ReadString(node, "http_path", field, &thrift.http_path);
  if (!thrift.http_path.empty() && thrift.http_path[0] != '/') {
    throw ConfigError{Join(field, "http_path"), "must start with '/'"};
  }
  if (const auto& m = node["method_versions"]) {
    if (!m.IsMap()) throw ConfigError{Join(field, "method_versions"), "expected method -> version"};
    for (const auto& kv : m) {
      std::string method = kv.first.as<std::string>();
      thrift.method_versions[method] =
          Scalar<std::string>(kv.second, Join(field, "method_versions." + method), "a version name");
    }
  }
  return thrift;
}

ServiceConfig ParseService(const YAML::Node& node, const std::string& field) {
  CheckKeys(node, field, {"name", "hosts", "path_prefix", "versions", "serverset", "route", "thrift"});
  ServiceConfig svc;
  if (!node["name"]) throw ConfigError{Join(field, "name"), "required"};
  svc.name = Scalar<std::string>(node["name"], Join(field, "name"), "a string");
  if (svc.name.empty() || svc.name.find_first_of("=,/ ") != std::string::npos) {
    throw ConfigError{Join(field, "name"), "must be non-empty without '=', ',', '/' or spaces"};
  }
  if (node["hosts"]) svc.hosts = StringList(node["hosts"], Join(field, "hosts"));
  ReadString(node, "path_prefix", field, &svc.path_prefix);
  if (!svc.path_prefix.empty() && svc.path_prefix[0] != '/') {
    throw ConfigError{Join(field, "path_prefix"), "must start with '/'"};
  }
  if (node["versions"]) {
    std::string vfield = Join(field, "versions");
    const YAML::Node& versions = node["versions"];
    if (!versions.IsMap()) throw ConfigError{vfield, "expected a mapping of version -> [host:port]"};
    for (const auto& kv : versions) {
      std::string version = kv.first.as<std::string>();
      std::string ifield = Join(vfield, version);
      auto instances = StringList(kv.second, ifield);
      for (size_t i = 0; i < instances.size(); ++i) {
        CheckAddress(instances[i], ifield + "[" + std::to_string(i) + "]");
      }
      svc.versions[version] = std::move(instances);
    }
  }
  if (node["serverset"]) {
    std::string sfield = Join(field, "serverset");
    const YAML::Node& ss = node["serverset"];
    CheckKeys(ss, sfield, {"path", "endpoint", "version_paths"});
    ReadString(ss, "path", sfield, &svc.serverset.path);
    ReadString(ss, "endpoint", sfield, &svc.serverset.endpoint);
    if (!svc.serverset.path.empty() && svc.serverset.path[0] != '/') {
      throw ConfigError{Join(sfield, "path"), "must be an absolute ZooKeeper path"};
    }
    if (ss["version_paths"]) {
      const YAML::Node& vp = ss["version_paths"];
      if (!vp.IsMap()) throw ConfigError{Join(sfield, "version_paths"), "expected path -> version"};
      for (const auto& kv : vp) {
        svc.serverset.version_paths[kv.first.as<std::string>()] =
            Scalar<std::string>(kv.second, Join(sfield, "version_paths." + kv.first.as<std::string>()),
                                "a version name");
      }
    }
  }
  if (node["route"]) {
    std::string rfield = Join(field, "route");
    const YAML::Node& r = node["route"];
    CheckKeys(r, rfield, {"weights", "sticky_header", "sticky_client_ip"});
    RoutePolicyConfig policy;
    if (r["weights"]) {
      if (!r["weights"].IsMap()) throw ConfigError{Join(rfield, "weights"), "expected version -> weight"};
      for (const auto& kv : r["weights"]) {
        std::string version = kv.first.as<std::string>();
        policy.weights[version] = U32(kv.second, Join(rfield, "weights." + version), 0, 1000000);
      }
    }
    ReadString(r, "sticky_header", rfield, &policy.sticky_header);
    if (r["sticky_client_ip"]) {
      policy.sticky_client_ip = Scalar<bool>(r["sticky_client_ip"], Join(rfield, "sticky_client_ip"), "true/false");
    }
    svc.route = policy;
  }
  if (node["thrift"]) svc.thrift = ParseThriftService(node["thrift"], Join(field, "thrift"));
  if (svc.versions.empty() && svc.serverset.path.empty()) {
    throw ConfigError{field, "service '" + svc.name + "' needs static 'versions' or a 'serverset'"};
  }
  return svc;
}

AnnounceConfig ParseAnnounce(const YAML::Node& node) {
  const std::string field = "announce";
  CheckKeys(node, field, {"path", "host", "port", "endpoints", "shard", "version", "health_check"});
  AnnounceConfig announce;
  ReadString(node, "path", field, &announce.path);
  if (announce.path.empty() || announce.path[0] != '/' || announce.path.back() == '/') {
    throw ConfigError{Join(field, "path"), "required: an absolute ZooKeeper path"};
  }
  ReadString(node, "host", field, &announce.host);
  if (announce.host.empty()) throw ConfigError{Join(field, "host"), "required"};
  if (!node["port"]) throw ConfigError{Join(field, "port"), "required"};
  ReadU32(node, "port", field, &announce.port, 1, 65535);
  if (const auto& e = node["endpoints"]) {
    if (!e.IsMap()) throw ConfigError{Join(field, "endpoints"), "expected name -> port"};
    for (const auto& kv : e) {
      std::string name = kv.first.as<std::string>();
      announce.endpoints[name] = U32(kv.second, Join(field, "endpoints." + name), 1, 65535);
    }
  }
  if (node["shard"]) {
    announce.shard = Scalar<int32_t>(node["shard"], Join(field, "shard"), "an integer");
  }
  ReadString(node, "version", field, &announce.version);
  if (const auto& h = node["health_check"]) {
    const std::string hfield = Join(field, "health_check");
    CheckKeys(h, hfield, {"kind", "address", "path", "interval_ms", "timeout_ms", "rise", "fall"});
    AnnounceHealthConfig& check = announce.health_check;
    ReadString(h, "kind", hfield, &check.kind);
    if (check.kind != "http" && check.kind != "tcp") {
      throw ConfigError{Join(hfield, "kind"), "must be http or tcp"};
    }
    ReadString(h, "address", hfield, &check.address);
    if (!check.address.empty()) CheckAddress(check.address, Join(hfield, "address"));
    ReadString(h, "path", hfield, &check.path);
    if (check.path.empty() || check.path[0] != '/') {
      throw ConfigError{Join(hfield, "path"), "must start with '/'"};
    }
    ReadU32(h, "interval_ms", hfield, &check.interval_ms, 10, 3600000);
    ReadU32(h, "timeout_ms", hfield, &check.timeout_ms, 1, 600000);
    ReadU32(h, "rise", hfield, &check.rise, 1, 1000);
    ReadU32(h, "fall", hfield, &check.fall, 1, 1000);
  }
  return announce;
}

// Thrift listeners name existing services (which thereby speak Thrift); Thrift-over-HTTP paths
// are unique.
void CheckThriftServices(ProxyConfig& cfg) {
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    const ListenerConfig& l = cfg.listeners[i];
    if (l.protocol != "thrift") continue;
    ServiceConfig* found = nullptr;
    for (ServiceConfig& svc : cfg.services) found = svc.name == l.service ? &svc : found;
    if (found == nullptr) {
      throw ConfigError{"listeners[" + std::to_string(i) + "].service", "no service named '" + l.service + "'"};
    }
    if (!found->thrift) found->thrift = ThriftServiceConfig{};
  }
  std::set<std::string> paths;
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& thrift = cfg.services[i].thrift;
    if (thrift && !thrift->http_path.empty() && !paths.insert(thrift->http_path).second) {
      throw ConfigError{"services[" + std::to_string(i) + "].thrift.http_path",
                        "path '" + thrift->http_path + "' is used by another service"};
    }
  }
}

ProxyConfig ParseRoot(const YAML::Node& root) {
  ProxyConfig cfg;
  CheckKeys(root, "", {"workers", "log_level", "admin", "listeners", "timeouts", "limits", "retries",
                       "outlier", "override_header", "zookeeper", "services", "announce"});
  ReadU32(root, "workers", "", &cfg.workers, 0, 256);
  ReadString(root, "log_level", "", &cfg.log_level);
  if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" &&
      cfg.log_level != "error") {
    throw ConfigError{"log_level", "must be one of debug, info, warn, error"};
  }
  if (const auto& a = root["admin"]) {
    CheckKeys(a, "admin", {"listen", "token"});
    ReadString(a, "listen", "admin", &cfg.admin.listen);
    ReadString(a, "token", "admin", &cfg.admin.token);
  }
  CheckAddress(cfg.admin.listen, "admin.listen");
  if (!root["listeners"]) throw ConfigError{"listeners", "required: at least one listener"};
  const YAML::Node& ls = root["listeners"];
  if (!ls.IsSequence() || ls.size() == 0) throw ConfigError{"listeners", "expected a non-empty list"};
  for (size_t i = 0; i < ls.size(); ++i) {
    std::string field = "listeners[" + std::to_string(i) + "]";
    CheckKeys(ls[i], field, {"name", "listen", "protocol", "strip_overrides", "service", "max_frame_bytes"});
    ListenerConfig l;
    l.name = "listener" + std::to_string(i);
    ReadString(ls[i], "name", field, &l.name);
    if (!ls[i]["listen"]) throw ConfigError{Join(field, "listen"), "required"};
    ReadString(ls[i], "listen", field, &l.listen);
    CheckAddress(l.listen, Join(field, "listen"));
    ReadString(ls[i], "protocol", field, &l.protocol);
    if (l.protocol != "http" && l.protocol != "thrift") {
      throw ConfigError{Join(field, "protocol"), "supported: http, thrift"};
    }
    ReadString(ls[i], "service", field, &l.service);
    if (l.protocol == "thrift" && l.service.empty()) {
      throw ConfigError{Join(field, "service"), "required for a thrift listener: the service it serves"};
    }
    if (l.protocol != "thrift" && !l.service.empty()) {
      throw ConfigError{Join(field, "service"), "only thrift listeners name a service"};
    }
    ReadU32(ls[i], "max_frame_bytes", field, &l.max_frame_bytes, 64, 1u << 30);
    if (ls[i]["strip_overrides"]) {
      l.strip_overrides = Scalar<bool>(ls[i]["strip_overrides"], Join(field, "strip_overrides"), "true/false");
    }
    cfg.listeners.push_back(l);
  }
  if (const auto& t = root["timeouts"]) {
    CheckKeys(t, "timeouts", {"connect_ms", "request_ms", "client_idle_ms", "header_read_ms", "upstream_idle_ms"});
    ReadU32(t, "connect_ms", "timeouts", &cfg.timeouts.connect_ms, 1, 600000);
    ReadU32(t, "request_ms", "timeouts", &cfg.timeouts.request_ms, 1, 3600000);
    ReadU32(t, "client_idle_ms", "timeouts", &cfg.timeouts.client_idle_ms, 1, 3600000);
    ReadU32(t, "header_read_ms", "timeouts", &cfg.timeouts.header_read_ms, 1, 600000);
    ReadU32(t, "upstream_idle_ms", "timeouts", &cfg.timeouts.upstream_idle_ms, 1, 3600000);
  }
  if (const auto& l = root["limits"]) {
    CheckKeys(l, "limits", {"max_request_header_bytes", "max_response_header_bytes",
                            "max_idle_upstream_per_instance", "buffer_high_watermark"});
    ReadU32(l, "max_request_header_bytes", "limits", &cfg.limits.max_request_header_bytes, 1024, 1 << 24);
    ReadU32(l, "max_response_header_bytes", "limits", &cfg.limits.max_response_header_bytes, 1024, 1 << 24);
    ReadU32(l, "max_idle_upstream_per_instance", "limits", &cfg.limits.max_idle_upstream_per_instance, 0, 100000);
    ReadU32(l, "buffer_high_watermark", "limits", &cfg.limits.buffer_high_watermark, 4096, 1 << 30);
  }
  if (const auto& r = root["retries"]) {
    CheckKeys(r, "retries", {"budget_percent", "min_per_second", "max_attempts"});
    if (r["budget_percent"]) cfg.retries.budget_percent = Scalar<double>(r["budget_percent"], "retries.budget_percent", "a number");
    if (r["min_per_second"]) cfg.retries.min_per_second = Scalar<double>(r["min_per_second"], "retries.min_per_second", "a number");
    ReadU32(r, "max_attempts", "retries", &cfg.retries.max_attempts, 1, 10);
    if (cfg.retries.budget_percent < 0 || cfg.retries.budget_percent > 100) {
      throw ConfigError{"retries.budget_percent", "must be between 0 and 100"};
    }
    if (cfg.retries.min_per_second < 0) throw ConfigError{"retries.min_per_second", "must be >= 0"};
  }
  if (const auto& o = root["outlier"]) {
    CheckKeys(o, "outlier", {"consecutive_failures", "base_ejection_ms", "max_ejection_ms"});
    ReadU32(o, "consecutive_failures", "outlier", &cfg.outlier.consecutive_failures, 0, 1000000);
    ReadU32(o, "base_ejection_ms", "outlier", &cfg.outlier.base_ejection_ms, 1, 3600000);
    ReadU32(o, "max_ejection_ms", "outlier", &cfg.outlier.max_ejection_ms, 1, 36000000);
  }
  ReadString(root, "override_header", "", &cfg.override_header);
  if (const auto& z = root["zookeeper"]) {
    CheckKeys(z, "zookeeper", {"connect", "session_timeout_ms", "chroot", "routes_path", "sidecars_path"});
    ReadString(z, "connect", "zookeeper", &cfg.zookeeper.connect);
    ReadU32(z, "session_timeout_ms", "zookeeper", &cfg.zookeeper.session_timeout_ms, 1000, 600000);
    ReadString(z, "chroot", "zookeeper", &cfg.zookeeper.chroot);
    ReadString(z, "routes_path", "zookeeper", &cfg.zookeeper.routes_path);
    ReadString(z, "sidecars_path", "zookeeper", &cfg.zookeeper.sidecars_path);
    if (!cfg.zookeeper.sidecars_path.empty() &&
        (cfg.zookeeper.sidecars_path[0] != '/' || cfg.zookeeper.sidecars_path.back() == '/')) {
      throw ConfigError{"zookeeper.sidecars_path", "must start with '/' and not end with '/' (or be empty)"};
    }
  }
  if (!root["services"]) throw ConfigError{"services", "required: at least one service"};
  const YAML::Node& ss = root["services"];
  if (!ss.IsSequence()) throw ConfigError{"services", "expected a list"};
  std::set<std::string> names;
  for (size_t i = 0; i < ss.size(); ++i) {
    std::string field = "services[" + std::to_string(i) + "]";
    ServiceConfig svc = ParseService(ss[i], field);
    if (!names.insert(svc.name).second) throw ConfigError{Join(field, "name"), "duplicate service '" + svc.name + "'"};
    if (!svc.serverset.path.empty() && cfg.zookeeper.connect.empty()) {
      throw ConfigError{Join(field, "serverset"), "needs zookeeper.connect"};
    }
    cfg.services.push_back(std::move(svc));
  }
  CheckThriftServices(cfg);
  if (const auto& a = root["announce"]) {
    cfg.announce = ParseAnnounce(a);
    if (cfg.zookeeper.connect.empty()) throw ConfigError{"announce", "needs zookeeper.connect"};
  }
  return cfg;
}

}  // namespace

Result<ProxyConfig> ParseProxyConfig(const std::string& yaml_text, const std::string& source) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    ProxyConfig cfg = ParseRoot(root);
    cfg.source = source;
    return cfg;
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(source + ": " + e.field + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ": YAML error: " + e.what());
  }
}

Result<ProxyConfig> LoadProxyConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open config file");
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseProxyConfig(buf.str(), path);
}

}  // namespace canarymesh
