#include "scheduler-bridge/local/local_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace canarymesh::bridge {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

constexpr std::pair<InstancePhase, const char*> kPhaseNames[] = {
    {InstancePhase::kStarting, "starting"}, {InstancePhase::kRunning, "running"},
    {InstancePhase::kBackoff, "backoff"},   {InstancePhase::kRestartKill, "restart_kill"},
    {InstancePhase::kFailed, "failed"},     {InstancePhase::kDraining, "draining"},
    {InstancePhase::kStopping, "stopping"},
};

json IdentityJson(const ProcessIdentity& id) {
  return {{"pid", id.pid}, {"start_ticks", id.start_ticks}};
}

ProcessIdentity IdentityFrom(const json& j) {
  return {j.at("pid").get<pid_t>(), j.at("start_ticks").get<uint64_t>()};
}

json SpecJson(const InstanceGroupSpec& spec) {
  const HealthCheckSpec& h = spec.health;
  return {{"service", spec.service},
          {"version", spec.version},
          {"artifact", spec.artifact},
          {"instances", spec.instances},
          {"env", spec.env},
          {"serverset_path", spec.serverset_path},
          {"stop_grace_period_ms", spec.stop_grace_period_ms},
          {"health",
           {{"protocol", h.protocol},
            {"path", h.path},
            {"interval_ms", h.interval_ms},
            {"timeout_ms", h.timeout_ms},
            {"grace_period_ms", h.grace_period_ms},
            {"max_consecutive_failures", h.max_consecutive_failures}}}};
}

InstanceGroupSpec SpecFrom(const json& j) {
  InstanceGroupSpec spec;
  spec.service = j.at("service").get<std::string>();
  spec.version = j.at("version").get<std::string>();
  spec.artifact = j.at("artifact").get<std::string>();
  spec.instances = j.at("instances").get<uint32_t>();
  spec.env = j.at("env").get<std::map<std::string, std::string>>();
  spec.serverset_path = j.at("serverset_path").get<std::string>();
  spec.stop_grace_period_ms = j.at("stop_grace_period_ms").get<uint32_t>();
  const json& h = j.at("health");
  spec.health.protocol = h.at("protocol").get<std::string>();
  spec.health.path = h.at("path").get<std::string>();
  spec.health.interval_ms = h.at("interval_ms").get<uint32_t>();
  spec.health.timeout_ms = h.at("timeout_ms").get<uint32_t>();
  spec.health.grace_period_ms = h.at("grace_period_ms").get<uint32_t>();
  spec.health.max_consecutive_failures = h.at("max_consecutive_failures").get<uint32_t>();
  return spec;
}

}  // namespace

const char* InstancePhaseName(InstancePhase phase) {
  for (const auto& [value, name] : kPhaseNames) {
    if (value == phase) return name;
  }
  return "unknown";
}

std::optional<InstancePhase> ParseInstancePhase(const std::string& text) {
  for (const auto& [value, name] : kPhaseNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string SerializeLocalState(const LocalState& state) {
  json groups = json::array();
  for (const auto& [key, group] : state.groups) {
    json instances = json::array();
    for (const LocalInstance& inst : group.instances) {
      instances.push_back({{"index", inst.index},
                           {"port", inst.port},
                           {"process", IdentityJson(inst.process)},
                           {"announcer", IdentityJson(inst.announcer)},
                           {"phase", InstancePhaseName(inst.phase)},
                           {"started_unix_ms", inst.started_unix_ms},
                           {"restarts", inst.restarts},
                           {"consecutive_crashes", inst.consecutive_crashes},
                           {"announcer_restarts", inst.announcer_restarts},
                           {"last_exit", inst.last_exit},
                           {"failure", inst.failure}});
    }
    groups.push_back({{"spec", SpecJson(group.spec)},
                      {"removing", group.removing},
                      {"next_index", group.next_index},
                      {"instances", std::move(instances)}});
  }
  json root = {
      {"format", kFormatVersion}, {"boot_id", state.boot_id}, {"groups", std::move(groups)}};
  return root.dump(2) + "\n";
}

Result<LocalState> ParseLocalState(const std::string& json_text) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument("state file: not valid JSON");
  LocalState state;
  // Not the data path: the typed accessors throw on a missing or mistyped field, and one catch
  // turns that into a Status.
  try {
    if (root.at("format").get<int>() != kFormatVersion) {
      return Status::InvalidArgument("state file: unknown format " + root.at("format").dump());
    }
    state.boot_id = root.at("boot_id").get<std::string>();
    for (const json& g : root.at("groups")) {
      LocalGroup group;
      group.spec = SpecFrom(g.at("spec"));
      group.removing = g.at("removing").get<bool>();
      group.next_index = g.at("next_index").get<uint32_t>();
      for (const json& i : g.at("instances")) {
        LocalInstance inst;
        inst.index = i.at("index").get<uint32_t>();
        inst.port = i.at("port").get<uint16_t>();
        inst.process = IdentityFrom(i.at("process"));
        inst.announcer = IdentityFrom(i.at("announcer"));
        auto phase = ParseInstancePhase(i.at("phase").get<std::string>());
        if (!phase.has_value()) {
          return Status::InvalidArgument("state file: unknown phase " + i.at("phase").dump());
        }
        inst.phase = *phase;
        inst.started_unix_ms = i.at("started_unix_ms").get<int64_t>();
        inst.restarts = i.at("restarts").get<uint32_t>();
        inst.consecutive_crashes = i.at("consecutive_crashes").get<uint32_t>();
        inst.announcer_restarts = i.at("announcer_restarts").get<uint32_t>();
        inst.last_exit = i.at("last_exit").get<std::string>();
        inst.failure = i.at("failure").get<std::string>();
        group.instances.push_back(std::move(inst));
      }
      GroupKey key{group.spec.service, group.spec.version};
      state.groups[key] = std::move(group);
    }
  } catch (const json::exception& error) {
    return Status::InvalidArgument(std::string("state file: ") + error.what());
  }
  return state;
}

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("open " + temp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Status::IoError("write " + temp + ": " + std::strerror(error));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    return Status::IoError("fsync " + temp + ": " + std::strerror(error));
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Status::IoError("rename " + temp + " -> " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::IoError("open " + path + ": " + std::strerror(errno));
  }
  std::string contents;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Status::IoError("read " + path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(contents));
}

}  // namespace canarymesh::bridge
