// canarymesh: a service-mesh sidecar for canary releases. This file only parses the command
// line and hands over to one subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "app/announce_command.h"
#include "app/proxy_command.h"

int main(int argc, char** argv) {
  CLI::App app{"canarymesh: routes RPC traffic by service and version for canary releases"};
  app.require_subcommand(1);

  canarymesh::ProxyOptions proxy;
  CLI::App* proxy_cmd = app.add_subcommand("proxy", "Run the sidecar proxy");
  proxy_cmd->add_option("-c,--config", proxy.config_path, "YAML config file")->required();
  proxy_cmd->add_option("--log-level", proxy.log_level, "debug, info, warn or error");

  canarymesh::AnnounceOptions announce;
  auto& a = announce.announce;
  CLI::App* announce_cmd =
      app.add_subcommand("announce", "Announce an instance in a ServerSet while it is healthy");
  announce_cmd->add_option("--zookeeper", announce.zookeeper.connect, "host:port[,host:port]")->required();
  announce_cmd->add_option("--chroot", announce.zookeeper.chroot, "ZooKeeper chroot");
  announce_cmd->add_option("--session-timeout-ms", announce.zookeeper.session_timeout_ms)->capture_default_str();
  announce_cmd->add_option("--path", a.path, "ServerSet path, e.g. /discovery/user")->required();
  announce_cmd->add_option("--host", a.host, "address others reach the instance at")->required();
  announce_cmd->add_option("--port", a.port, "serviceEndpoint port")->required()->check(CLI::Range(1, 65535));
  std::vector<std::string> endpoints;
  announce_cmd->add_option("--endpoint", endpoints, "additional endpoint name=port (repeatable)");
  announce_cmd->add_option("--version", a.version, "written as metadata.version");
  int shard = -1;
  announce_cmd->add_option("--shard", shard, "shard number");
  announce_cmd->add_option("--check", a.health_check.kind, "health check: http or tcp")
      ->check(CLI::IsMember({"http", "tcp"}))->capture_default_str();
  announce_cmd->add_option("--check-path", a.health_check.path, "HTTP path for --check http")->capture_default_str();
  announce_cmd->add_option("--check-address", a.health_check.address, "host:port to check (default: 127.0.0.1:PORT)");
  announce_cmd->add_option("--check-interval-ms", a.health_check.interval_ms)->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (proxy_cmd->parsed()) return canarymesh::RunProxy(proxy);
  if (announce_cmd->parsed()) {
    if (shard >= 0) a.shard = shard;
    for (const std::string& e : endpoints) {
      size_t eq = e.find('=');
      int port = eq == std::string::npos ? 0 : std::atoi(e.c_str() + eq + 1);
      if (eq == 0 || port <= 0 || port > 65535) {
        std::fprintf(stderr, "--endpoint %s: expected name=port\n", e.c_str());
        return 2;
      }
      a.endpoints[e.substr(0, eq)] = static_cast<uint32_t>(port);
    }
    return canarymesh::RunAnnounce(announce);
  }
  return 1;
}
