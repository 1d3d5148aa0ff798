// Shared fixture for the local backend's integration tests: one real ZooKeeper per test binary,
// a fresh state_dir per test, a reader session to look at ServerSet members, and a TearDown that
// SIGKILLs every process the state file (or the test) knows of, so no test leaves one behind.
// Not thread-safe: use from the test thread.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/zk_session.h"
#include "scheduler-bridge/local/local_backend.h"
#include "tests/integration/zk_server.h"

namespace canarymesh::bridge::testing {

class LocalBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Test-sized timings: short drain, backoff and check interval; generous limits elsewhere.
  LocalBackendConfig Config() const;
  // canarymesh-sample on {port}, announced under this test's ServerSet path.
  InstanceGroupSpec SampleSpec(const std::string& version, uint32_t instances) const;
  std::unique_ptr<LocalBackend> MakeBackend(const LocalBackendConfig& config);

  // ServerSet members now: port -> metadata.version.
  std::map<uint16_t, std::string> Members();
  // Waits until Inspect() says Ready() with `count` instances; false on timeout.
  bool WaitReady(LocalBackend& backend, const std::string& version, uint32_t count);
  // Waits until the members are exactly `ports`, each with `version`.
  bool WaitMembers(const std::vector<uint16_t>& ports, const std::string& version);
  std::vector<LocalInstanceDetail> Details(LocalBackend& backend, const std::string& version);
  // Remembers processes so TearDown kills them even if the state file lost track.
  void Track(const std::vector<LocalInstanceDetail>& details);
  static bool Running(pid_t pid);  // alive and not a zombie

  static ::canarymesh::testing::ZkServer* zk_;
  std::string dir_;
  std::string serverset_path_;
  std::unique_ptr<ZkSession> reader_;
  std::vector<ProcessIdentity> tracked_;  // as seen, so a recycled pid is never killed
};

}  // namespace canarymesh::bridge::testing
