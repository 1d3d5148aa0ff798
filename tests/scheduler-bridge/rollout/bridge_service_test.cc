// BridgeService and BridgeApi over the in-memory world: commands, leadership, the tick loop
// writing compare-and-set, and the HTTP answers (codes, JSON errors, token, metrics).
#include "scheduler-bridge/rollout/bridge_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "scheduler-bridge/rollout/bridge_api.h"
#include "tests/scheduler-bridge/rollout/rollout_test_world.h"

namespace canarymesh::bridge {
namespace {

using testing::EventLog;
using testing::FixedLeadership;
using testing::InMemoryBackend;
using testing::InMemoryRoutes;
using testing::InMemoryStore;
using testing::ScriptedCheckRunner;
using testing::SimulatedTraffic;

constexpr char kToken[] = "s3cret-token";

class BridgeServiceTest : public ::testing::Test {
 protected:
  BridgeServiceTest() {
    RolloutServiceConfig svc;
    svc.name = "user";
    svc.serverset_path = "/discovery/user";
    svc.stable_version = "v1";
    svc.instances = 2;
    svc.artifact = "sample --version {version}";
    RolloutTimings timings;
    timings.drain_ms = 0;
    traffic_.requests_per_read = 1000;
    machine_ = std::make_unique<RolloutMachine>(
        RolloutWorld{&backend_, &routes_, &traffic_, &checks_}, canary::CanaryJudge(), timings,
        std::vector<RolloutServiceConfig>{svc}, "127.0.0.1:4140");
    service_ = std::make_unique<BridgeService>(store_, leadership_, *machine_, 1000);
    api_ = std::make_unique<BridgeApi>(*service_, leadership_, kToken);
  }

  ApiResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& token = kToken) {
    return api_->Handle({method, path, body, token.empty() ? "" : "Bearer " + token});
  }
  nlohmann::json Json(const ApiResponse& r) { return nlohmann::json::parse(r.body); }

  // Ticks until the rollout finishes (or max ticks), one simulated second each.
  nlohmann::json TickUntilDone(const std::string& id, int max_ticks = 500) {
    nlohmann::json record;
    for (int i = 0; i < max_ticks; ++i) {
      service_->Tick(now_ += 1000);
      record = Json(Call("GET", "/v1/rollouts/" + id));
      const std::string stage = record["stage"];
      if (stage == "promoted" || stage == "rolled_back" || stage == "failed" || stage == "aborted")
        break;
    }
    return record;
  }

  EventLog log_;
  InMemoryBackend backend_{&log_};
  InMemoryRoutes routes_{&log_};
  SimulatedTraffic traffic_{&routes_, "user", "v1"};
  ScriptedCheckRunner checks_;
  InMemoryStore store_;
  FixedLeadership leadership_;
  std::unique_ptr<RolloutMachine> machine_;
  std::unique_ptr<BridgeService> service_;
  std::unique_ptr<BridgeApi> api_;
  int64_t now_ = UnixMillis();  // the API stamps records with the real clock
};

TEST_F(BridgeServiceTest, LeaderStartsStableVersionsAndRunsARolloutToTheEnd) {
  service_->Tick(now_);
  ASSERT_TRUE(backend_.Has("user", "v1"));  // the idle service's stable version is running
  EXPECT_EQ(backend_.groups.at({"user", "v1"}).desired, 2u);
  for (int i = 0; i < 3; ++i) backend_.Inspect("user", "v1");

  ApiResponse created =
      Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2","steps":[10,50]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created)["id"];
  EXPECT_EQ(Json(created)["baseline_version"], "v1");

  nlohmann::json done = TickUntilDone(id);
  EXPECT_EQ(done["stage"], "promoted") << done.dump(2);
  EXPECT_EQ(done["verdict_counts"]["PASS"], 2);
  EXPECT_FALSE(backend_.Has("user", "v1"));

  // The next rollout starts from the promoted version.
  ApiResponse next = Call("POST", "/v1/rollouts", R"({"service":"user","version":"v3"})");
  ASSERT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(Json(next)["baseline_version"], "v2");
  auto stable = service_->CurrentStable("user");
  ASSERT_TRUE(stable.ok());
  EXPECT_EQ(stable->version, "v2");

  // Metrics: by stage, the active rollout's weight, verdicts, leadership.
  const std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("canarymesh_bridge_rollouts{stage=\"promoted\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("canarymesh_bridge_rollouts{stage=\"test_starting\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("canarymesh_bridge_verdicts_total{service=\"user\",verdict=\"PASS\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("canarymesh_bridge_leader 1"), std::string::npos);
  EXPECT_NE(metrics.find("canarymesh_bridge_canary_weight_percent{"), std::string::npos);
}

TEST_F(BridgeServiceTest, OneRolloutPerServiceAtATime) {
  service_->Tick(now_);
  ASSERT_EQ(Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2"})").status, 201);
  ApiResponse second = Call("POST", "/v1/rollouts", R"({"service":"user","version":"v3"})");
  EXPECT_EQ(second.status, 409);
  EXPECT_NE(Json(second)["error"].get<std::string>().find("in progress"), std::string::npos);
  ApiResponse same = Call("POST", "/v1/rollouts", R"({"service":"user","version":"v1"})");
  EXPECT_EQ(same.status, 409);
}

TEST_F(BridgeServiceTest, BadRequestsGetJsonErrors) {
  struct Case {
    std::string body;
    int status;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", 400, "not JSON"},
           {"[]", 400, "object"},
           {R"({"version":"v2"})", 400, "service"},
           {R"({"service":"user"})", 400, "version"},
           {R"({"service":"nobody","version":"v2"})", 400, "not in the bridge's config"},
           {R"({"service":"user","version":"v 2"})", 400, "version"},
           {R"({"service":"user","version":"v2","steps":[50,5]})", 400, "steps[1]"},
           {R"({"service":"user","version":"v2","steps":[100]})", 400, "steps[0]"},
           {R"({"service":"user","version":"v2","steps":"1,2"})", 400, "type"},
           {R"({"service":"user","version":"v2","colour":"red"})", 400, "colour"},
       }) {
    ApiResponse r = Call("POST", "/v1/rollouts", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    nlohmann::json j = Json(r);
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_NE(j["error"].get<std::string>().find(c.mentions), std::string::npos)
        << c.body << " -> " << r.body;
  }
  EXPECT_EQ(Call("GET", "/v1/rollouts/none").status, 404);
  EXPECT_EQ(Call("POST", "/v1/rollouts/none/promote").status, 404);
  EXPECT_EQ(Call("POST", "/v1/rollouts/none/explode").status, 404);
  EXPECT_EQ(Call("PUT", "/v1/rollouts").status, 405);
  EXPECT_EQ(Call("GET", "/nowhere").status, 404);
}

TEST_F(BridgeServiceTest, ChangesNeedTheToken) {
  EXPECT_EQ(Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2"})", "").status, 401);
  EXPECT_EQ(Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2"})", "wrong").status,
            401);
  EXPECT_EQ(
      Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2"})", "s3cret-tokeN").status,
      401);
  EXPECT_EQ(Call("POST", "/v1/rollouts/x/abort", "", "").status, 401);
  EXPECT_EQ(Call("GET", "/v1/rollouts", "", "").status, 200);  // reads are open
  EXPECT_TRUE(store_.List()->empty());
}

TEST_F(BridgeServiceTest, FollowersServeReadsAndRefuseChangesNamingTheLeader) {
  service_->Tick(now_);
  ASSERT_EQ(Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2"})").status, 201);
  leadership_.leader = false;
  leadership_.leader_id = "127.0.0.1:9992 pid 42";
  ApiResponse refused = Call("POST", "/v1/rollouts", R"({"service":"user","version":"v3"})");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(Json(refused)["leader"], "127.0.0.1:9992 pid 42");
  nlohmann::json list = Json(Call("GET", "/v1/rollouts"));
  ASSERT_EQ(list["rollouts"].size(), 1u);
  const std::string id = list["rollouts"][0]["id"];
  EXPECT_EQ(Call("POST", "/v1/rollouts/" + id + "/abort").status, 503);
  // A follower's tick advances nothing.
  const auto before = store_.Get(id).value()->version;
  for (int i = 0; i < 5; ++i) service_->Tick(now_ += 1000);
  EXPECT_EQ(store_.Get(id).value()->version, before);
  EXPECT_FALSE(backend_.Has("user", "v2"));
  EXPECT_NE(Call("GET", "/metrics").body.find("canarymesh_bridge_leader 0"), std::string::npos);
}

TEST_F(BridgeServiceTest, PromoteReleasesTheGateAndAbortRollsBack) {
  service_->Tick(now_);
  for (int i = 0; i < 3; ++i) backend_.Inspect("user", "v1");
  ApiResponse gated =
      Call("POST", "/v1/rollouts",
           R"({"service":"user","version":"v2","steps":[20],"pause_before_promote":true})");
  ASSERT_EQ(gated.status, 201);
  const std::string id = Json(gated)["id"];
  nlohmann::json r;
  for (int i = 0; i < 100; ++i) {
    service_->Tick(now_ += 1000);
    r = Json(Call("GET", "/v1/rollouts/" + id));
    if (r["stage"] == "awaiting_promotion") break;
  }
  ASSERT_EQ(r["stage"], "awaiting_promotion");
  ASSERT_EQ(Call("POST", "/v1/rollouts/" + id + "/promote").status, 200);
  EXPECT_EQ(TickUntilDone(id)["stage"], "promoted");
  EXPECT_EQ(Call("POST", "/v1/rollouts/" + id + "/abort").status, 409);  // finished

  ApiResponse second = Call("POST", "/v1/rollouts", R"({"service":"user","version":"v3"})");
  ASSERT_EQ(second.status, 201);
  const std::string id3 = Json(second)["id"];
  service_->Tick(now_ += 1000);
  ASSERT_EQ(Call("POST", "/v1/rollouts/" + id3 + "/abort").status, 200);
  nlohmann::json aborted = TickUntilDone(id3);
  EXPECT_EQ(aborted["stage"], "aborted");
  EXPECT_EQ(aborted["final_reason"], "aborted by user");
  EXPECT_FALSE(backend_.Has("user", "v3"));
  EXPECT_EQ(Call("POST", "/v1/rollouts/" + id3 + "/promote").status, 409);
}

// A command landing between the loop's read and its write: the loop's compare-and-set loses,
// the command's change stays, and the next tick acts on it.
TEST_F(BridgeServiceTest, CommandBetweenTheLoopsReadAndWriteIsNotLost) {
  service_->Tick(now_);
  for (int i = 0; i < 3; ++i) backend_.Inspect("user", "v1");
  ApiResponse created =
      Call("POST", "/v1/rollouts", R"({"service":"user","version":"v2","steps":[5,50]})");
  const std::string id = Json(created)["id"];
  store_.before_next_write = [&] {
    ASSERT_EQ(Call("POST", "/v1/rollouts/" + id + "/abort").status, 200);
  };
  service_->Tick(now_ += 1000);
  EXPECT_EQ(service_->store_conflicts(), 1u);
  EXPECT_TRUE(Json(Call("GET", "/v1/rollouts/" + id))["abort_requested"].get<bool>());
  EXPECT_EQ(TickUntilDone(id)["stage"], "aborted");
}

}  // namespace
}  // namespace canarymesh::bridge
