#include "core/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/net_address.h"
#include "core/yaml_fields.h"

namespace canarymesh {
namespace {

// Every check goes through the YamlDocument, which keeps the first error (with the field's
// position); a failed read leaves the default, so parsing simply carries on to the end.

void CheckAddress(const YamlField& field, const std::string& text) {
  auto parsed = ParseNetAddress(text);
  if (!parsed.ok()) field.Fail(parsed.status().message());
}

std::vector<std::string> StringList(const YamlField& field) {
  std::vector<std::string> out;
  for (const YamlField& item : field.Items()) {
    std::string value;
    item.Read(&value);
    out.push_back(std::move(value));
  }
  return out;
}

ThriftServiceConfig ParseThriftService(const YamlField& node) {
  node.CheckKeys({"transport", "http_path", "method_versions"});
  ThriftServiceConfig thrift;
  node["transport"].Read(&thrift.transport);
  const std::set<std::string> transports = {"same", "framed", "buffered", "header", "ttwitter"};
  if (!transports.count(thrift.transport)) {
    node["transport"].Fail("must be one of same, framed, buffered, header, ttwitter");
  }
  node["http_path"].Read(&thrift.http_path);
  if (!thrift.http_path.empty() && thrift.http_path[0] != '/') {
    node["http_path"].Fail("must start with '/'");
  }
  for (const auto& [method, version] : node["method_versions"].Entries("method -> version")) {
    version.Read(&thrift.method_versions[method]);
  }
  return thrift;
}

ServiceConfig ParseService(const YamlField& node) {
  node.CheckKeys({"name", "hosts", "path_prefix", "versions", "serverset", "route", "thrift"});
  ServiceConfig svc;
  node["name"].Require();
  node["name"].Read(&svc.name);
  if (svc.name.empty() || svc.name.find_first_of("=,/ ") != std::string::npos) {
    node["name"].Fail("must be non-empty without '=', ',', '/' or spaces");
  }
  svc.hosts = StringList(node["hosts"]);
  node["path_prefix"].Read(&svc.path_prefix);
  if (!svc.path_prefix.empty() && svc.path_prefix[0] != '/') {
    node["path_prefix"].Fail("must start with '/'");
  }
  for (const auto& [version, list] :
       node["versions"].Entries("a mapping of version -> [host:port]")) {
    auto instances = StringList(list);
    for (size_t i = 0; i < instances.size(); ++i) CheckAddress(list.Item(i), instances[i]);
    svc.versions[version] = std::move(instances);
  }
  if (const YamlField ss = node["serverset"]; ss.present()) {
    ss.CheckKeys({"path", "endpoint", "version_paths"});
    ss["path"].Read(&svc.serverset.path);
    ss["endpoint"].Read(&svc.serverset.endpoint);
    if (!svc.serverset.path.empty() && svc.serverset.path[0] != '/') {
      ss["path"].Fail("must be an absolute ZooKeeper path");
    }
    for (const auto& [path, version] : ss["version_paths"].Entries("path -> version")) {
      version.Read(&svc.serverset.version_paths[path]);
    }
  }
  if (const YamlField r = node["route"]; r.present()) {
    r.CheckKeys({"weights", "sticky_header", "sticky_client_ip"});
    RoutePolicyConfig policy;
    for (const auto& [version, weight] : r["weights"].Entries("version -> weight")) {
      weight.Read(&policy.weights[version], 0, 1000000);
    }
    r["sticky_header"].Read(&policy.sticky_header);
    r["sticky_client_ip"].Read(&policy.sticky_client_ip);
    svc.route = policy;
  }
  if (node["thrift"].present()) svc.thrift = ParseThriftService(node["thrift"]);
  if (svc.versions.empty() && svc.serverset.path.empty()) {
    node.Fail("service '" + svc.name + "' needs static 'versions' or a 'serverset'");
  }
  return svc;
}

AnnounceConfig ParseAnnounce(const YamlField& node) {
  node.CheckKeys({"path", "host", "port", "endpoints", "shard", "version", "health_check"});
  AnnounceConfig announce;
  node["path"].Read(&announce.path);
  if (announce.path.empty() || announce.path[0] != '/' || announce.path.back() == '/') {
    node["path"].Fail("required: an absolute ZooKeeper path");
  }
  node["host"].Read(&announce.host);
  if (announce.host.empty()) node["host"].Fail("required");
  node["port"].Require();
  node["port"].Read(&announce.port, 1, 65535);
  for (const auto& [name, port] : node["endpoints"].Entries("name -> port")) {
    port.Read(&announce.endpoints[name], 1, 65535);
  }
  if (node["shard"].present()) {
    int32_t shard = 0;
    node["shard"].Read(&shard);
    announce.shard = shard;
  }
  node["version"].Read(&announce.version);
  if (const YamlField h = node["health_check"]; h.present()) {
    h.CheckKeys({"kind", "address", "path", "interval_ms", "timeout_ms", "rise", "fall"});
    AnnounceHealthConfig& check = announce.health_check;
    h["kind"].Read(&check.kind);
    if (check.kind != "http" && check.kind != "tcp") h["kind"].Fail("must be http or tcp");
    h["address"].Read(&check.address);
    if (!check.address.empty()) CheckAddress(h["address"], check.address);
    h["path"].Read(&check.path);
    if (check.path.empty() || check.path[0] != '/') h["path"].Fail("must start with '/'");
    h["interval_ms"].Read(&check.interval_ms, 10, 3600000);
    h["timeout_ms"].Read(&check.timeout_ms, 1, 600000);
    h["rise"].Read(&check.rise, 1, 1000);
    h["fall"].Read(&check.fall, 1, 1000);
  }
  return announce;
}

// Thrift listeners name existing services (which thereby speak Thrift); Thrift-over-HTTP paths
// are unique.
void CheckThriftServices(const YamlField& root, ProxyConfig& cfg) {
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    const ListenerConfig& l = cfg.listeners[i];
    if (l.protocol != "thrift") continue;
    ServiceConfig* found = nullptr;
    for (ServiceConfig& svc : cfg.services) found = svc.name == l.service ? &svc : found;
    if (found == nullptr) {
      root["listeners"].Item(i)["service"].Fail("no service named '" + l.service + "'");
      continue;
    }
    if (!found->thrift) found->thrift = ThriftServiceConfig{};
  }
  std::set<std::string> paths;
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& thrift = cfg.services[i].thrift;
    if (thrift && !thrift->http_path.empty() && !paths.insert(thrift->http_path).second) {
      root["services"].Item(i)["thrift"]["http_path"].Fail("path '" + thrift->http_path +
                                                           "' is used by another service");
    }
  }
}

ProxyConfig ParseRoot(const YamlField& root) {
  ProxyConfig cfg;
  root.CheckKeys({"workers", "log_level", "admin", "listeners", "timeouts", "limits", "retries",
                  "outlier", "override_header", "zookeeper", "services", "announce"});
  root["workers"].Read(&cfg.workers, 0, 256);
  root["log_level"].Read(&cfg.log_level);
  if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" &&
      cfg.log_level != "error") {
    root["log_level"].Fail("must be one of debug, info, warn, error");
  }
  if (const YamlField a = root["admin"]; a.present()) {
    a.CheckKeys({"listen", "token"});
    a["listen"].Read(&cfg.admin.listen);
    a["token"].Read(&cfg.admin.token);
  }
  CheckAddress(root["admin"]["listen"], cfg.admin.listen);
  const YamlField ls = root["listeners"];
  ls.Require("required: at least one listener");
  if (ls.present() && (!ls.node().IsSequence() || ls.node().size() == 0)) {
    ls.Fail("expected a non-empty list");
  }
  for (const YamlField& item : ls.Items()) {
    item.CheckKeys({"name", "listen", "protocol", "strip_overrides", "service", "max_frame_bytes"});
    ListenerConfig l;
    l.name = "listener" + std::to_string(cfg.listeners.size());
    item["name"].Read(&l.name);
    item["listen"].Require();
    item["listen"].Read(&l.listen);
    CheckAddress(item["listen"], l.listen);
    item["protocol"].Read(&l.protocol);
    if (l.protocol != "http" && l.protocol != "thrift") {
      item["protocol"].Fail("supported: http, thrift");
    }
    item["service"].Read(&l.service);
    if (l.protocol == "thrift" && l.service.empty()) {
      item["service"].Fail("required for a thrift listener: the service it serves");
    }
    if (l.protocol != "thrift" && !l.service.empty()) {
      item["service"].Fail("only thrift listeners name a service");
    }
    item["max_frame_bytes"].Read(&l.max_frame_bytes, 64, 1u << 30);
    item["strip_overrides"].Read(&l.strip_overrides);
    cfg.listeners.push_back(l);
  }
  if (const YamlField t = root["timeouts"]; t.present()) {
    t.CheckKeys(
        {"connect_ms", "request_ms", "client_idle_ms", "header_read_ms", "upstream_idle_ms"});
    t["connect_ms"].Read(&cfg.timeouts.connect_ms, 1, 600000);
    t["request_ms"].Read(&cfg.timeouts.request_ms, 1, 3600000);
    t["client_idle_ms"].Read(&cfg.timeouts.client_idle_ms, 1, 3600000);
    t["header_read_ms"].Read(&cfg.timeouts.header_read_ms, 1, 600000);
    t["upstream_idle_ms"].Read(&cfg.timeouts.upstream_idle_ms, 1, 3600000);
  }
  if (const YamlField l = root["limits"]; l.present()) {
    l.CheckKeys({"max_request_header_bytes", "max_response_header_bytes",
                 "max_idle_upstream_per_instance", "buffer_high_watermark"});
    LimitConfig& limits = cfg.limits;
    l["max_request_header_bytes"].Read(&limits.max_request_header_bytes, 1024, 1 << 24);
    l["max_response_header_bytes"].Read(&limits.max_response_header_bytes, 1024, 1 << 24);
    l["max_idle_upstream_per_instance"].Read(&limits.max_idle_upstream_per_instance, 0, 100000);
    l["buffer_high_watermark"].Read(&limits.buffer_high_watermark, 4096, 1 << 30);
  }
  if (const YamlField r = root["retries"]; r.present()) {
    r.CheckKeys({"budget_percent", "min_per_second", "max_attempts"});
    r["budget_percent"].Read(&cfg.retries.budget_percent);
    r["min_per_second"].Read(&cfg.retries.min_per_second);
    r["max_attempts"].Read(&cfg.retries.max_attempts, 1, 10);
    if (cfg.retries.budget_percent < 0 || cfg.retries.budget_percent > 100) {
      r["budget_percent"].Fail("must be between 0 and 100");
    }
    if (cfg.retries.min_per_second < 0) r["min_per_second"].Fail("must be >= 0");
  }
  if (const YamlField o = root["outlier"]; o.present()) {
    o.CheckKeys({"consecutive_failures", "base_ejection_ms", "max_ejection_ms"});
    o["consecutive_failures"].Read(&cfg.outlier.consecutive_failures, 0, 1000000);
    o["base_ejection_ms"].Read(&cfg.outlier.base_ejection_ms, 1, 3600000);
    o["max_ejection_ms"].Read(&cfg.outlier.max_ejection_ms, 1, 36000000);
  }
  root["override_header"].Read(&cfg.override_header);
  if (const YamlField z = root["zookeeper"]; z.present()) {
    z.CheckKeys({"connect", "session_timeout_ms", "chroot", "routes_path", "sidecars_path"});
    ZooKeeperConfig& zk = cfg.zookeeper;
    z["connect"].Read(&zk.connect);
    z["session_timeout_ms"].Read(&zk.session_timeout_ms, 1000, 600000);
    z["chroot"].Read(&zk.chroot);
    z["routes_path"].Read(&zk.routes_path);
    z["sidecars_path"].Read(&zk.sidecars_path);
    const std::string& sidecars = zk.sidecars_path;
    if (!sidecars.empty() && (sidecars[0] != '/' || sidecars.back() == '/')) {
      z["sidecars_path"].Fail("must start with '/' and not end with '/' (or be empty)");
    }
  }
  const YamlField ss = root["services"];
  ss.Require("required: at least one service");
  std::set<std::string> names;
  for (const YamlField& item : ss.Items()) {
    ServiceConfig svc = ParseService(item);
    if (!names.insert(svc.name).second) item["name"].Fail("duplicate service '" + svc.name + "'");
    if (!svc.serverset.path.empty() && cfg.zookeeper.connect.empty()) {
      item["serverset"].Fail("needs zookeeper.connect");
    }
    cfg.services.push_back(std::move(svc));
  }
  CheckThriftServices(root, cfg);
  if (const YamlField a = root["announce"]; a.present()) {
    cfg.announce = ParseAnnounce(a);
    if (cfg.zookeeper.connect.empty()) a.Fail("needs zookeeper.connect");
  }
  return cfg;
}

}  // namespace

Result<ProxyConfig> ParseProxyConfig(const std::string& yaml_text, const std::string& source) {
  auto root = LoadYamlText(yaml_text, source);
  if (!root.ok()) return root.status();
  YamlDocument document(root.value(), source);
  ProxyConfig cfg = ParseRoot(document.Root());
  if (!document.ok()) return document.status();
  cfg.source = source;
  return cfg;
}

Result<ProxyConfig> LoadProxyConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open config file");
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseProxyConfig(buf.str(), path);
}

}  // namespace canarymesh
