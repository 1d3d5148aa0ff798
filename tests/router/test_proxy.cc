#include "tests/router/test_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "core/clock.h"
#include "router/shard_recorder.h"

namespace canarymesh::router::testing {

TestProxy::TestProxy(const std::string& yaml, uint32_t workers) {
  uint16_t port = 0;
  int reservation = ReservePort(&port);
  std::string full = "workers: " + std::to_string(workers) +
                     "\nlisteners:\n  - {name: test, listen: \"127.0.0.1:" + std::to_string(port) +
                     "\"}\n" + yaml;
  auto parsed = ParseProxyConfig(full, "test.yaml");
  if (!parsed.ok()) {
    close(reservation);
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
      close(reservation);
      ADD_FAILURE() << s.message();
      return;
    }
  }
  close(reservation);
  for (auto& w : workers_) w->Start();
  port_ = port;
}

TestProxy::~TestProxy() {
  if (!stopped_) {
    for (auto& w : workers_) w->BeginDrain();
    WaitUntil([this] { return ActiveRequests() == 0; }, std::chrono::milliseconds(5000));
    StopWithoutDrain();
  }
  workers_.clear();
}

void TestProxy::StopWithoutDrain() {
  for (auto& w : workers_) w->Stop();
  for (auto& w : workers_) w->Join();
  stopped_ = true;
}

void TestProxy::BeginDrain() {
  for (auto& w : workers_) w->BeginDrain();
}

uint64_t TestProxy::Counter(std::atomic<uint64_t> RouterCounters::*field) const {
  uint64_t sum = 0;
  for (const auto& w : workers_) sum += (w->counters().*field).load(std::memory_order_relaxed);
  return sum;
}

size_t TestProxy::ActiveRequests() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->ActiveRequests();
  return n;
}

canary::VersionStatsSnapshot TestProxy::VersionStats(const std::string& service,
                                                     const std::string& version) {
  auto key = stats_->Resolve(service, version, "http");
  if (!key.ok()) return {};
  return stats_->Read(key.value(), SteadyMillis());
}

std::shared_ptr<UpstreamInstance> TestProxy::Instance(const std::string& label) const {
  for (auto& instance : publisher_->Instances()) {
    if (instance->label() == label) return instance;
  }
  return nullptr;
}

uint64_t CurrentRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace canarymesh::router::testing
