// Health checks of the local instance, run by the Announcer before it announces it: an HTTP GET
// that must answer 2xx, or a plain TCP connect. Blocking, bounded by a timeout.
// Thread-safe: no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace canarymesh {

struct HealthCheckConfig {
  enum class Kind { kHttp, kTcp };
  Kind kind = Kind::kTcp;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string http_path = "/health";        // kHttp only
  std::chrono::milliseconds timeout{1000};  // for the whole check
};

Status ValidateHealthCheck(const HealthCheckConfig& check);

// Ok when healthy; otherwise the reason ("connect 127.0.0.1:8080: Connection refused",
// "GET /health: status 503").
Status RunHealthCheck(const HealthCheckConfig& check);

}  // namespace canarymesh
