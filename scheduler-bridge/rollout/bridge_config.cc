#include "scheduler-bridge/rollout/bridge_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/net_address.h"

namespace canarymesh::bridge {
namespace {

// Thrown only inside this file and turned into a Status at the boundary, as in core/config.cc.
struct ConfigError {
  std::string field;
  std::string message;
};

std::string Join(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string Index(const std::string& field, size_t i) { return field + "[" + std::to_string(i) + "]"; }

void CheckKeys(const YAML::Node& node, const std::string& field, const std::set<std::string>& allowed) {
  if (!node.IsMap()) throw ConfigError{field.empty() ? "(top level)" : field, "expected a mapping"};
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
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

uint64_t Unsigned(const YAML::Node& node, const std::string& field, uint64_t min, uint64_t max) {
  const auto value = Scalar<long long>(node, field, "an integer");
  if (value < 0 || static_cast<uint64_t>(value) < min || static_cast<uint64_t>(value) > max) {
    throw ConfigError{field, "must be between " + std::to_string(min) + " and " + std::to_string(max)};
  }
  return static_cast<uint64_t>(value);
}

template <typename T>
void ReadUnsigned(const YAML::Node& parent, const char* key, const std::string& field, T* out, uint64_t min,
                  uint64_t max) {
  if (parent[key]) *out = static_cast<T>(Unsigned(parent[key], Join(field, key), min, max));
}

void ReadString(const YAML::Node& parent, const char* key, const std::string& field, std::string* out) {
  if (parent[key]) *out = Scalar<std::string>(parent[key], Join(field, key), "a string");
}

void ReadBool(const YAML::Node& parent, const char* key, const std::string& field, bool* out) {
  if (parent[key]) *out = Scalar<bool>(parent[key], Join(field, key), "true or false");
}

void ReadDouble(const YAML::Node& parent, const char* key, const std::string& field, double* out) {
  if (parent[key]) *out = Scalar<double>(parent[key], Join(field, key), "a number");
}

void ReadAbsolutePath(const YAML::Node& parent, const char* key, const std::string& field, std::string* out) {
  ReadString(parent, key, field, out);
  if (out->empty() || (*out)[0] != '/' || (out->size() > 1 && out->back() == '/')) {
    throw ConfigError{Join(field, key), "must be an absolute ZooKeeper path without a trailing '/'"};
  }
}

std::map<std::string, std::string> StringMap(const YAML::Node& node, const std::string& field) {
  if (!node.IsMap()) throw ConfigError{field, "expected a mapping of name -> string"};
  std::map<std::string, std::string> out;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    out[key] = Scalar<std::string>(kv.second, Join(field, key), "a string");
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
    if (used == text.size()) return i >= 0 ? nlohmann::json(static_cast<uint64_t>(i)) : nlohmann::json(i);
    const double d = std::stod(text, &used);
    if (used == text.size()) return d;
  } catch (const std::exception&) {
  }
  return text;
}

canary::CanaryJudgeTunables ParseJudge(const YAML::Node& node, const std::string& field) {
  if (!node.IsMap()) throw ConfigError{field, "expected a mapping"};
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) throw ConfigError{Join(field, key), "expected a number or true/false"};
    j[key] = ScalarToJson(kv.second);
  }
  auto tunables = canary::CanaryJudgeTunablesFromJson(j);
  if (!tunables.ok()) throw ConfigError{field, tunables.status().message()};
  return tunables.value();
}

void ParseOptions(const YAML::Node& node, const std::string& field, RolloutOptions* o) {
  if (node["steps"]) {
    const YAML::Node& steps = node["steps"];
    const std::string sfield = Join(field, "steps");
    if (!steps.IsSequence()) throw ConfigError{sfield, "expected a list of percentages"};
    o->steps.clear();
    for (size_t i = 0; i < steps.size(); ++i) {
      o->steps.push_back(static_cast<uint32_t>(Unsigned(steps[i], Index(sfield, i), 1, 99)));
    }
  }
  ReadUnsigned(node, "min_step_requests", field, &o->min_step_requests, 0, UINT32_MAX);
  ReadUnsigned(node, "min_step_duration_ms", field, &o->min_step_duration_ms, 0, 86'400'000);
  ReadUnsigned(node, "step_timeout_ms", field, &o->step_timeout_ms, 1000, 7 * 86'400'000ull);
  ReadBool(node, "pause_before_promote", field, &o->pause_before_promote);
  ReadString(node, "integration_check", field, &o->integration_check);
  ReadUnsigned(node, "test_instances", field, &o->instances, 0, 10'000);
}

HealthCheckSpec ParseHealth(const YAML::Node& node, const std::string& field) {
  CheckKeys(node, field, {"protocol", "path", "interval_ms", "timeout_ms", "grace_period_ms",
                          "max_consecutive_failures"});
  HealthCheckSpec h;
  ReadString(node, "protocol", field, &h.protocol);
  if (h.protocol != "http" && h.protocol != "tcp") throw ConfigError{Join(field, "protocol"), "must be http or tcp"};
  ReadString(node, "path", field, &h.path);
  if (h.path.empty() || h.path[0] != '/') throw ConfigError{Join(field, "path"), "must start with '/'"};
  ReadUnsigned(node, "interval_ms", field, &h.interval_ms, 100, 3'600'000);
  ReadUnsigned(node, "timeout_ms", field, &h.timeout_ms, 100, 3'600'000);
  ReadUnsigned(node, "grace_period_ms", field, &h.grace_period_ms, 0, 3'600'000);
  ReadUnsigned(node, "max_consecutive_failures", field, &h.max_consecutive_failures, 1, 1000);
  return h;
}

std::vector<PlacementConstraint> ParseConstraints(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) throw ConfigError{field, "expected a list of [field, operator, value?]"};
  std::vector<PlacementConstraint> out;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string cfield = Index(field, i);
    const YAML::Node& c = node[i];
    if (!c.IsSequence() || c.size() < 2 || c.size() > 3) {
      throw ConfigError{cfield, "expected [field, operator] or [field, operator, value], e.g. [hostname, UNIQUE]"};
    }
    PlacementConstraint pc;
    pc.field = Scalar<std::string>(c[0], Index(cfield, 0), "a string");
    pc.op = Scalar<std::string>(c[1], Index(cfield, 1), "a string");
    if (c.size() == 3) pc.value = Scalar<std::string>(c[2], Index(cfield, 2), "a string");
    out.push_back(std::move(pc));
  }
  return out;
}

bool IsToken(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

RolloutServiceConfig ParseService(const YAML::Node& node, const std::string& field) {
  CheckKeys(node, field, {"name", "serverset_path", "stable_version", "instances", "artifact", "image", "cpus",
                          "mem_mb", "constraints", "env", "labels", "health", "stop_grace_period_ms",
                          "integration_check", "steps", "min_step_requests", "min_step_duration_ms",
                          "step_timeout_ms", "pause_before_promote", "test_instances"});
  RolloutServiceConfig s;
  if (!node["name"]) throw ConfigError{Join(field, "name"), "required"};
  ReadString(node, "name", field, &s.name);
  if (!IsToken(s.name)) throw ConfigError{Join(field, "name"), "must be 1-63 of [A-Za-z0-9._-]"};
  if (!node["serverset_path"]) throw ConfigError{Join(field, "serverset_path"), "required"};
  ReadAbsolutePath(node, "serverset_path", field, &s.serverset_path);
  if (!node["stable_version"]) throw ConfigError{Join(field, "stable_version"), "required"};
  ReadString(node, "stable_version", field, &s.stable_version);
  if (!IsToken(s.stable_version)) throw ConfigError{Join(field, "stable_version"), "must be 1-63 of [A-Za-z0-9._-]"};
  ReadUnsigned(node, "instances", field, &s.instances, 1, 10'000);
  ReadString(node, "artifact", field, &s.artifact);
  ReadString(node, "image", field, &s.image);
  if (s.artifact.empty() && s.image.empty()) {
    throw ConfigError{Join(field, "artifact"), "one of artifact (a command) or image is required"};
  }
  ReadDouble(node, "cpus", field, &s.cpus);
  if (!(s.cpus > 0)) throw ConfigError{Join(field, "cpus"), "must be > 0"};
  ReadDouble(node, "mem_mb", field, &s.mem_mb);
  if (!(s.mem_mb > 0)) throw ConfigError{Join(field, "mem_mb"), "must be > 0"};
  if (node["constraints"]) s.constraints = ParseConstraints(node["constraints"], Join(field, "constraints"));
  if (node["env"]) s.env = StringMap(node["env"], Join(field, "env"));
  if (node["labels"]) s.labels = StringMap(node["labels"], Join(field, "labels"));
  if (node["health"]) s.health = ParseHealth(node["health"], Join(field, "health"));
  ReadUnsigned(node, "stop_grace_period_ms", field, &s.stop_grace_period_ms, 0, 3'600'000);
  ParseOptions(node, field, &s.defaults);
  if (Status st = ValidateRolloutOptions(s.defaults, field); !st.ok()) throw ConfigError{field, st.message()};
  return s;
}

BridgeConfig Parse(const YAML::Node& root) {
  BridgeConfig c;
  CheckKeys(root, "", {"log_level", "listen", "token", "token_file", "zookeeper", "state_path", "election_path",
                       "routes_path", "proxy", "tick_interval_ms", "backend", "metrics", "judge", "rollout",
                       "services"});
  ReadString(root, "log_level", "", &c.log_level);
  ReadString(root, "listen", "", &c.listen);
  if (auto a = ParseNetAddress(c.listen); !a.ok()) throw ConfigError{"listen", a.status().message()};
  ReadString(root, "token", "", &c.token);
  if (root["token_file"]) {
    if (!c.token.empty()) throw ConfigError{"token_file", "give token or token_file, not both"};
    const std::string path = Scalar<std::string>(root["token_file"], "token_file", "a file name");
    std::ifstream in(path);
    if (!in) throw ConfigError{"token_file", "cannot read " + path};
    std::getline(in, c.token);
    while (!c.token.empty() && (c.token.back() == '\r' || c.token.back() == ' ')) c.token.pop_back();
    if (c.token.empty()) throw ConfigError{"token_file", path + " is empty"};
  }
  if (c.token.empty()) throw ConfigError{"token", "required (or token_file): changes need a bearer token"};

  if (!root["zookeeper"]) throw ConfigError{"zookeeper", "required: rollout state and leadership live there"};
  const YAML::Node& zk = root["zookeeper"];
  CheckKeys(zk, "zookeeper", {"connect", "session_timeout_ms", "chroot"});
  ReadString(zk, "connect", "zookeeper", &c.zookeeper.connect);
  if (c.zookeeper.connect.empty()) throw ConfigError{"zookeeper.connect", "required"};
  ReadUnsigned(zk, "session_timeout_ms", "zookeeper", &c.zookeeper.session_timeout_ms, 1000, 600'000);
  ReadString(zk, "chroot", "zookeeper", &c.zookeeper.chroot);

  if (root["state_path"]) ReadAbsolutePath(root, "state_path", "", &c.state_path);
  if (root["election_path"]) ReadAbsolutePath(root, "election_path", "", &c.election_path);
  if (root["routes_path"]) ReadAbsolutePath(root, "routes_path", "", &c.routes_path);
  c.zookeeper.routes_path = c.routes_path;
  ReadString(root, "proxy", "", &c.proxy);
  if (auto a = ParseNetAddress(c.proxy); !a.ok()) throw ConfigError{"proxy", a.status().message()};
  ReadUnsigned(root, "tick_interval_ms", "", &c.tick_interval_ms, 50, 600'000);

  if (!root["backend"]) throw ConfigError{"backend", "required (kind: local, marathon or kubernetes)"};
  const YAML::Node& backend = root["backend"];
  CheckKeys(backend, "backend", {"kind", "local", "marathon", "kubernetes"});
  ReadString(backend, "kind", "backend", &c.backend_kind);
  if (c.backend_kind != "local" && c.backend_kind != "marathon" && c.backend_kind != "kubernetes") {
    throw ConfigError{"backend.kind", "must be local, marathon or kubernetes, got '" + c.backend_kind + "'"};
  }
  c.backend_section = backend[c.backend_kind] ? YAML::Clone(backend[c.backend_kind]) : YAML::Node(YAML::NodeType::Map);

  if (root["metrics"]) {
    const YAML::Node& m = root["metrics"];
    CheckKeys(m, "metrics", {"source", "sidecars_path", "prometheus_url"});
    ReadString(m, "source", "metrics", &c.metrics.source);
    if (c.metrics.source != "sidecars" && c.metrics.source != "prometheus") {
      throw ConfigError{"metrics.source", "must be sidecars or prometheus"};
    }
    if (m["sidecars_path"]) ReadAbsolutePath(m, "sidecars_path", "metrics", &c.metrics.sidecars_path);
    ReadString(m, "prometheus_url", "metrics", &c.metrics.prometheus_url);
  }
  if (root["judge"]) c.judge = ParseJudge(root["judge"], "judge");

  if (root["rollout"]) {
    const YAML::Node& r = root["rollout"];
    CheckKeys(r, "rollout", {"ready_timeout_ms", "integration_check_timeout_ms", "drain_ms"});
    ReadUnsigned(r, "ready_timeout_ms", "rollout", &c.timings.ready_timeout_ms, 1000, 86'400'000);
    ReadUnsigned(r, "integration_check_timeout_ms", "rollout", &c.timings.integration_check_timeout_ms, 1000,
                 86'400'000);
    ReadUnsigned(r, "drain_ms", "rollout", &c.timings.drain_ms, 0, 3'600'000);
  }

  if (!root["services"] || !root["services"].IsSequence() || root["services"].size() == 0) {
    throw ConfigError{"services", "required: a list of at least one service"};
  }
  std::set<std::string> names;
  for (size_t i = 0; i < root["services"].size(); ++i) {
    RolloutServiceConfig s = ParseService(root["services"][i], Index("services", i));
    if (!names.insert(s.name).second) throw ConfigError{Index("services", i) + ".name", "duplicate service " + s.name};
    c.services.push_back(std::move(s));
  }
  return c;
}

}  // namespace

Status ValidateRolloutOptions(const RolloutOptions& o, const std::string& field) {
  if (o.steps.empty()) return Status::InvalidArgument(Join(field, "steps") + ": at least one step");
  for (size_t i = 0; i < o.steps.size(); ++i) {
    if (o.steps[i] < 1 || o.steps[i] > 99) {
      return Status::InvalidArgument(Index(Join(field, "steps"), i) + ": must be between 1 and 99 (percent)");
    }
    if (i > 0 && o.steps[i] <= o.steps[i - 1]) {
      return Status::InvalidArgument(Index(Join(field, "steps"), i) + ": steps must increase");
    }
  }
  if (o.step_timeout_ms < 1000) return Status::InvalidArgument(Join(field, "step_timeout_ms") + ": at least 1000");
  if (o.min_step_duration_ms >= o.step_timeout_ms) {
    return Status::InvalidArgument(Join(field, "min_step_duration_ms") + ": must be below step_timeout_ms");
  }
  return Status::Ok();
}

Result<BridgeConfig> ParseBridgeConfig(const std::string& yaml_text, const std::string& source) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return Status::InvalidArgument(source + ": empty config");
    BridgeConfig c = Parse(root);
    c.source = source;
    return c;
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(source + ": " + e.field + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ": YAML: " + e.what());
  }
}

Result<BridgeConfig> LoadBridgeConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseBridgeConfig(text.str(), path);
}

}  // namespace canarymesh::bridge
