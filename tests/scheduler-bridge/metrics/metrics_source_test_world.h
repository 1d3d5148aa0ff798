// A small real deployment for the metrics-source tests: ZooKeeper, two `canarymesh-sample`
// backends of service "shop" (v1 healthy, v2 answering every request with 500) and a real
// `canarymesh proxy` in front of them that announces its admin endpoint under
// /canarymesh/sidecars. Everything runs on free loopback ports and is killed in TearDown.
// Test-thread only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "discovery/zk_session.h"
#include "scheduler-bridge/http/http_client.h"
#include "tests/integration/zk_server.h"

namespace canarymesh::bridge::testing {

inline constexpr const char* kSidecarsPath = "/canarymesh/sidecars";

class SidecarWorld : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // One GET through the proxy's listener, pinned to `version` with the override header when it
  // is not empty. Returns the HTTP status and the version that served it.
  Result<std::pair<unsigned, std::string>> SendThroughProxy(const std::string& version);
  // GET on the proxy's admin listener.
  Result<HttpResponse> Admin(const std::string& path);
  // Starts the proxy (again) with the config written in SetUp; waits until /ready answers 200.
  Status StartProxy();
  // Files the processes wrote, for failure messages.
  std::string Logs() const;

  std::string dir_;
  canarymesh::testing::ZkServer zk_;
  std::unique_ptr<ZkSession> session_;
  canarymesh::testing::TestProcess v1_, v2_, proxy_;
  uint16_t listen_port_ = 0;
  uint16_t admin_port_ = 0;
  std::string config_path_;
};

// Waits until `port` on 127.0.0.1 answers `path` with 200.
bool WaitHttpOk(uint16_t port, const std::string& path);

}  // namespace canarymesh::bridge::testing
