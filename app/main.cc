// canarymesh: a service-mesh sidecar for canary releases. This file only parses the command
// line and hands over to one subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "app/announce_command.h"
#include "app/bridge_command.h"
#include "app/proxy_command.h"
#include "app/rollout_command.h"

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
  announce_cmd->add_option("--zookeeper", announce.zookeeper.connect, "host:port[,host:port]")
      ->required();
  announce_cmd->add_option("--chroot", announce.zookeeper.chroot, "ZooKeeper chroot");
  announce_cmd->add_option("--session-timeout-ms", announce.zookeeper.session_timeout_ms)
      ->capture_default_str();
  announce_cmd->add_option("--path", a.path, "ServerSet path, e.g. /discovery/user")->required();
  announce_cmd->add_option("--host", a.host, "address others reach the instance at")->required();
  announce_cmd->add_option("--port", a.port, "serviceEndpoint port")
      ->required()
      ->check(CLI::Range(1, 65535));
  std::vector<std::string> endpoints;
  announce_cmd->add_option("--endpoint", endpoints, "additional endpoint name=port (repeatable)");
  announce_cmd->add_option("--version", a.version, "written as metadata.version");
  int shard = -1;
  announce_cmd->add_option("--shard", shard, "shard number");
  announce_cmd->add_option("--check", a.health_check.kind, "health check: http or tcp")
      ->check(CLI::IsMember({"http", "tcp"}))
      ->capture_default_str();
  announce_cmd->add_option("--check-path", a.health_check.path, "HTTP path for --check http")
      ->capture_default_str();
  announce_cmd->add_option("--check-address", a.health_check.address,
                           "host:port to check (default: 127.0.0.1:PORT)");
  announce_cmd->add_option("--check-interval-ms", a.health_check.interval_ms)
      ->capture_default_str();

  canarymesh::BridgeOptions bridge;
  CLI::App* bridge_cmd =
      app.add_subcommand("bridge", "Run the scheduler bridge (automated rollouts)");
  bridge_cmd->add_option("-c,--config", bridge.config_path, "YAML config file")->required();
  bridge_cmd->add_option("--log-level", bridge.log_level, "debug, info, warn or error");

  canarymesh::RolloutClientOptions rollout;
  if (const char* token = std::getenv("CANARYMESH_BRIDGE_TOKEN")) rollout.token = token;
  if (const char* url = std::getenv("CANARYMESH_BRIDGE")) rollout.bridge = url;
  CLI::App* rollout_cmd =
      app.add_subcommand("rollout", "Start and follow rollouts through the bridge");
  rollout_cmd->require_subcommand(1);
  auto add_bridge_options = [&rollout](CLI::App* cmd) {
    cmd->add_option("--bridge", rollout.bridge, "bridge API URL (env CANARYMESH_BRIDGE)")
        ->capture_default_str();
    cmd->add_option("--token", rollout.token, "bearer token (env CANARYMESH_BRIDGE_TOKEN)");
  };
  CLI::App* start_cmd = rollout_cmd->add_subcommand("start", "Start a rollout of a new version");
  add_bridge_options(start_cmd);
  start_cmd->add_option("--service", rollout.service, "service name from the bridge config")
      ->required();
  start_cmd->add_option("--version", rollout.version, "the new version")->required();
  start_cmd->add_option("--artifact", rollout.artifact, "what to run (local: a command template)");
  start_cmd->add_option("--image", rollout.image, "container image (Marathon, Kubernetes)");
  start_cmd
      ->add_option("--instances", rollout.instances, "test instances (default: the stable's count)")
      ->check(CLI::Range(1, 10000));
  start_cmd->add_option("--steps", rollout.steps, "canary weights in percent, e.g. 1,5,25,50");
  start_cmd->add_flag("--pause-before-promote", rollout.pause_before_promote,
                      "wait for `rollout promote`");
  start_cmd->add_option("--integration-check", rollout.integration_check,
                        "shell command run against the new version");
  start_cmd->add_option("--min-step-requests", rollout.min_step_requests,
                        "canary requests per step at least");
  start_cmd->add_option("--min-step-duration-ms", rollout.min_step_duration_ms,
                        "time per step at least");
  start_cmd->add_option("--step-timeout-ms", rollout.step_timeout_ms,
                        "no verdict by then: roll back");
  start_cmd->add_flag("--wait", rollout.wait, "follow it; exit 0 when promoted, 1 otherwise");
  start_cmd->add_option("--poll-ms", rollout.poll_ms, "how often --wait asks")
      ->capture_default_str();
  CLI::App* status_cmd = rollout_cmd->add_subcommand("status", "List rollouts, or show one");
  add_bridge_options(status_cmd);
  status_cmd->add_option("id", rollout.id, "rollout id");
  status_cmd->add_flag("--json", rollout.json, "print the bridge's JSON");
  CLI::App* promote_cmd = rollout_cmd->add_subcommand("promote", "Release a rollout's manual gate");
  add_bridge_options(promote_cmd);
  promote_cmd->add_option("id", rollout.id, "rollout id")->required();
  CLI::App* abort_cmd = rollout_cmd->add_subcommand("abort", "Roll a rollout back");
  add_bridge_options(abort_cmd);
  abort_cmd->add_option("id", rollout.id, "rollout id")->required();

  CLI11_PARSE(app, argc, argv);
  if (proxy_cmd->parsed()) return canarymesh::RunProxy(proxy);
  if (bridge_cmd->parsed()) return canarymesh::RunBridge(bridge);
  if (rollout_cmd->parsed()) {
    for (CLI::App* sub : {start_cmd, status_cmd, promote_cmd, abort_cmd}) {
      if (sub->parsed()) rollout.action = sub->get_name();
    }
    return canarymesh::RunRolloutClient(rollout);
  }
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
