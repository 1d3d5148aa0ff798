#include "scheduler-bridge/rollout/bridge_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/net_address.h"
#include "core/yaml_fields.h"

namespace canarymesh::bridge {
namespace {

// Every check goes through the YamlDocument, which keeps the first error with the field's
// position (core/yaml_fields.h); a failed read leaves the default and parsing carries on.

std::string Join(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string Index(const std::string& field, size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

void ReadAbsolutePath(const YamlField& field, std::string* out) {
  field.Read(out);
  if (out->empty() || (*out)[0] != '/' || (out->size() > 1 && out->back() == '/')) {
    field.Fail("must be an absolute ZooKeeper path without a trailing '/'");
  }
}

std::map<std::string, std::string> StringMap(const YamlField& field) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : field.Entries("a mapping of name -> string")) {
    value.Read(&out[key]);
  }
  return out;
}

// YAML scalars carry no type; the judge's JSON reader wants one: booleans, integers, then
// numbers, else the text.
nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (text == "true" || text == "false") return text == "true";
  try {
    size_t used = 0;
    const long long i = std::stoll(text, &used);
    if (used == text.size())
      return i >= 0 ? nlohmann::json(static_cast<uint64_t>(i)) : nlohmann::json(i);
    const double d = std::stod(text, &used);
    if (used == text.size()) return d;
  } catch (const std::exception&) {
  }
  return text;
}

canary::CanaryJudgeTunables ParseJudge(const YamlField& field) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : field.Entries()) {
    if (!value.node().IsScalar()) {
      value.Fail("expected a number or true/false");
      return {};
    }
    j[key] = ScalarToJson(value.node());
  }
  if (!field.node().IsMap()) return {};
  auto tunables = canary::CanaryJudgeTunablesFromJson(j);
  if (!tunables.ok()) {
    field.Fail(tunables.status().message());
    return {};
  }
  return tunables.value();
}

void ParseOptions(const YamlField& node, RolloutOptions* o) {
  if (const YamlField steps = node["steps"]; steps.present()) {
    o->steps.clear();
    for (const YamlField& step : steps.Items("a list of percentages")) {
      o->steps.push_back(0);
      step.Read(&o->steps.back(), 1, 99);
    }
  }
  node["min_step_requests"].Read(&o->min_step_requests, 0, UINT32_MAX);
  node["min_step_duration_ms"].Read(&o->min_step_duration_ms, 0, 86'400'000);
  node["step_timeout_ms"].Read(&o->step_timeout_ms, 1000, 7 * 86'400'000ll);
  node["pause_before_promote"].Read(&o->pause_before_promote);
  node["integration_check"].Read(&o->integration_check);
  node["test_instances"].Read(&o->instances, 0, 10'000);
}

HealthCheckSpec ParseHealth(const YamlField& node) {
  node.CheckKeys({"protocol", "path", "interval_ms", "timeout_ms", "grace_period_ms",
                  "max_consecutive_failures"});
  HealthCheckSpec h;
  node["protocol"].Read(&h.protocol);
  if (h.protocol != "http" && h.protocol != "tcp") node["protocol"].Fail("must be http or tcp");
  node["path"].Read(&h.path);
  if (h.path.empty() || h.path[0] != '/') node["path"].Fail("must start with '/'");
  node["interval_ms"].Read(&h.interval_ms, 100, 3'600'000);
  node["timeout_ms"].Read(&h.timeout_ms, 100, 3'600'000);
  node["grace_period_ms"].Read(&h.grace_period_ms, 0, 3'600'000);
  node["max_consecutive_failures"].Read(&h.max_consecutive_failures, 1, 1000);
  return h;
}

std::vector<PlacementConstraint> ParseConstraints(const YamlField& field) {
  std::vector<PlacementConstraint> out;
  for (const YamlField& c : field.Items("a list of [field, operator, value?]")) {
    if (!c.node().IsSequence() || c.node().size() < 2 || c.node().size() > 3) {
      c.Fail("expected [field, operator] or [field, operator, value], e.g. [hostname, UNIQUE]");
      break;
    }
    PlacementConstraint pc;
    c.Item(0).Read(&pc.field);
    c.Item(1).Read(&pc.op);
    c.Item(2).Read(&pc.value);
    out.push_back(std::move(pc));
  }
  return out;
}

bool IsToken(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

RolloutServiceConfig ParseService(const YamlField& node) {
  node.CheckKeys({"name",
                  "serverset_path",
                  "stable_version",
                  "instances",
                  "artifact",
                  "image",
                  "cpus",
                  "mem_mb",
                  "constraints",
                  "env",
                  "labels",
                  "health",
                  "stop_grace_period_ms",
                  "integration_check",
                  "steps",
                  "min_step_requests",
                  "min_step_duration_ms",
                  "step_timeout_ms",
                  "pause_before_promote",
                  "test_instances"});
  RolloutServiceConfig s;
  node["name"].Require();
  node["name"].Read(&s.name);
  if (!IsToken(s.name)) node["name"].Fail("must be 1-63 of [A-Za-z0-9._-]");
  node["serverset_path"].Require();
  ReadAbsolutePath(node["serverset_path"], &s.serverset_path);
  node["stable_version"].Require();
  node["stable_version"].Read(&s.stable_version);
  if (!IsToken(s.stable_version)) node["stable_version"].Fail("must be 1-63 of [A-Za-z0-9._-]");
  node["instances"].Read(&s.instances, 1, 10'000);
  node["artifact"].Read(&s.artifact);
  node["image"].Read(&s.image);
  if (s.artifact.empty() && s.image.empty()) {
    node["artifact"].Fail("one of artifact (a command) or image is required");
  }
  node["cpus"].Read(&s.cpus);
  if (!(s.cpus > 0)) node["cpus"].Fail("must be > 0");
  node["mem_mb"].Read(&s.mem_mb);
  if (!(s.mem_mb > 0)) node["mem_mb"].Fail("must be > 0");
  s.constraints = ParseConstraints(node["constraints"]);
  if (node["env"].present()) s.env = StringMap(node["env"]);
  if (node["labels"].present()) s.labels = StringMap(node["labels"]);
  if (node["health"].present()) s.health = ParseHealth(node["health"]);
  node["stop_grace_period_ms"].Read(&s.stop_grace_period_ms, 0, 3'600'000);
  ParseOptions(node, &s.defaults);
  // Relative field names ("steps[1]: ..."), placed at that field of this service.
  if (Status st = ValidateRolloutOptions(s.defaults, ""); !st.ok()) node.Fail(st);
  return s;
}

BridgeConfig Parse(const YamlField& root) {
  BridgeConfig c;
  root.CheckKeys({"log_level", "listen", "token", "token_file", "zookeeper", "state_path",
                  "election_path", "routes_path", "proxy", "tick_interval_ms", "backend", "metrics",
                  "judge", "rollout", "services"});
  root["log_level"].Read(&c.log_level);
  root["listen"].Read(&c.listen);
  if (auto a = ParseNetAddress(c.listen); !a.ok()) root["listen"].Fail(a.status().message());
  root["token"].Read(&c.token);
  if (const YamlField token_file = root["token_file"]; token_file.present()) {
    if (!c.token.empty()) token_file.Fail("give token or token_file, not both");
    std::string path;
    token_file.Read(&path);
    std::ifstream in(path);
    if (!in) token_file.Fail("cannot read " + path);
    std::getline(in, c.token);
    while (!c.token.empty() && (c.token.back() == '\r' || c.token.back() == ' '))
      c.token.pop_back();
    if (c.token.empty()) token_file.Fail(path + " is empty");
  }
  if (c.token.empty()) root["token"].Fail("required (or token_file): changes need a bearer token");

  const YamlField zk = root["zookeeper"];
  zk.Require("required: rollout state and leadership live there");
  zk.CheckKeys({"connect", "session_timeout_ms", "chroot"});
  zk["connect"].Read(&c.zookeeper.connect);
  if (c.zookeeper.connect.empty()) zk["connect"].Fail("required");
  zk["session_timeout_ms"].Read(&c.zookeeper.session_timeout_ms, 1000, 600'000);
  zk["chroot"].Read(&c.zookeeper.chroot);

  if (root["state_path"].present()) ReadAbsolutePath(root["state_path"], &c.state_path);
  if (root["election_path"].present()) ReadAbsolutePath(root["election_path"], &c.election_path);
  if (root["routes_path"].present()) ReadAbsolutePath(root["routes_path"], &c.routes_path);
  c.zookeeper.routes_path = c.routes_path;
  root["proxy"].Read(&c.proxy);
  if (auto a = ParseNetAddress(c.proxy); !a.ok()) root["proxy"].Fail(a.status().message());
  root["tick_interval_ms"].Read(&c.tick_interval_ms, 50, 600'000);

  const YamlField backend = root["backend"];
  backend.Require("required (kind: local, marathon or kubernetes)");
  backend.CheckKeys({"kind", "local", "marathon", "kubernetes"});
  backend["kind"].Read(&c.backend_kind);
  if (c.backend_kind != "local" && c.backend_kind != "marathon" && c.backend_kind != "kubernetes") {
    backend["kind"].Fail("must be local, marathon or kubernetes, got '" + c.backend_kind + "'");
  }
  // Not a YAML::Clone: a clone loses the positions the backend's parser puts in its errors.
  const YamlField section = backend[c.backend_kind];
  c.backend_section = section.node().IsDefined() ? section.node() : YAML::Node(YAML::NodeType::Map);

  if (const YamlField m = root["metrics"]; m.present()) {
    m.CheckKeys({"source", "sidecars_path", "prometheus_url"});
    m["source"].Read(&c.metrics.source);
    if (c.metrics.source != "sidecars" && c.metrics.source != "prometheus") {
      m["source"].Fail("must be sidecars or prometheus");
    }
    if (m["sidecars_path"].present()) {
      ReadAbsolutePath(m["sidecars_path"], &c.metrics.sidecars_path);
    }
    m["prometheus_url"].Read(&c.metrics.prometheus_url);
  }
  if (root["judge"].present()) c.judge = ParseJudge(root["judge"]);

  if (const YamlField r = root["rollout"]; r.present()) {
    r.CheckKeys({"ready_timeout_ms", "integration_check_timeout_ms", "drain_ms"});
    r["ready_timeout_ms"].Read(&c.timings.ready_timeout_ms, 1000, 86'400'000);
    r["integration_check_timeout_ms"].Read(&c.timings.integration_check_timeout_ms, 1000,
                                           86'400'000);
    r["drain_ms"].Read(&c.timings.drain_ms, 0, 3'600'000);
  }

  const YamlField services = root["services"];
  if (!services.present() || !services.node().IsSequence() || services.node().size() == 0) {
    services.Fail("required: a list of at least one service");
  }
  std::set<std::string> names;
  for (const YamlField& item : services.Items()) {
    RolloutServiceConfig s = ParseService(item);
    if (!names.insert(s.name).second) item["name"].Fail("duplicate service " + s.name);
    c.services.push_back(std::move(s));
  }
  return c;
}

}  // namespace

Status ValidateRolloutOptions(const RolloutOptions& o, const std::string& field) {
  if (o.steps.empty()) return Status::InvalidArgument(Join(field, "steps") + ": at least one step");
  for (size_t i = 0; i < o.steps.size(); ++i) {
    if (o.steps[i] < 1 || o.steps[i] > 99) {
      return Status::InvalidArgument(Index(Join(field, "steps"), i) +
                                     ": must be between 1 and 99 (percent)");
    }
    if (i > 0 && o.steps[i] <= o.steps[i - 1]) {
      return Status::InvalidArgument(Index(Join(field, "steps"), i) + ": steps must increase");
    }
  }
  if (o.step_timeout_ms < 1000)
    return Status::InvalidArgument(Join(field, "step_timeout_ms") + ": at least 1000");
  if (o.min_step_duration_ms >= o.step_timeout_ms) {
    return Status::InvalidArgument(Join(field, "min_step_duration_ms") +
                                   ": must be below step_timeout_ms");
  }
  return Status::Ok();
}

Result<BridgeConfig> ParseBridgeConfig(const std::string& yaml_text, const std::string& source) {
  auto root = LoadYamlText(yaml_text, source);
  if (!root.ok()) return root.status();
  if (!root->IsDefined() || root->IsNull()) {
    return Status::InvalidArgument(source + ": empty config");
  }
  YamlDocument document(root.value(), source);
  BridgeConfig c = Parse(document.Root());
  if (!document.ok()) return document.status();
  c.source = source;
  return c;
}

Result<BridgeConfig> LoadBridgeConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseBridgeConfig(text.str(), path);
}

}  // namespace canarymesh::bridge
