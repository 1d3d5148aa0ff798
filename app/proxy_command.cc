#include "app/proxy_command.h"

#include <prometheus/text_serializer.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "app/admin_routes.h"
#include "app/admin_server.h"
#include "app/proxy_discovery.h"
#include "app/proxy_metrics.h"
#include "canary/version_stats.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/logging.h"
#include "router/route_table_publisher.h"
#include "router/shard_recorder.h"
#include "router/socket_ops.h"
#include "router/worker.h"

namespace canarymesh {
namespace {

constexpr auto kDrainGrace = std::chrono::seconds(10);
constexpr auto kInitialSyncGrace = std::chrono::seconds(15);

}  // namespace

int RunProxy(const ProxyOptions& options) {
  auto loaded = LoadProxyConfigFile(options.config_path);
  if (!loaded.ok()) {
    LOG_ERROR << "config error: " << loaded.status().message();
    return 2;
  }
  ProxyConfig config = std::move(loaded.value());
  LogLevel level;
  if (ParseLogLevel(options.log_level.empty() ? config.log_level : options.log_level, &level))
    SetLogLevel(level);
  if (config.workers == 0) {
    config.workers = std::max(1u, std::thread::hardware_concurrency());
  }

  canary::StatsRegistry stats(config.workers);
  router::RouteTablePublisher publisher(
      config, [&stats](const std::string& service, const std::string& version,
                       const std::string& protocol) {
        auto key = stats.Resolve(service, version, protocol);
        if (!key.ok()) {
          LOG_WARN << "stats: " << key.status().message();
          return static_cast<uint32_t>(canary::StatsRegistry::kMaxKeys);  // recorded nowhere
        }
        return key.value();
      });

  auto discovery = ProxyDiscovery::Create(config, publisher);
  if (!discovery.ok()) {
    LOG_ERROR << discovery.status().message();
    return 2;
  }

  for (const ListenerConfig& l : config.listeners) {
    auto addr = ParseNetAddress(l.listen);
    Status free = addr.ok() ? router::CheckAddressFree(addr.value()) : addr.status();
    if (!free.ok()) {
      LOG_ERROR << "listener '" << l.name << "': " << free.message();
      return 1;
    }
  }
  std::vector<std::unique_ptr<router::Worker>> workers;
  for (uint32_t i = 0; i < config.workers; ++i) {
    workers.push_back(std::make_unique<router::Worker>(
        i, config, &publisher, std::make_unique<router::ShardRecorder>(stats, i)));
    Status s = workers.back()->Listen();
    if (!s.ok()) {
      LOG_ERROR << s.message();
      return 1;
    }
  }

  std::atomic<bool> ready{false};
  AdminServer admin;
  admin.Register("/ready", [&](const AdminRequest&) {
    AdminResponse r;
    bool is_ready = ready.load();
    r.status = is_ready ? 200 : 503;
    r.body = is_ready ? "ready\n" : "not ready (starting or draining)\n";
    return r;
  });
  admin.Register("/metrics", [&](const AdminRequest&) {
    std::vector<prometheus::MetricFamily> families = stats.CollectPrometheus();
    for (auto& f : CollectRouterFamilies(workers)) families.push_back(std::move(f));
    for (auto& f : CollectProcessFamilies()) families.push_back(std::move(f));
    for (auto& f : discovery.value()->CollectFamilies()) families.push_back(std::move(f));
    AdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = prometheus::TextSerializer().Serialize(families);
    return r;
  });
  RegisterRouteEndpoints(admin, config, publisher, stats);
  discovery.value()->RegisterAdmin(admin);
  Status admin_status = admin.Listen(config.admin.listen);
  if (!admin_status.ok()) {
    LOG_ERROR << admin_status.message();
    return 1;
  }

  // Signals are taken synchronously by this thread; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  admin.Start();
  for (auto& w : workers) w->Start();
  discovery.value()->Start();
  // Ready once every ZooKeeper serverset has been read (like Envoy's initial fetch), or after
  // the grace period, so that a fresh sidecar does not take traffic it can only answer with 503.
  auto gate_deadline = std::chrono::steady_clock::now() + kInitialSyncGrace;
  int sig = 0;
  timespec poll{0, 50 * 1000 * 1000};
  while (!discovery.value()->InitialSyncDone()) {
    if (std::chrono::steady_clock::now() > gate_deadline) {
      LOG_WARN << "ZooKeeper discovery not synced after " << kInitialSyncGrace.count()
               << " s; reporting ready anyway (services without instances answer 503)";
      break;
    }
    sig = sigtimedwait(&signals, nullptr, &poll);
    if (sig > 0) break;
  }
  ready.store(sig <= 0);
  LOG_INFO << "canarymesh proxy serving: " << config.listeners.size() << " listener(s), "
           << config.services.size() << " service(s), " << config.workers << " worker(s), admin on "
           << config.admin.listen;

  if (sig <= 0) sigwait(&signals, &sig);
  LOG_INFO << "signal " << sig << ": draining";
  ready.store(false);
  // Leave the ServerSet first so that callers stop choosing this instance, then drain.
  discovery.value()->WithdrawAnnouncement();
  for (auto& w : workers) w->BeginDrain();
  auto deadline = std::chrono::steady_clock::now() + kDrainGrace;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t active = 0;
    for (auto& w : workers) active += w->ActiveRequests();
    if (active == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& w : workers) w->Stop();
  for (auto& w : workers) w->Join();
  discovery.value()->Stop();
  admin.Stop();
  workers.clear();
  LOG_INFO << "stopped";
  return 0;
}

}  // namespace canarymesh
