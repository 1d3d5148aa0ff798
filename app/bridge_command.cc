#include "app/bridge_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

#include "app/admin_server.h"
#include "core/logging.h"
#include "discovery/zk_session.h"
#include "scheduler-bridge/metrics/prometheus_metrics_source.h"
#include "scheduler-bridge/metrics/sidecar_metrics_source.h"
#include "scheduler-bridge/rollout/bridge_api.h"
#include "scheduler-bridge/rollout/bridge_config.h"
#include "scheduler-bridge/rollout/bridge_service.h"
#include "scheduler-bridge/rollout/integration_check.h"
#include "scheduler-bridge/wiring/bridge_backend_factory.h"
#include "scheduler-bridge/zookeeper/zk_leader_election.h"
#include "scheduler-bridge/zookeeper/zk_rollout_store.h"
#include "scheduler-bridge/zookeeper/zk_route_weights_writer.h"

namespace canarymesh {
namespace {

std::string SelfExecutable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "canarymesh";
}

// Blocks SIGTERM/SIGINT in every thread and returns the one that arrived.
int WaitForStopSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

Result<std::unique_ptr<bridge::VersionMetricsSource>> MakeMetricsSource(
    const bridge::BridgeConfig& c, ZkSession& session) {
  if (c.metrics.source == "prometheus") {
    bridge::PrometheusMetricsSourceOptions options;
    options.url = c.metrics.prometheus_url;
    auto made = bridge::PrometheusMetricsSource::Create(options);
    if (!made.ok())
      return Status::InvalidArgument(c.source +
                                     ": metrics.prometheus_url: " + made.status().message());
    return std::unique_ptr<bridge::VersionMetricsSource>(std::move(made.value()));
  }
  bridge::SidecarMetricsSourceOptions options;
  options.sidecars_path = c.metrics.sidecars_path;
  return std::unique_ptr<bridge::VersionMetricsSource>(
      std::make_unique<bridge::SidecarMetricsSource>(session, options));
}

}  // namespace

int RunBridge(const BridgeOptions& options) {
  auto loaded = bridge::LoadBridgeConfigFile(options.config_path);
  if (!loaded.ok()) {
    LOG_ERROR << loaded.status().message();
    return 2;
  }
  const bridge::BridgeConfig& config = loaded.value();
  LogLevel level;
  if (ParseLogLevel(options.log_level.empty() ? config.log_level : options.log_level, &level))
    SetLogLevel(level);

  auto judge = canary::CanaryJudge::Create(config.judge);
  if (!judge.ok()) {
    LOG_ERROR << config.source << ": judge: " << judge.status().message();
    return 2;
  }
  // Signals go to sigwait below, not to whichever thread happens to run.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // Start-up waits on ZooKeeper and on the local backend's state directory; a stop signal in
  // that time must still stop the bridge (nothing is serving yet, so there is nothing to drain).
  // Shared with the detached waiter, which may outlive an early return of this function.
  struct StopState {
    sigset_t signals;
    std::atomic<bool> serving{false};
    std::promise<int> signal;
  };
  auto stop = std::make_shared<StopState>();
  stop->signals = stop_signals;
  std::future<int> stopped = stop->signal.get_future();
  std::thread signal_waiter([stop] {
    const int sig = WaitForStopSignal(stop->signals);
    if (!stop->serving.load()) {
      LOG_WARN << "bridge: signal " << sig << " during start-up, exiting";
      std::_Exit(1);
    }
    stop->signal.set_value(sig);
  });
  signal_waiter.detach();

  auto backend = bridge::MakeClusterBackend(config, SelfExecutable());
  if (!backend.ok()) {
    LOG_ERROR << backend.status().message();
    return 2;
  }
  auto session = ZkSession::Create(config.zookeeper);
  if (!session.ok()) {
    LOG_ERROR << config.source << ": zookeeper: " << session.status().message();
    return 2;
  }
  // Not for the whole session timeout: the API can answer (503) while ZooKeeper is away.
  const auto connect_wait =
      std::chrono::milliseconds(std::min<int64_t>(config.zookeeper.session_timeout_ms, 3000));
  if (!session.value()->WaitConnected(connect_wait)) {
    LOG_WARN << "bridge: ZooKeeper " << config.zookeeper.connect
             << " not reachable yet; retrying in the background";
  }
  auto metrics = MakeMetricsSource(config, *session.value());
  if (!metrics.ok()) {
    LOG_ERROR << metrics.status().message();
    return 2;
  }
  bridge::ZkRolloutStoreOptions store_options;
  store_options.state_path = config.state_path;
  bridge::ZkRolloutStore store(*session.value(), store_options);
  bridge::ZkRouteWeightsWriter routes(*session.value(), config.routes_path);
  bridge::ProcessIntegrationCheckRunner checks;

  bridge::ZkLeaderElectionOptions election_options;
  election_options.election_path = config.election_path;
  election_options.self_id = config.listen + " pid " + std::to_string(::getpid());
  bridge::ZkLeaderElection election(*session.value(), election_options);

  bridge::RolloutWorld world{backend.value().get(), &routes, metrics.value().get(), &checks};
  bridge::RolloutMachine machine(world, judge.value(), config.timings, config.services,
                                 config.proxy);
  bridge::BridgeService service(store, election, machine, config.tick_interval_ms);
  bridge::BridgeApi api(service, election, config.token);

  AdminServer server;
  auto handler = [&api](const AdminRequest& req) {
    bridge::ApiResponse r = api.Handle({req.method, req.path, req.body, req.authorization});
    return AdminResponse{r.status, r.content_type, r.body};
  };
  for (const char* path : {"/health", "/metrics", "/v1/leader", "/v1/rollouts", "/v1/rollouts/"}) {
    server.Register(path, handler);
  }
  if (Status s = server.Listen(config.listen); !s.ok()) {
    LOG_ERROR << "bridge: " << s.message();
    return 1;
  }
  if (Status s = election.Start(); !s.ok()) {
    LOG_ERROR << "bridge: leader election: " << s.message();
    return 2;
  }
  server.Start();
  service.Start();
  LOG_INFO << "bridge " << election_options.self_id << " serving the rollout API on "
           << config.listen << " (" << backend.value()->Name() << " backend, metrics from "
           << metrics.value()->Describe() << ")";

  stop->serving.store(true);
  const int sig = stopped.get();
  LOG_INFO << "bridge: signal " << sig << ", leaving the election";
  service.Stop();
  election.Stop();
  server.Stop();
  return 0;
}

}  // namespace canarymesh
