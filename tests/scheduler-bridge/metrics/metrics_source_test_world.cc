#include "tests/scheduler-bridge/metrics/metrics_source_test_world.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace canarymesh::bridge::testing {

using namespace std::chrono_literals;
using canarymesh::testing::PickFreePort;
using canarymesh::testing::WaitUntil;

namespace {

HttpClient Client(uint16_t port) {
  HttpClientOptions options;
  options.connect_timeout_ms = 2000;
  options.request_timeout_ms = 10000;
  return HttpClient(HttpUrl{"http", "127.0.0.1", port, ""}, options);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
}

}  // namespace

bool WaitHttpOk(uint16_t port, const std::string& path) {
  return WaitUntil(
      [&] {
        HttpRequest request;
        request.target = path;
        auto response = Client(port).Send(request);
        return response.ok() && response->status == 200;
      },
      60s);
}

void SidecarWorld::SetUp() {
  char pattern[] = "/tmp/cm-metrics-source-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  dir_ = pattern;
  Status started = zk_.Start();
  ASSERT_TRUE(started.ok()) << started.message();
  auto session = ZkSession::Create(zk_.client_config());
  ASSERT_TRUE(session.ok() && session.value()->WaitConnected(30s));
  session_ = std::move(session.value());

  uint16_t v1_port = PickFreePort();
  uint16_t v2_port = PickFreePort();
  ASSERT_TRUE(
      v1_.Spawn({CANARYMESH_SAMPLE_BINARY, "--listen", "127.0.0.1:" + std::to_string(v1_port),
                 "--version", "v1", "--service", "shop"},
                dir_ + "/v1.log")
          .ok());
  ASSERT_TRUE(
      v2_.Spawn({CANARYMESH_SAMPLE_BINARY, "--listen", "127.0.0.1:" + std::to_string(v2_port),
                 "--version", "v2", "--service", "shop", "--error-rate", "1"},
                dir_ + "/v2.log")
          .ok());
  ASSERT_TRUE(WaitHttpOk(v1_port, "/")) << Logs();
  // v2 answers 500 to everything: wait for any answer at all.
  ASSERT_TRUE(WaitUntil(
      [&] {
        HttpRequest request;
        request.target = "/";
        return Client(v2_port).Send(request).ok();
      },
      60s))
      << Logs();

  listen_port_ = PickFreePort();
  admin_port_ = PickFreePort();
  config_path_ = dir_ + "/proxy.yaml";
  std::ofstream config(config_path_);
  // Ejection off: v2 fails every request by design and must still receive every one of them.
  config << "workers: 2\n"
         << "admin:\n  listen: \"127.0.0.1:" << admin_port_ << "\"\n"
         << "listeners:\n  - name: main\n    listen: \"127.0.0.1:" << listen_port_ << "\"\n"
         << "outlier:\n  consecutive_failures: 0\n"
         << "retries:\n  max_attempts: 1\n"
         << "zookeeper:\n  connect: \"" << zk_.connect_string() << "\"\n"
         << "  session_timeout_ms: 4000\n  sidecars_path: " << kSidecarsPath << "\n"
         << "services:\n  - name: shop\n    hosts: [shop]\n"
         << "    versions:\n      v1: [\"127.0.0.1:" << v1_port << "\"]\n"
         << "      v2: [\"127.0.0.1:" << v2_port << "\"]\n"
         << "    route:\n      weights: {v1: 50, v2: 50}\n";
  config.close();
  Status proxy = StartProxy();
  ASSERT_TRUE(proxy.ok()) << proxy.message() << "\n" << Logs();
}

Status SidecarWorld::StartProxy() {
  Status spawned =
      proxy_.Spawn({CANARYMESH_BINARY, "proxy", "--config", config_path_}, dir_ + "/proxy.log");
  if (!spawned.ok()) return spawned;
  if (!WaitHttpOk(admin_port_, "/ready")) return Status::Unavailable("proxy never became ready");
  return Status::Ok();
}

void SidecarWorld::TearDown() {
  for (auto* process : {&proxy_, &v1_, &v2_}) {
    if (process->running()) {
      process->Kill(SIGTERM);
      if (!process->Wait(20s)) process->Kill(SIGKILL);
      process->Wait(10s);
    }
  }
  session_.reset();
  zk_.Stop();
  if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
}

Result<std::pair<unsigned, std::string>> SidecarWorld::SendThroughProxy(
    const std::string& version) {
  HttpRequest request;
  request.target = "/buy";
  request.headers.emplace_back("Host", "shop");
  if (!version.empty()) request.headers.emplace_back("x-canary-version", "shop=" + version);
  auto response = Client(listen_port_).Send(request);
  if (!response.ok()) return response.status();
  return std::make_pair(response->status, response->Header("x-served-by-version"));
}

Result<HttpResponse> SidecarWorld::Admin(const std::string& path) {
  HttpRequest request;
  request.target = path;
  return Client(admin_port_).Send(request);
}

std::string SidecarWorld::Logs() const {
  std::string out;
  for (const char* name : {"proxy.log", "v1.log", "v2.log"}) {
    out += std::string("---- ") + name + " (" + dir_ + ")\n" + Tail(dir_ + "/" + name) + "\n";
  }
  return out;
}

}  // namespace canarymesh::bridge::testing
