#include "app/rollout_command.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "scheduler-bridge/http/http_client.h"
#include "scheduler-bridge/http/http_url.h"

namespace canarymesh {
namespace {

constexpr int kUsage = 2;

struct Answer {
  unsigned status = 0;
  nlohmann::json body;
};

class BridgeClient {
 public:
  BridgeClient(bridge::HttpUrl url, std::string token)
      : url_(std::move(url)), token_(std::move(token)) {}

  Result<Answer> Call(const std::string& method, const std::string& target,
                      const nlohmann::json* body = nullptr) {
    Result<Answer> answer = CallAt(url_, method, target, body);
    // A follower names the leader ("host:port pid N"): send the change there once.
    if (answer.ok() && answer->status == 503 && answer->body.contains("leader") &&
        answer->body["leader"].is_string()) {
      std::string leader = answer->body["leader"].get<std::string>();
      leader = leader.substr(0, leader.find(' '));
      auto url = bridge::ParseHttpUrl("http://" + leader);
      if (!leader.empty() && url.ok() && url->ToString() != url_.ToString()) {
        std::fprintf(stderr, "rollout: %s is not the leader; asking %s\n", url_.ToString().c_str(),
                     leader.c_str());
        return CallAt(url.value(), method, target, body);
      }
    }
    return answer;
  }

 private:
  Result<Answer> CallAt(const bridge::HttpUrl& url, const std::string& method,
                        const std::string& target, const nlohmann::json* body) {
    bridge::HttpClientOptions options;
    options.connect_timeout_ms = 3000;
    options.request_timeout_ms = 30000;
    bridge::HttpClient client(url, options);
    bridge::HttpRequest request;
    request.method = method;
    request.target = target;
    if (!token_.empty()) request.headers.push_back({"Authorization", "Bearer " + token_});
    if (body != nullptr) {
      request.content_type = "application/json";
      request.body = body->dump();
    }
    auto response = client.Send(request);
    if (!response.ok())
      return Status::Unavailable("bridge " + url.ToString() + ": " + response.status().message());
    Answer answer;
    answer.status = response->status;
    answer.body = nlohmann::json::parse(response->body, nullptr, false);
    if (answer.body.is_discarded()) answer.body = {{"error", response->body}};
    return answer;
  }

  bridge::HttpUrl url_;
  std::string token_;
};

std::string Clock(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

int Fail(const Answer& a) {
  std::fprintf(stderr, "rollout: HTTP %u: %s\n", a.status, Str(a.body, "error").c_str());
  return a.status == 401 || a.status == 400 ? kUsage : 1;
}

void PrintTransition(const nlohmann::json& h) {
  std::string stage = Str(h, "stage");
  if (stage == "canary") stage += " step " + std::to_string(Int(h, "step") + 1);
  std::printf("%s  %-22s %s\n", Clock(Int(h, "at_ms")).c_str(), stage.c_str(),
              Str(h, "note").c_str());
}

void PrintVerdict(const nlohmann::json& v) {
  const nlohmann::json& input =
      v.value("report", nlohmann::json::object()).value("input", nlohmann::json::object());
  auto counts = [&](const char* side) {
    const nlohmann::json s = input.value(side, nlohmann::json::object());
    return std::to_string(Int(s, "errors")) + "/" + std::to_string(Int(s, "requests"));
  };
  std::printf("%s    verdict %-14s step %lld (%lld%%): canary errors %s, baseline %s: %s\n",
              Clock(Int(v, "at_ms")).c_str(), Str(v, "verdict").c_str(),
              static_cast<long long>(Int(v, "step") + 1), static_cast<long long>(Int(v, "weight")),
              counts("canary").c_str(), counts("baseline").c_str(), Str(v, "reason").c_str());
}

bool Terminal(const std::string& stage) {
  return stage == "promoted" || stage == "rolled_back" || stage == "failed" || stage == "aborted";
}

int Outcome(const nlohmann::json& record) {
  const std::string stage = Str(record, "stage");
  if (stage == "promoted") {
    std::printf("rollout %s: promoted: %s\n", Str(record, "id").c_str(),
                Str(record, "final_reason").c_str());
    return 0;
  }
  std::printf("rollout %s: %s: %s\n", Str(record, "id").c_str(), stage.c_str(),
              Str(record, "final_reason").c_str());
  return 1;
}

// Follows a rollout until it finishes, printing what is new at each poll.
int Follow(BridgeClient& client, const std::string& id, const RolloutClientOptions& o) {
  size_t history_printed = 0;
  std::set<std::string> verdicts_printed;  // "step/verdict/at_ms"
  std::map<int64_t, int64_t>
      undecided_printed_at;  // step -> when its last NEED_MORE_DATA was shown
  int64_t unreachable_since = 0;
  std::string last_error;
  for (;;) {
    auto answer = client.Call("GET", "/v1/rollouts/" + id);
    if (!answer.ok() || answer->status >= 500) {
      const int64_t now = SteadyMillis();
      if (unreachable_since == 0) {
        unreachable_since = now;
        std::fprintf(
            stderr, "rollout: %s; still waiting\n",
            answer.ok() ? Str(answer->body, "error").c_str() : answer.status().message().c_str());
      } else if (now - unreachable_since > static_cast<int64_t>(o.unreachable_grace_ms)) {
        std::fprintf(stderr, "rollout: gave up: the bridge has not answered for %u s\n",
                     o.unreachable_grace_ms / 1000);
        return kUsage;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
      continue;
    }
    unreachable_since = 0;
    if (answer->status != 200) return Fail(answer.value());
    const nlohmann::json& r = answer->body;
    const nlohmann::json history = r.value("history", nlohmann::json::array());
    const nlohmann::json verdicts = r.value("verdicts", nlohmann::json::array());
    // Verdicts and transitions interleave by time: print verdicts up to each transition first.
    auto print_verdicts_until = [&](int64_t until_ms) {
      for (const auto& v : verdicts) {
        if (Int(v, "at_ms") > until_ms) continue;
        const std::string verdict = Str(v, "verdict");
        const std::string key =
            std::to_string(Int(v, "step")) + "/" + verdict + "/" + std::to_string(Int(v, "at_ms"));
        if (verdicts_printed.count(key)) continue;
        if (verdict == "NEED_MORE_DATA") {
          // The latest undecided look changes every tick: show it every few seconds only.
          int64_t& shown = undecided_printed_at[Int(v, "step")];
          if (Int(v, "at_ms") - shown < 5000) continue;
          shown = Int(v, "at_ms");
        }
        verdicts_printed.insert(key);
        PrintVerdict(v);
      }
    };
    for (; history_printed < history.size(); ++history_printed) {
      print_verdicts_until(Int(history[history_printed], "at_ms"));
      PrintTransition(history[history_printed]);
    }
    print_verdicts_until(INT64_MAX);
    const std::string error = Str(r, "last_error");
    if (!error.empty() && error != last_error)
      std::printf("%s    (retrying: %s)\n", Clock(UnixMillis()).c_str(), error.c_str());
    last_error = error;
    for (const auto& w : r.value("warnings", nlohmann::json::array())) {
      const std::string key = "warning/" + w.dump();
      if (verdicts_printed.insert(key).second)
        std::printf("          warning: %s\n", w.get<std::string>().c_str());
    }
    std::fflush(stdout);
    if (Terminal(Str(r, "stage"))) {
      if (!Str(r, "check_output").empty() && Str(r, "stage") != "promoted") {
        std::printf("integration check output (last lines):\n%s\n", Str(r, "check_output").c_str());
      }
      return Outcome(r);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
  }
}

Result<std::vector<uint32_t>> ParseSteps(const std::string& text) {
  std::vector<uint32_t> steps;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    char* end = nullptr;
    const long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 1 || v > 99) {
      return Status::InvalidArgument("--steps: '" + part +
                                     "' is not a percentage between 1 and 99");
    }
    steps.push_back(static_cast<uint32_t>(v));
  }
  if (steps.empty()) return Status::InvalidArgument("--steps: empty");
  return steps;
}

int Start(BridgeClient& client, const RolloutClientOptions& o) {
  nlohmann::json request = {{"service", o.service}, {"version", o.version}};
  if (!o.artifact.empty()) request["artifact"] = o.artifact;
  if (!o.image.empty()) request["image"] = o.image;
  if (o.instances >= 0) request["instances"] = o.instances;
  if (!o.steps.empty()) {
    auto steps = ParseSteps(o.steps);
    if (!steps.ok()) {
      std::fprintf(stderr, "rollout: %s\n", steps.status().message().c_str());
      return kUsage;
    }
    request["steps"] = steps.value();
  }
  if (o.pause_before_promote) request["pause_before_promote"] = true;
  if (!o.integration_check.empty()) request["integration_check"] = o.integration_check;
  if (o.min_step_requests >= 0) request["min_step_requests"] = o.min_step_requests;
  if (o.min_step_duration_ms >= 0) request["min_step_duration_ms"] = o.min_step_duration_ms;
  if (o.step_timeout_ms >= 0) request["step_timeout_ms"] = o.step_timeout_ms;
  auto answer = client.Call("POST", "/v1/rollouts", &request);
  if (!answer.ok()) {
    std::fprintf(stderr, "rollout: %s\n", answer.status().message().c_str());
    return kUsage;
  }
  if (answer->status != 201) return Fail(answer.value());
  const std::string id = Str(answer->body, "id");
  std::printf("rollout %s started: %s %s -> %s\n", id.c_str(), o.service.c_str(),
              Str(answer->body, "baseline_version").c_str(), o.version.c_str());
  std::fflush(stdout);
  return o.wait ? Follow(client, id, o) : 0;
}

void PrintRecord(const nlohmann::json& r) {
  std::printf("rollout %s: %s %s -> %s\n", Str(r, "id").c_str(), Str(r, "service").c_str(),
              Str(r, "baseline_version").c_str(), Str(r, "version").c_str());
  std::printf("  stage: %s%s, canary weight %lld%%\n", Str(r, "stage").c_str(),
              Str(r, "phase").empty() ? "" : (" (" + Str(r, "phase") + ")").c_str(),
              static_cast<long long>(Int(r, "canary_weight")));
  std::printf("  steps: %s\n", r.value("options", nlohmann::json::object())
                                   .value("steps", nlohmann::json::array())
                                   .dump()
                                   .c_str());
  for (const auto& h : r.value("history", nlohmann::json::array())) PrintTransition(h);
  for (const auto& v : r.value("verdicts", nlohmann::json::array())) PrintVerdict(v);
  for (const auto& w : r.value("warnings", nlohmann::json::array()))
    std::printf("  warning: %s\n", w.get<std::string>().c_str());
  if (!Str(r, "last_error").empty())
    std::printf("  last error: %s\n", Str(r, "last_error").c_str());
  if (!Str(r, "final_reason").empty())
    std::printf("  reason: %s\n", Str(r, "final_reason").c_str());
}

int ShowStatus(BridgeClient& client, const RolloutClientOptions& o) {
  auto answer = client.Call("GET", o.id.empty() ? "/v1/rollouts" : "/v1/rollouts/" + o.id);
  if (!answer.ok()) {
    std::fprintf(stderr, "rollout: %s\n", answer.status().message().c_str());
    return kUsage;
  }
  if (answer->status != 200) return Fail(answer.value());
  if (o.json) {
    std::printf("%s\n", answer->body.dump(2).c_str());
  } else if (!o.id.empty()) {
    PrintRecord(answer->body);
  } else {
    std::printf("%-36s %-12s %-8s %-8s %-19s %6s  %s\n", "ID", "SERVICE", "FROM", "TO", "STAGE",
                "WEIGHT", "REASON");
    for (const auto& r : answer->body.value("rollouts", nlohmann::json::array())) {
      std::printf("%-36s %-12s %-8s %-8s %-19s %5lld%%  %s\n", Str(r, "id").c_str(),
                  Str(r, "service").c_str(), Str(r, "baseline_version").c_str(),
                  Str(r, "version").c_str(), Str(r, "stage").c_str(),
                  static_cast<long long>(Int(r, "canary_weight")), Str(r, "final_reason").c_str());
    }
  }
  return 0;
}

}  // namespace

int RunRolloutClient(const RolloutClientOptions& o) {
  auto url = bridge::ParseHttpUrl(o.bridge);
  if (!url.ok()) {
    std::fprintf(stderr, "rollout: --bridge %s: %s\n", o.bridge.c_str(),
                 url.status().message().c_str());
    return kUsage;
  }
  BridgeClient client(url.value(), o.token);
  if (o.action == "start") return Start(client, o);
  if (o.action == "status") return ShowStatus(client, o);
  if (o.action == "promote" || o.action == "abort") {
    auto answer = client.Call("POST", "/v1/rollouts/" + o.id + "/" + o.action);
    if (!answer.ok()) {
      std::fprintf(stderr, "rollout: %s\n", answer.status().message().c_str());
      return kUsage;
    }
    if (answer->status != 200) return Fail(answer.value());
    std::printf("rollout %s: %s requested (stage %s)\n", o.id.c_str(), o.action.c_str(),
                Str(answer->body, "stage").c_str());
    return 0;
  }
  std::fprintf(stderr, "rollout: unknown action %s\n", o.action.c_str());
  return kUsage;
}

}  // namespace canarymesh
