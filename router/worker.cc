#include "router/worker.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <unordered_set>

#include "core/clock.h"
#include "core/logging.h"
#include "router/downstream_connection.h"
#include "router/socket_ops.h"
#include "router/thrift_connections.h"
#include "router/upstream_pool.h"

namespace canarymesh::router {
namespace {

const timeval* CommonTimeout(event_base* base, uint32_t ms) {
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  return event_base_init_common_timeout(base, &tv);
}

}  // namespace

Worker::Worker(size_t index, const ProxyConfig& config, RouteTablePublisher* routes,
               std::unique_ptr<RequestRecorder> recorder)
    : index_(index),
      config_(config),
      publisher_(routes),
      recorder_(std::move(recorder)),
      rng_(0x5DEECE66Dull * (index + 1) ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())),
      retry_budget_(config.retries.budget_percent,
                    config.retries.min_per_second /
                        static_cast<double>(config.workers ? config.workers : 1)) {
  event_config* cfg = event_config_new();
  // One loop per thread and no cross-thread calls into it (other threads poke an eventfd), so
  // libevent's internal locking is pure overhead.
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  base_ = event_base_new_with_config(cfg);
  event_config_free(cfg);
  connect_timeout_ = CommonTimeout(base_, config.timeouts.connect_ms);
  request_timeout_ = CommonTimeout(base_, config.timeouts.request_ms);
  client_idle_timeout_ = CommonTimeout(base_, config.timeouts.client_idle_ms);
  header_timeout_ = CommonTimeout(base_, config.timeouts.header_read_ms);
  upstream_idle_timeout_ = CommonTimeout(base_, config.timeouts.upstream_idle_ms);
  wakeup_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wakeup_event_ = event_new(base_, wakeup_fd_, EV_READ | EV_PERSIST, &OnWakeup, this);
  event_add(wakeup_event_, nullptr);
  deferred_event_ = event_new(base_, -1, 0, &OnDeferredDelete, this);
  scratch_.reserve(4096);
  thrift_ = std::make_unique<ThriftConnections>(*this);
}

Worker::~Worker() {
  Join();
  CloseListeners();
  // Connections first (they reference pools), then pools, then the loop.
  while (!downstreams_.empty()) downstreams_.front()->Close();
  thrift_->CloseAll();
  deferred_.clear();
  thrift_.reset();
  pools_.clear();
  deferred_.clear();
  leases_.clear();
  if (wakeup_event_) event_free(wakeup_event_);
  if (deferred_event_) event_free(deferred_event_);
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
  if (base_) event_base_free(base_);
}

Status Worker::Listen() {
  listeners_.reserve(config_.listeners.size());
  for (const ListenerConfig& l : config_.listeners) {
    auto addr = ParseNetAddress(l.listen);
    if (!addr.ok()) return addr.status();
    auto fd = ListenReusePort(addr.value(), 1024);
    if (!fd.ok()) return Status::IoError("listener '" + l.name + "': " + fd.status().message());
    listeners_.push_back(ListenSocket{this, &l, fd.value(), nullptr});
  }
  for (ListenSocket& s : listeners_) {
    s.ev = event_new(base_, s.fd, EV_READ | EV_PERSIST, &OnAccept, &s);
    event_add(s.ev, nullptr);
  }
  return Status::Ok();
}

void Worker::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("cm-worker-" + std::to_string(index_)).c_str());
    event_base_loop(base_, 0);
  });
}

void Worker::BeginDrain() {
  draining_.store(true);
  uint64_t one = 1;
  ssize_t ignored = write(wakeup_fd_, &one, sizeof(one));
  (void)ignored;
}

void Worker::Stop() {
  stop_requested_.store(true);
  uint64_t one = 1;
  ssize_t ignored = write(wakeup_fd_, &one, sizeof(one));
  (void)ignored;
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::OnWakeup(evutil_socket_t fd, short, void* arg) {
  uint64_t value;
  ssize_t ignored = read(fd, &value, sizeof(value));
  (void)ignored;
  static_cast<Worker*>(arg)->HandleCommands();
}

void Worker::HandleCommands() {
  if (draining_.load()) {
    CloseListeners();
    std::vector<DownstreamConnection*> all;
    for (auto& d : downstreams_) all.push_back(d.get());
    for (DownstreamConnection* d : all) d->Drain();
    thrift_->DrainAll();
    for (auto& p : pools_) {
      if (p) p->CloseIdle();
    }
  }
  if (stop_requested_.load()) event_base_loopbreak(base_);
}

void Worker::CloseListeners() {
  for (ListenSocket& s : listeners_) {
    if (s.ev) event_free(s.ev);
    s.ev = nullptr;
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
  }
}

void Worker::OnAccept(evutil_socket_t fd, short, void* arg) {
  auto* socket = static_cast<ListenSocket*>(arg);
  Worker* self = socket->worker;
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int client =
        accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      if (errno == EMFILE || errno == ENFILE) {
        LOG_ERROR << "accept: " << std::strerror(errno) << " (raise the file descriptor limit)";
      }
      return;
    }
    SetTcpNoDelay(client);
    if (socket->config->protocol == "thrift") {
      self->thrift_->Accept(*socket->config, client, reinterpret_cast<sockaddr*>(&peer));
      continue;
    }
    self->downstreams_.push_back(std::make_unique<DownstreamConnection>(
        *self, *socket->config, client, reinterpret_cast<sockaddr*>(&peer)));
    DownstreamConnection* conn = self->downstreams_.back().get();
    conn->self = std::prev(self->downstreams_.end());
    conn->Start();
  }
}

void Worker::RemoveDownstream(DownstreamConnection* connection) {
  if (connection->self == downstreams_.end()) return;
  std::unique_ptr<DownstreamConnection> owned = std::move(*connection->self);
  downstreams_.erase(connection->self);
  connection->self = downstreams_.end();
  DeferDelete(std::move(owned));
}

void Worker::DeferDelete(std::unique_ptr<DeferredDeletable> object) {
  if (deferred_.empty()) event_active(deferred_event_, EV_TIMEOUT, 0);
  deferred_.push_back(std::move(object));
}

void Worker::OnDeferredDelete(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  std::vector<std::unique_ptr<DeferredDeletable>> doomed;
  doomed.swap(self->deferred_);
  doomed.clear();
  if (!self->deferred_.empty()) event_active(self->deferred_event_, EV_TIMEOUT, 0);
}

Worker::RoutesLease* Worker::AcquireRoutes() {
  uint64_t generation = publisher_->generation();
  if (leases_.empty() || generation != routes_generation_) {
    routes_generation_ = generation;
    leases_.push_back(RoutesLease{publisher_->Current(), 0});
    for (auto it = leases_.begin(); std::next(it) != leases_.end();) {
      it = it->users == 0 ? leases_.erase(it) : std::next(it);
    }
    // Walking every instance is O(instances): do it at most every few seconds, not on each of
    // the many snapshots a busy ServerSet produces.
    int64_t now = SteadyMillis();
    if (now - last_pool_collection_ms_ >= kPoolCollectionIntervalMs) {
      last_pool_collection_ms_ = now;
      CollectIdlePools();
    }
  }
  RoutesLease& current = leases_.back();
  ++current.users;
  return &current;
}

void Worker::ReleaseRoutes(RoutesLease* lease) {
  if (--lease->users > 0 || lease == &leases_.back()) return;
  for (auto it = leases_.begin(); it != leases_.end(); ++it) {
    if (&*it == lease) {
      leases_.erase(it);
      return;
    }
  }
}

void Worker::CollectIdlePools() {
  // Pools of instances that left the route table go once nothing uses them.
  std::unordered_set<uint64_t> live;
  for (const RoutesLease& lease : leases_) {
    for (const auto& svc : lease.table->services()) {
      for (const auto& v : svc->versions) {
        for (const auto& inst : v.instances) live.insert(inst->id());
      }
    }
  }
  for (auto& pool : pools_) {
    if (pool && !live.count(pool->instance()->id()) && pool->Unused()) {
      pool->CloseIdle();
      if (pool->connection_count() == 0) pool.reset();
    }
  }
}

UpstreamPool& Worker::PoolFor(const std::shared_ptr<UpstreamInstance>& instance) {
  size_t id = static_cast<size_t>(instance->id());
  if (id >= pools_.size()) pools_.resize(id + 1 + pools_.size() / 2);
  if (!pools_[id]) pools_[id] = std::make_unique<UpstreamPool>(*this, instance);
  return *pools_[id];
}

}  // namespace canarymesh::router
