// BridgeApi: the bridge's HTTP JSON API as a pure function from request to response, so it can
// be served by any HTTP server (app/ uses its evhttp AdminServer) and tested without sockets.
//   GET  /v1/rollouts                 list (newest first)
//   POST /v1/rollouts                 start one (bearer token) -> 201 {"id", ...}
//   GET  /v1/rollouts/{id}            the full record: stages, verdicts with their inputs
//   POST /v1/rollouts/{id}/promote    release the manual gate (bearer token)
//   POST /v1/rollouts/{id}/abort      roll back (bearer token)
//   GET  /v1/leader                   this bridge, the leader
//   GET  /metrics, GET /health
// Errors are JSON {"error": "..."} with 400/401/404/405/409/503. Thread-safe.
#pragma once

#include <string>

#include "scheduler-bridge/rollout/bridge_service.h"

namespace canarymesh::bridge {

struct ApiRequest {
  std::string method;
  std::string path;  // without the query
  std::string body;
  std::string authorization;  // the Authorization header, "" when absent
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class BridgeApi {
 public:
  // `token` must not be empty: every change needs "Authorization: Bearer <token>".
  BridgeApi(BridgeService& service, Leadership& leadership, std::string token);
  ApiResponse Handle(const ApiRequest& request) const;

 private:
  bool Authorized(const std::string& authorization) const;

  BridgeService& service_;
  Leadership& leadership_;
  const std::string token_;
};

}  // namespace canarymesh::bridge
