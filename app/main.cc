// canarymesh: a service-mesh sidecar for canary releases. This file only parses the command
// line and hands over to one subcommand.
#include <CLI/CLI.hpp>

#include "app/proxy_command.h"

int main(int argc, char** argv) {
  CLI::App app{"canarymesh: routes RPC traffic by service and version for canary releases"};
  app.require_subcommand(1);

  canarymesh::ProxyOptions proxy;
  CLI::App* proxy_cmd = app.add_subcommand("proxy", "Run the sidecar proxy");
  proxy_cmd->add_option("-c,--config", proxy.config_path, "YAML config file")->required();
  proxy_cmd->add_option("--log-level", proxy.log_level, "debug, info, warn or error");

  CLI11_PARSE(app, argc, argv);
  if (proxy_cmd->parsed()) return canarymesh::RunProxy(proxy);
  return 1;
}
