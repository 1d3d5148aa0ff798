#include "tests/scheduler-bridge/marathon/marathon_contract_validation.h"

#include <regex>
#include <set>

namespace canarymesh::bridge::testing {

namespace {

using nlohmann::json;

class Checker {
 public:
  std::vector<MarathonViolation> out;

  void Fail(const std::string& path, const std::string& error) { out.push_back({path, error}); }

  void Keys(const json& object, const std::string& path, const std::set<std::string>& allowed) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (!allowed.count(it.key())) Fail(path + "/" + it.key(), "unknown field");
    }
  }
  void NonNegativeInt(const json& object, const char* key, const std::string& path,
                      bool required = false) {
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) Fail(path + "/" + key, "error.path.missing");
      return;
    }
    if (!it->is_number_integer()) {
      Fail(path + "/" + key, "error.expected.jsnumber (an integer)");
    } else if (it->get<int64_t>() < 0) {
      Fail(path + "/" + key, "got " + std::to_string(it->get<int64_t>()) + ", expected 0 or more");
    }
  }
  void NonNegativeNumber(const json& object, const char* key, const std::string& path) {
    auto it = object.find(key);
    if (it == object.end()) return;
    if (!it->is_number()) {
      Fail(path + "/" + key, "error.expected.jsnumber");
    } else if (it->get<double>() < 0) {
      Fail(path + "/" + key, "got " + it->dump() + ", expected 0.0 or more");
    }
  }
  void StringMap(const json& object, const char* key, const std::string& path) {
    auto it = object.find(key);
    if (it == object.end()) return;
    if (!it->is_object()) return Fail(path + "/" + key, "error.expected.jsobject");
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      if (!entry->is_string())
        Fail(path + "/" + key + "/" + entry.key(), "error.expected.jsstring");
    }
  }
};

void CheckContainer(Checker& c, const json& container) {
  if (!container.is_object()) return c.Fail("/container", "error.expected.jsobject");
  c.Keys(container, "/container", {"type", "docker", "volumes", "portMappings"});
  auto type = container.find("type");
  if (type != container.end() && (!type->is_string() || (type->get<std::string>() != "DOCKER" &&
                                                         type->get<std::string>() != "MESOS"))) {
    c.Fail("/container/type", "must be DOCKER or MESOS");
  }
  auto docker = container.find("docker");
  if (docker == container.end() || !docker->is_object()) {
    return c.Fail("/container/docker", "error.path.missing");
  }
  auto image = docker->find("image");
  if (image == docker->end() || !image->is_string() || image->get<std::string>().empty()) {
    c.Fail("/container/docker/image", "must not be empty");
  }
}

void CheckConstraints(Checker& c, const json& constraints) {
  static const std::set<std::string> kOps = {"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE",
                                             "UNLIKE", "MAX_PER", "IS"};
  static const std::set<std::string> kNeedValue = {"LIKE", "UNLIKE", "MAX_PER", "IS"};
  if (!constraints.is_array()) return c.Fail("/constraints", "error.expected.jsarray");
  for (size_t i = 0; i < constraints.size(); ++i) {
    std::string path = "/constraints/" + std::to_string(i);
    const json& rule = constraints[i];
    if (!rule.is_array() || rule.size() < 2 || rule.size() > 3) {
      c.Fail(path, "Each constraint must have either 2 or 3 fields");
      continue;
    }
    bool strings = true;
    for (const auto& part : rule) strings = strings && part.is_string();
    if (!strings) {
      c.Fail(path, "error.expected.jsstring");
      continue;
    }
    std::string op = rule[1].get<std::string>();
    if (!kOps.count(op)) {
      c.Fail(path,
             "Constraint operator must be one of the following: [UNIQUE, CLUSTER, GROUP_BY, LIKE, "
             "UNLIKE, MAX_PER, IS]");
    } else if (kNeedValue.count(op) && rule.size() != 3) {
      c.Fail(path, op + " requires a value");
    }
  }
}

void CheckHealthChecks(Checker& c, const json& checks) {
  static const std::set<std::string> kProtocols = {
      "HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_TCP", "MESOS_HTTP", "MESOS_HTTPS"};
  if (!checks.is_array()) return c.Fail("/healthChecks", "error.expected.jsarray");
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string path = "/healthChecks/" + std::to_string(i);
    const json& check = checks[i];
    if (!check.is_object()) {
      c.Fail(path, "error.expected.jsobject");
      continue;
    }
    c.Keys(check, path,
           {"protocol", "path", "portIndex", "port", "intervalSeconds", "timeoutSeconds",
            "gracePeriodSeconds", "maxConsecutiveFailures", "delaySeconds", "ignoreHttp1xx",
            "command", "ipProtocol"});
    auto protocol = check.find("protocol");
    if (protocol != check.end() &&
        (!protocol->is_string() || !kProtocols.count(protocol->get<std::string>()))) {
      c.Fail(path + "/protocol",
             "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_TCP, MESOS_HTTP, MESOS_HTTPS");
    }
    auto hc_path = check.find("path");
    if (hc_path != check.end() && (!hc_path->is_string() || hc_path->get<std::string>().empty() ||
                                   hc_path->get<std::string>()[0] != '/')) {
      c.Fail(path + "/path", "must be an absolute path");
    }
    for (const char* key : {"portIndex", "intervalSeconds", "timeoutSeconds", "gracePeriodSeconds",
                            "maxConsecutiveFailures", "delaySeconds"}) {
      c.NonNegativeInt(check, key, path);
    }
  }
}

void CheckUpgradeStrategy(Checker& c, const json& strategy) {
  if (!strategy.is_object()) return c.Fail("/upgradeStrategy", "error.expected.jsobject");
  c.Keys(strategy, "/upgradeStrategy", {"minimumHealthCapacity", "maximumOverCapacity"});
  for (const char* key : {"minimumHealthCapacity", "maximumOverCapacity"}) {
    auto it = strategy.find(key);
    if (it == strategy.end()) continue;
    if (!it->is_number()) {
      c.Fail(std::string("/upgradeStrategy/") + key, "error.expected.jsnumber");
    } else if (it->get<double>() < 0 || it->get<double>() > 1) {
      c.Fail(std::string("/upgradeStrategy/") + key,
             it->get<double>() < 0 ? "is less than 0" : "is greater than 1");
    }
  }
}

void CheckPortDefinitions(Checker& c, const json& ports) {
  if (!ports.is_array()) return c.Fail("/portDefinitions", "error.expected.jsarray");
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string path = "/portDefinitions/" + std::to_string(i);
    const json& port = ports[i];
    if (!port.is_object()) {
      c.Fail(path, "error.expected.jsobject");
      continue;
    }
    c.Keys(port, path, {"port", "protocol", "name", "labels"});
    c.NonNegativeInt(port, "port", path, true);
    if (port.contains("port") && port["port"].is_number_integer() &&
        port["port"].get<int64_t>() > 65535) {
      c.Fail(path + "/port", "got " + port["port"].dump() + ", expected 65535 or less");
    }
    std::string protocol = port.contains("protocol") && port["protocol"].is_string()
                               ? port["protocol"].get<std::string>()
                               : "tcp";
    if (protocol != "tcp" && protocol != "udp" && protocol != "udp,tcp")
      c.Fail(path + "/protocol", "must be tcp, udp or udp,tcp");
    if (port.contains("name") && !port["name"].is_string())
      c.Fail(path + "/name", "error.expected.jsstring");
  }
}

void CheckNetworks(Checker& c, const json& networks) {
  if (!networks.is_array()) return c.Fail("/networks", "error.expected.jsarray");
  for (size_t i = 0; i < networks.size(); ++i) {
    const json& network = networks[i];
    std::string mode =
        network.is_object() && network.contains("mode") && network["mode"].is_string()
            ? network["mode"].get<std::string>()
            : "";
    if (mode != "host" && mode != "container" && mode != "container/bridge") {
      c.Fail("/networks/" + std::to_string(i) + "/mode",
             "must be host, container or container/bridge");
    }
  }
}

}  // namespace

bool IsMarathonPath(const std::string& id) {
  static const std::regex kSegment(
      "^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$");
  if (id.size() < 2 || id[0] != '/') return false;
  size_t start = 1;
  while (true) {
    size_t slash = id.find('/', start);
    std::string segment =
        id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!std::regex_match(segment, kSegment)) return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

std::vector<MarathonViolation> ValidateMarathonApp(const json& app) {
  Checker c;
  if (!app.is_object()) {
    c.Fail("/", "error.expected.jsobject");
    return c.out;
  }
  c.Keys(app, "",
         {"id",
          "cmd",
          "args",
          "container",
          "networks",
          "instances",
          "cpus",
          "mem",
          "disk",
          "constraints",
          "healthChecks",
          "labels",
          "env",
          "upgradeStrategy",
          "portDefinitions",
          "requirePorts",
          "taskKillGracePeriodSeconds",
          "user",
          "backoffSeconds",
          "backoffFactor",
          "maxLaunchDelaySeconds"});
  auto id = app.find("id");
  if (id == app.end()) {
    c.Fail("/id", "error.path.missing");
  } else if (!id->is_string()) {
    c.Fail("/id", "error.expected.jsstring");
  } else if (!IsMarathonPath(id->get<std::string>())) {
    c.Fail("/id",
           "must fully match regular expression "
           "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|"
           "(\\.|\\.\\.)$'");
  }
  bool has_cmd = app.contains("cmd");
  if (has_cmd && (!app["cmd"].is_string() || app["cmd"].get<std::string>().empty())) {
    c.Fail("/cmd", "must not be empty");
  }
  if (app.contains("container")) CheckContainer(c, app["container"]);
  if (!has_cmd && !app.contains("args") && !app.contains("container")) {
    c.Fail("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  }
  c.NonNegativeInt(app, "instances", "");
  c.NonNegativeNumber(app, "cpus", "");
  c.NonNegativeNumber(app, "mem", "");
  c.NonNegativeNumber(app, "disk", "");
  if (app.contains("constraints")) CheckConstraints(c, app["constraints"]);
  if (app.contains("healthChecks")) CheckHealthChecks(c, app["healthChecks"]);
  c.StringMap(app, "labels", "");
  c.StringMap(app, "env", "");
  if (app.contains("upgradeStrategy")) CheckUpgradeStrategy(c, app["upgradeStrategy"]);
  if (app.contains("portDefinitions")) CheckPortDefinitions(c, app["portDefinitions"]);
  if (app.contains("networks")) CheckNetworks(c, app["networks"]);
  auto grace = app.find("taskKillGracePeriodSeconds");
  if (grace != app.end() && (!grace->is_number_integer() || grace->get<int64_t>() < 1)) {
    c.Fail("/taskKillGracePeriodSeconds", "must be a positive integer");
  }
  return c.out;
}

json MarathonInvalidBody(const std::vector<MarathonViolation>& violations) {
  json details = json::array();
  for (const auto& v : violations)
    details.push_back({{"path", v.path}, {"errors", json::array({v.error})}});
  return {{"message", "Object is not valid"}, {"details", details}};
}

}  // namespace canarymesh::bridge::testing
