// A data-plane worker: one thread, one libevent loop, its own SO_REUSEPORT listening sockets,
// its own upstream connection pools, PRNG, retry budget and counters. Nothing on the request
// path is shared with other workers except the immutable route table and atomic instance health.
// Public methods other than Start/Stop/Join are for that worker's own thread.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "router/fast_random.h"
#include "router/retry_budget.h"
#include "router/route_table_publisher.h"
#include "router/router_stats.h"

namespace canarymesh::router {

class DownstreamConnection;
class ThriftConnections;
class UpstreamPool;

// Something the worker frees on its next loop turn, once no callback can still be using it.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class Worker {
 public:
  Worker(size_t index, const ProxyConfig& config, RouteTablePublisher* routes,
         std::unique_ptr<RequestRecorder> recorder);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's listening sockets. Called before Start so errors stop the process early.
  Status Listen();
  void Start();
  // Stops accepting, tells keep-alive clients to close, lets requests in flight finish.
  void BeginDrain();
  // Ends the loop (after BeginDrain, once idle or when the caller's grace period is over).
  void Stop();
  void Join();
  size_t ActiveRequests() const { return active_requests_.load(std::memory_order_relaxed); }
  const RouterCounters& counters() const { return counters_; }

  // ---- Worker-thread API used by connections ----
  event_base* base() const { return base_; }
  const ProxyConfig& config() const { return config_; }
  size_t index() const { return index_; }
  // The route table for a new request, pinned until ReleaseRoutes so that a snapshot swap
  // cannot free what the request points into. Counted per worker: no atomics per request.
  struct RoutesLease {
    std::shared_ptr<const RouteTable> table;
    uint64_t users = 0;
  };
  RoutesLease* AcquireRoutes();
  void ReleaseRoutes(RoutesLease* lease);
  UpstreamPool& PoolFor(const std::shared_ptr<UpstreamInstance>& instance);
  FastRandom& rng() { return rng_; }
  RetryBudget& retry_budget() { return retry_budget_; }
  RouterCounters& mutable_counters() { return counters_; }
  RequestRecorder& recorder() { return *recorder_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::string& scratch() { return scratch_; }
  void RequestStarted() { active_requests_.fetch_add(1, std::memory_order_relaxed); }
  void RequestFinished() { active_requests_.fetch_sub(1, std::memory_order_relaxed); }

  // Timeouts shared by many events: libevent keeps a queue per duration (O(1) add).
  const timeval* connect_timeout() const { return connect_timeout_; }
  const timeval* request_timeout() const { return request_timeout_; }
  const timeval* client_idle_timeout() const { return client_idle_timeout_; }
  const timeval* header_timeout() const { return header_timeout_; }
  const timeval* upstream_idle_timeout() const { return upstream_idle_timeout_; }

  // The Thrift listeners' connections and upstream pools of this worker.
  ThriftConnections& thrift() { return *thrift_; }
  const ThriftConnections& thrift() const { return *thrift_; }

  void DeferDelete(std::unique_ptr<DeferredDeletable> object);
  void RemoveDownstream(DownstreamConnection* connection);

 private:
  struct ListenSocket {
    Worker* worker;
    const ListenerConfig* config;
    int fd = -1;
    event* ev = nullptr;
  };
  static void OnAccept(evutil_socket_t fd, short what, void* arg);
  static void OnWakeup(evutil_socket_t fd, short what, void* arg);
  static void OnDeferredDelete(evutil_socket_t fd, short what, void* arg);
  void HandleCommands();
  void CloseListeners();
  void CollectIdlePools();

  const size_t index_;
  const ProxyConfig& config_;
  RouteTablePublisher* publisher_;
  std::unique_ptr<RequestRecorder> recorder_;
  event_base* base_ = nullptr;
  std::thread thread_;
  std::vector<ListenSocket> listeners_;
  int wakeup_fd_ = -1;  // eventfd: other threads poke the loop through it
  event* wakeup_event_ = nullptr;
  event* deferred_event_ = nullptr;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<size_t> active_requests_{0};

  std::list<RoutesLease> leases_;  // back() is the current table
  uint64_t routes_generation_ = 0;
  static constexpr int64_t kPoolCollectionIntervalMs = 5000;
  int64_t last_pool_collection_ms_ = 0;
  std::vector<std::unique_ptr<UpstreamPool>> pools_;  // indexed by UpstreamInstance::id()
  std::list<std::unique_ptr<DownstreamConnection>> downstreams_;
  std::unique_ptr<ThriftConnections> thrift_;
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  FastRandom rng_;
  RetryBudget retry_budget_;
  RouterCounters counters_;
  std::string scratch_;

  const timeval* connect_timeout_ = nullptr;
  const timeval* request_timeout_ = nullptr;
  const timeval* client_idle_timeout_ = nullptr;
  const timeval* header_timeout_ = nullptr;
  const timeval* upstream_idle_timeout_ = nullptr;
};

}  // namespace canarymesh::router
