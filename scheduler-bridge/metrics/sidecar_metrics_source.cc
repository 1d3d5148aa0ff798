#include "scheduler-bridge/metrics/sidecar_metrics_source.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "canary/version_stats_json.h"
#include "discovery/serverset_member.h"
#include "discovery/zk_ops.h"
#include "scheduler-bridge/http/http_client.h"

namespace canarymesh::bridge {
namespace {

// What one sidecar answered.
struct SidecarAnswer {
  enum class Kind { kStats, kNotRouted, kFailed } kind = Kind::kFailed;
  VersionSnapshots versions;
  std::string error;
};

std::string EndpointId(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

SidecarAnswer AskSidecar(const SidecarEndpoint& sidecar, const std::string& service,
                         const SidecarMetricsSourceOptions& options) {
  SidecarAnswer answer;
  HttpUrl url{"http", sidecar.host, sidecar.port, ""};
  HttpClientOptions http;
  http.connect_timeout_ms = options.connect_timeout_ms;
  http.request_timeout_ms = options.request_timeout_ms;
  http.max_response_bytes = 16u << 20;
  HttpRequest request;
  request.target = "/admin/stats/" + PercentEncode(service);
  auto response = HttpClient(url, http).Send(request);
  if (!response.ok()) {
    answer.error = response.status().message();
    return answer;
  }
  if (response->status == 404) {
    answer.kind = SidecarAnswer::Kind::kNotRouted;
    return answer;
  }
  if (response->status != 200) {
    answer.error = "GET " + request.target + ": status " + std::to_string(response->status) + ": " +
                   response->body.substr(0, 200);
    return answer;
  }
  auto report = canary::ParseServiceStatsReport(response->body);
  if (!report.ok()) {
    answer.error = "GET " + request.target + ": " + report.status().message();
    return answer;
  }
  if (report->service != service) {
    answer.error = "GET " + request.target + ": answered for service '" + report->service + "'";
    return answer;
  }
  answer.kind = SidecarAnswer::Kind::kStats;
  answer.versions = std::move(report->versions);
  return answer;
}

}  // namespace

SidecarMetricsSource::SidecarMetricsSource(ZkSession& session, SidecarMetricsSourceOptions options)
    : session_(session), options_(std::move(options)) {}

std::string SidecarMetricsSource::Describe() const {
  return "sidecars under " + options_.sidecars_path + " (ZooKeeper " + session_.connect_string() +
         ")";
}

Result<std::vector<SidecarEndpoint>> SidecarMetricsSource::ListSidecars(
    std::vector<std::string>* bad) {
  auto children = ZkGetChildren(session_, options_.sidecars_path, false);
  if (!children.ok()) {
    if (children.status().code() == Status::Code::kNotFound) return std::vector<SidecarEndpoint>{};
    return Status::Unavailable("sidecar list at " + options_.sidecars_path + ": " +
                               children.status().message());
  }
  std::vector<SidecarEndpoint> sidecars;
  for (const std::string& name : children.value()) {
    if (name.rfind("member_", 0) != 0) continue;  // Finagle readers ignore other children
    std::string path = ZkJoinPath(options_.sidecars_path, name);
    auto data = ZkGetData(session_, path, false);
    if (!data.ok()) {
      if (data.status().code() == Status::Code::kNotFound) continue;  // left meanwhile
      return Status::Unavailable("sidecar member " + path + ": " + data.status().message());
    }
    auto member = ParseServerSetMember(data->data);
    if (!member.ok()) {
      if (bad != nullptr) bad->push_back(path + ": " + member.status().message());
      continue;
    }
    if (member->status != MemberStatus::kAlive) continue;
    const ServerSetEndpoint& endpoint = member->service_endpoint;
    std::string id = EndpointId(endpoint.host, endpoint.port);
    bool seen = std::any_of(sidecars.begin(), sidecars.end(),
                            [&id](const SidecarEndpoint& s) { return s.id == id; });
    if (!seen) sidecars.push_back(SidecarEndpoint{id, endpoint.host, endpoint.port});
  }
  return sidecars;
}

Result<ServiceMetrics> SidecarMetricsSource::Read(const std::string& service) {
  if (service.empty()) return Status::InvalidArgument("sidecar metrics: empty service name");
  ServiceMetrics metrics;
  auto sidecars = ListSidecars(&metrics.unreachable);
  if (!sidecars.ok()) return sidecars.status();
  if (sidecars->empty()) {
    return Status::Unavailable("sidecar metrics: no sidecar is announced under " +
                               options_.sidecars_path);
  }

  // One thread per sidecar up to max_parallel, each taking the next unasked sidecar.
  std::vector<SidecarAnswer> answers(sidecars->size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < answers.size(); i = next.fetch_add(1)) {
      answers[i] = AskSidecar((*sidecars)[i], service, options_);
    }
  };
  size_t threads = std::min<size_t>(std::max<uint32_t>(options_.max_parallel, 1), answers.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();

  size_t not_routed = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    const std::string& id = (*sidecars)[i].id;
    switch (answers[i].kind) {
      case SidecarAnswer::Kind::kStats:
        metrics.by_reporter[id] = std::move(answers[i].versions);
        break;
      case SidecarAnswer::Kind::kNotRouted:
        ++not_routed;
        break;
      case SidecarAnswer::Kind::kFailed:
        metrics.unreachable.push_back(id + ": " + answers[i].error);
        break;
    }
  }
  if (metrics.by_reporter.empty()) {
    std::string why = not_routed == answers.size()
                          ? "none of the " + std::to_string(answers.size()) +
                                " sidecars routes service '" + service + "'"
                          : "no sidecar could be read";
    for (const std::string& u : metrics.unreachable) why += "; " + u;
    return Status::Unavailable("sidecar metrics for " + service + ": " + why);
  }
  return metrics;
}

}  // namespace canarymesh::bridge
