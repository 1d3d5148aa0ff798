#include "router/http_exchange.h"

namespace canarymesh::router {
namespace {

bool IsIdempotent(int method) {
  switch (method) {
    case http::kMethodGet:
    case http::kMethodHead:
    case http::kMethodOptions:
    case http::kMethodTrace:
    case http::kMethodPut:
    case http::kMethodDelete:
      return true;
    default:
      return false;
  }
}

}  // namespace

void HttpExchange::Begin(const http::MessageHead& head, uint64_t now_us) {
  phase = Phase::kForwarding;
  request_complete = false;
  attempts = 0;
  failed_instance = nullptr;
  start_us = now_us;
  request_chunked = head.chunked;
  request_is_head = head.method_code == http::kMethodHead;
  request_idempotent = IsIdempotent(head.method_code);
  client_http11 = head.version_major == 1 && head.version_minor >= 1;
  client_keep_alive = head.keep_alive;
}

}  // namespace canarymesh::router
