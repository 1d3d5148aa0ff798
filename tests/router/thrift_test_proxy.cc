#include "tests/router/thrift_test_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "router/shard_recorder.h"
#include "router/thrift_connections.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {

ThriftTestProxy::ThriftTestProxy(const std::map<std::string, std::string>& listeners,
                                 const std::string& yaml, uint32_t workers) {
  std::vector<int> reservations;
  std::map<std::string, uint16_t> ports;
  std::string full = "workers: " + std::to_string(workers) + "\nlisteners:\n";
  for (const auto& [name, rest] : listeners) {
    uint16_t port = 0;
    reservations.push_back(ReservePort(&port));
    ports[name] = port;
    full += "  - {name: " + name + ", listen: \"127.0.0.1:" + std::to_string(port) + "\"" +
            (rest.empty() ? "" : ", " + rest) + "}\n";
  }
  full += yaml;
  auto release = [&] {
    for (int fd : reservations) close(fd);
  };
  auto parsed = ParseProxyConfig(full, "test.yaml");
  if (!parsed.ok()) {
    release();
    ADD_FAILURE() << parsed.status().message();
    return;
  }
  config_ = std::move(parsed.value());
  stats_ = std::make_unique<canary::StatsRegistry>(workers);
  publisher_ = std::make_unique<RouteTablePublisher>(
      config_,
      [this](const std::string& service, const std::string& version, const std::string& protocol) {
        auto key = stats_->Resolve(service, version, protocol);
        return key.ok() ? key.value() : static_cast<uint32_t>(canary::StatsRegistry::kMaxKeys);
      });
  for (uint32_t i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, config_, publisher_.get(),
                                                std::make_unique<ShardRecorder>(*stats_, i)));
    Status s = workers_.back()->Listen();
    if (!s.ok()) {
      release();
      ADD_FAILURE() << s.message();
      return;
    }
  }
  release();
  for (auto& w : workers_) w->Start();
  ports_ = ports;
}

ThriftTestProxy::~ThriftTestProxy() {
  for (auto& w : workers_) w->BeginDrain();
  WaitUntil([this] { return ActiveRequests() == 0; }, std::chrono::milliseconds(5000));
  for (auto& w : workers_) w->Stop();
  for (auto& w : workers_) w->Join();
  workers_.clear();
}

canary::VersionStatsSnapshot ThriftTestProxy::ThriftStats(const std::string& service,
                                                          const std::string& version) {
  auto key = stats_->Resolve(service, version, "thrift");
  if (!key.ok()) return {};
  return stats_->Read(key.value(), SteadyMillis());
}

uint64_t ThriftTestProxy::ThriftCounter(std::atomic<uint64_t> ThriftCounters::*field) const {
  uint64_t sum = 0;
  for (const auto& w : workers_)
    sum += (w->thrift().counters().*field).load(std::memory_order_relaxed);
  return sum;
}

uint64_t ThriftTestProxy::RouterCounter(std::atomic<uint64_t> RouterCounters::*field) const {
  uint64_t sum = 0;
  for (const auto& w : workers_) sum += (w->counters().*field).load(std::memory_order_relaxed);
  return sum;
}

uint64_t ThriftTestProxy::ProtocolErrors(const std::string& listener,
                                         ThriftProtocolError reason) const {
  for (size_t i = 0; i < config_.listeners.size(); ++i) {
    if (config_.listeners[i].name != listener) continue;
    uint64_t sum = 0;
    for (const auto& w : workers_) sum += w->thrift().counters().ProtocolErrors(i, reason);
    return sum;
  }
  return 0;
}

size_t ThriftTestProxy::ActiveRequests() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->ActiveRequests();
  return n;
}

}  // namespace canarymesh::router::testing
