// ContractHttpServer: a small in-process HTTP/1.1 server (plain or TLS) that hands each request to
// a handler function. The fake engines (FakeMarathon, FakeKubernetes) are built on it; it serves
// one connection at a time on its own thread, one request per connection (the bridge's client
// closes after each call). Thread-safe: Start/Stop from the owning thread; the handler runs on the
// server thread, so handlers lock their own state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge::testing {

struct ContractRequest {
  std::string method;
  std::string path;                                          // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(std::string_view lower_case_name) const;
  std::vector<std::string> QueryValues(std::string_view key) const;
  std::string QueryValue(std::string_view key) const;  // first value or ""
  bool HasQuery(std::string_view key) const;
};

struct ContractResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static ContractResponse Json(unsigned status, const nlohmann::json& body);
};

class ContractHttpServer {
 public:
  using Handler = std::function<ContractResponse(const ContractRequest&)>;

  explicit ContractHttpServer(Handler handler);
  ~ContractHttpServer();
  ContractHttpServer(const ContractHttpServer&) = delete;
  ContractHttpServer& operator=(const ContractHttpServer&) = delete;

  // Listens on 127.0.0.1 on a free port. StartTls serves HTTPS with the given PEM files.
  Status Start();
  Status StartTls(const std::string& cert_file, const std::string& key_file);
  void Stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canarymesh::bridge::testing
