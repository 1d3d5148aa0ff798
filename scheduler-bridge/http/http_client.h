// HttpClient: a small synchronous HTTP/1.1 client (Boost.Beast) for talking to cluster engines'
// REST APIs over http or https (OpenSSL: CA verification plus host-name check, SNI). One
// connection per call, closed afterwards: control-plane traffic, a few calls a second at most.
// Thread-safe: Send() keeps all its state (io_context, TLS context, socket) on its own stack, so
// any number of threads may call it at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/http/http_url.h"

namespace canarymesh::bridge {

struct HttpClientOptions {
  uint32_t connect_timeout_ms = 5'000;   // name lookup + TCP connect
  uint32_t request_timeout_ms = 30'000;  // the whole call: lookup, connect, TLS, write, read
  // https only. Trusted CAs: a PEM file and/or PEM text (kubeconfig certificate-authority-data);
  // when both are empty the system's default store is used.
  std::string ca_file;
  std::string ca_pem;
  size_t max_response_bytes = 32u << 20;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, appended to the URL's base path: "/v2/apps?force=true"
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  std::string content_type;                                  // sent with the body when non-empty
  std::string body;
};

struct HttpResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(HttpUrl url, HttpClientOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  // Any status code the server answers with is a successful call; a Status error means no answer:
  // Unavailable for lookup/connect failures and timeouts, IoError for TLS failures (with
  // OpenSSL's reason, e.g. "certificate verify failed: hostname mismatch") and broken responses,
  // InvalidArgument for an unknown method or an unreadable CA.
  Result<HttpResponse> Send(const HttpRequest& request) const;

  const HttpUrl& url() const { return url_; }

 private:
  HttpUrl url_;
  HttpClientOptions options_;
};

}  // namespace canarymesh::bridge
