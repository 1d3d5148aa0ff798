#include "scheduler-bridge/local/local_launcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <map>
#include <set>

#include "core/logging.h"
#include "scheduler-bridge/local/local_command_template.h"
#include "scheduler-bridge/local/local_port_allocator.h"

namespace canarymesh::bridge {
namespace {

// Service and version become file names and ZooKeeper metadata: keep them plain.
Status CheckName(const std::string& value, const char* field) {
  bool plain = !value.empty() && value.size() <= 128 && value[0] != '.' && value[0] != '-';
  for (char c : value) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      plain = false;
  }
  if (!plain) {
    return Status::InvalidArgument(std::string(field) + ": '" + value +
                                   "' must be 1-128 of [A-Za-z0-9._-], not starting with . or -");
  }
  return Status::Ok();
}

std::map<std::string, std::string> PlaceholderValues(const InstanceGroupSpec& spec,
                                                     const std::string& host, uint16_t port,
                                                     uint32_t index) {
  return {{"port", std::to_string(port)},
          {"version", spec.version},
          {"instance", std::to_string(index)},
          {"service", spec.service},
          {"host", host}};
}

std::string UtcTimestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// One line into the instance's log before its process writes there, so that restarts are easy
// to tell apart when reading it.
void AppendLogLine(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string text = "--- " + UtcTimestamp() + " canarymesh local backend: " + line + "\n";
  ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
  ::close(fd);
}

std::string HostPort(const std::string& host, uint16_t port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) out += (out.empty() ? "" : " ") + arg;
  return out;
}

}  // namespace

Status LocalLauncher::ValidateSpec(const InstanceGroupSpec& spec) const {
  if (Status s = CheckName(spec.service, "service"); !s.ok()) return s;
  if (Status s = CheckName(spec.version, "version"); !s.ok()) return s;
  auto words = SplitCommandTemplate(spec.artifact);
  if (!words.ok()) return Status::InvalidArgument("artifact: " + words.status().message());
  auto argv = ExpandPlaceholders(words.value(), PlaceholderValues(spec, config_.host, 1, 0));
  if (!argv.ok()) return Status::InvalidArgument("artifact: " + argv.status().message());
  if (auto program = ResolveProgram(argv.value()[0]); !program.ok()) {
    return Status::InvalidArgument("artifact: " + program.status().message());
  }
  const HealthCheckSpec& health = spec.health;
  if (health.protocol != "http" && health.protocol != "tcp") {
    return Status::InvalidArgument("health.protocol: '" + health.protocol +
                                   "' (expected http or tcp)");
  }
  if (health.protocol == "http" && (health.path.empty() || health.path[0] != '/')) {
    return Status::InvalidArgument("health.path: must start with /");
  }
  if (health.interval_ms == 0 || health.timeout_ms == 0) {
    return Status::InvalidArgument("health: interval_ms and timeout_ms must be > 0");
  }
  if (config_.announce_mode == LocalBackendConfig::AnnounceMode::kCompanion) {
    const std::string& path = spec.serverset_path;
    if (path.empty() || path[0] != '/' || path.back() == '/') {
      return Status::InvalidArgument(
          "serverset_path: '" + path +
          "' must be an absolute ZooKeeper path to announce instances under");
    }
  }
  return Status::Ok();
}

Result<std::vector<uint16_t>> LocalLauncher::AllocatePorts(const LocalState& state,
                                                           size_t count) const {
  std::set<uint16_t> taken;
  for (const auto& [key, group] : state.groups) {
    for (const LocalInstance& inst : group.instances) taken.insert(inst.port);
  }
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < count; ++i) {
    auto port = PickFreePort(config_.port_min, config_.port_max, taken);
    if (!port.ok()) {
      return Status::Unavailable("cannot start " + std::to_string(count) +
                                 " instances: " + port.status().message());
    }
    taken.insert(port.value());
    ports.push_back(port.value());
  }
  return ports;
}

std::string LocalLauncher::LogPath(const InstanceGroupSpec& spec, uint32_t index,
                                   const char* suffix) const {
  return config_.log_dir + "/" + spec.service + "-" + spec.version + "-" + std::to_string(index) +
         suffix;
}

std::string LocalLauncher::LogTail(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t start = size > 2048 ? size - 2048 : 0;
  std::string tail(static_cast<size_t>(size - start), '\0');
  ssize_t n = ::pread(fd, tail.data(), tail.size(), start);
  ::close(fd);
  tail.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  size_t line_start = tail.rfind('\n');
  return line_start == std::string::npos ? tail : tail.substr(line_start + 1);
}

Result<ProcessIdentity> LocalLauncher::SpawnInstance(const InstanceGroupSpec& spec, uint32_t index,
                                                     uint16_t port) const {
  auto words = SplitCommandTemplate(spec.artifact);
  if (!words.ok()) return words.status();
  auto argv = ExpandPlaceholders(words.value(), PlaceholderValues(spec, config_.host, port, index));
  if (!argv.ok()) return argv.status();

  std::map<std::string, std::string> env = spec.env;
  env["CANARYMESH_SERVICE"] = spec.service;
  env["CANARYMESH_VERSION"] = spec.version;
  env["CANARYMESH_HOST"] = config_.host;
  env["CANARYMESH_PORT"] = std::to_string(port);
  env["CANARYMESH_INSTANCE"] = std::to_string(index);
  env["CANARYMESH_SERVERSET_PATH"] = spec.serverset_path;
  if (config_.announce_mode == LocalBackendConfig::AnnounceMode::kSelf) {
    env["CANARYMESH_ZOOKEEPER"] = config_.zookeeper.connect;
    env["CANARYMESH_ZOOKEEPER_CHROOT"] = config_.zookeeper.chroot;
  }
  SpawnRequest request{argv.value(), EnvironmentWith(env), LogPath(spec, index, ".log")};
  AppendLogLine(request.log_path, "starting instance " + std::to_string(index) + " on port " +
                                      std::to_string(port) + ": " + JoinArgv(request.argv));
  return SpawnDetached(request);
}

Result<ProcessIdentity> LocalLauncher::SpawnAnnouncer(const InstanceGroupSpec& spec, uint32_t index,
                                                      uint16_t port) const {
  std::vector<std::string> argv = {config_.canarymesh_binary,
                                   "announce",
                                   "--zookeeper",
                                   config_.zookeeper.connect,
                                   "--session-timeout-ms",
                                   std::to_string(config_.zookeeper.session_timeout_ms),
                                   "--path",
                                   spec.serverset_path,
                                   "--host",
                                   config_.host,
                                   "--port",
                                   std::to_string(port),
                                   "--version",
                                   spec.version,
                                   "--check",
                                   spec.health.protocol,
                                   "--check-path",
                                   spec.health.path,
                                   "--check-address",
                                   HostPort(config_.host, port),
                                   "--check-interval-ms",
                                   std::to_string(spec.health.interval_ms)};
  if (!config_.zookeeper.chroot.empty()) {
    argv.push_back("--chroot");
    argv.push_back(config_.zookeeper.chroot);
  }
  SpawnRequest request{argv, EnvironmentWith({}), LogPath(spec, index, ".announce.log")};
  AppendLogLine(request.log_path, "starting announcer for port " + std::to_string(port));
  return SpawnDetached(request);
}

}  // namespace canarymesh::bridge
