// local_backend_holder: a stand-in for the bridge process in the takeover test. It builds a
// LocalBackend from a YAML file (the same section the bridge config embeds), deploys one group,
// prints "ready" once Inspect() says so, then waits to be SIGKILLed.
// Usage: local_backend_holder CONFIG.yaml SERVICE VERSION INSTANCES SERVERSET_PATH ARTIFACT
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "scheduler-bridge/local/local_backend.h"

int main(int argc, char** argv) {
  using canarymesh::bridge::LocalBackend;
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: %s CONFIG.yaml SERVICE VERSION INSTANCES SERVERSET_PATH ARTIFACT\n",
                 argv[0]);
    return 2;
  }
  auto config = canarymesh::bridge::LocalBackendConfigFromYaml(YAML::LoadFile(argv[1]));
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  auto backend = LocalBackend::Create(config.value());
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.status().message().c_str());
    return 2;
  }
  canarymesh::bridge::InstanceGroupSpec spec;
  spec.service = argv[2];
  spec.version = argv[3];
  spec.instances = static_cast<uint32_t>(std::atoi(argv[4]));
  spec.serverset_path = argv[5];
  spec.artifact = argv[6];
  spec.health.interval_ms = 200;
  spec.health.timeout_ms = 5000;
  canarymesh::Status deployed = backend.value()->Deploy(spec);
  if (!deployed.ok()) {
    std::fprintf(stderr, "deploy: %s\n", deployed.message().c_str());
    return 1;
  }
  for (;;) {
    auto status = backend.value()->Inspect(spec.service, spec.version);
    if (status.ok() && status->Ready()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) ::pause();  // until SIGKILL
}
