// ProcessIntegrationCheckRunner with real /bin/sh commands.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "scheduler-bridge/rollout/integration_check.h"

namespace canarymesh::bridge {
namespace {

IntegrationCheckProgress PollUntilDone(IntegrationCheckRunner& runner, const std::string& key,
                                       const IntegrationCheckRequest& request) {
  for (;;) {
    auto p = runner.Poll(key, request);
    EXPECT_TRUE(p.ok());
    if (!p.ok() || p->finished) return p.ok() ? p.value() : IntegrationCheckProgress{};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(IntegrationCheckTest, PassesEnvironmentAndReportsExitCodeAndOutput) {
  ProcessIntegrationCheckRunner runner;
  IntegrationCheckRequest request;
  request.command =
      "echo \"$CANARYMESH_SERVICE=$CANARYMESH_VERSION via $CANARYMESH_PROXY\"; echo oops >&2; exit "
      "3";
  request.env = {{"CANARYMESH_SERVICE", "user"},
                 {"CANARYMESH_VERSION", "v2"},
                 {"CANARYMESH_PROXY", "127.0.0.1:1"}};
  IntegrationCheckProgress p = PollUntilDone(runner, "r1", request);
  EXPECT_EQ(p.exit_code, 3);
  EXPECT_EQ(p.output_tail, "user=v2 via 127.0.0.1:1\noops\n");
  // Finished checks are reported again, not re-run, until forgotten.
  request.command = "exit 0";
  auto again = runner.Poll("r1", request);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->finished);
  EXPECT_EQ(again->exit_code, 3);
  runner.Forget("r1");
  EXPECT_EQ(PollUntilDone(runner, "r1", request).exit_code, 0);
}

TEST(IntegrationCheckTest, RunsInTheBackgroundAndForgetKillsIt) {
  ProcessIntegrationCheckRunner runner;
  IntegrationCheckRequest request;
  const std::string marker = ::testing::TempDir() + "/check-marker-" + std::to_string(::getpid());
  request.command = "sleep 30; touch " + marker;
  auto first = runner.Poll("slow", request);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->finished);
  runner.Forget("slow");
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
  // A command that dies of a signal reports 128 + signal.
  request.command = "kill -TERM $$";
  EXPECT_EQ(PollUntilDone(runner, "sig", request).exit_code, 128 + 15);
}

}  // namespace
}  // namespace canarymesh::bridge
