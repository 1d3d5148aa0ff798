// proxy_config_check FILE...: loads each file with the proxy's own config loader and prints the
// first error it finds, so that deploy/'s sidecar configs are checked exactly as `canarymesh
// proxy` would check them at start-up (the proxy has no --check flag). Exit 0 only if all load.
#include <cstdio>

#include "core/config.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
    return 2;
  }
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    auto loaded = canarymesh::LoadProxyConfigFile(argv[i]);
    if (loaded.ok()) {
      std::printf("ok: %s (%zu listeners, %zu services)\n", argv[i],
                  loaded.value().listeners.size(), loaded.value().services.size());
    } else {
      std::fprintf(stderr, "FAIL: %s\n", loaded.status().message().c_str());
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
