// `canarymesh proxy --config FILE`: loads and checks the config, binds every listener and the
// admin port (failing before serving anything), runs the workers, and on SIGTERM/SIGINT stops
// accepting, reports not-ready, drains requests in flight and exits.
#pragma once

#include <string>

namespace canarymesh {

struct ProxyOptions {
  std::string config_path;
  std::string log_level;  // overrides the config's when set
};

int RunProxy(const ProxyOptions& options);

}  // namespace canarymesh
