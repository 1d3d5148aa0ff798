#include "scheduler-bridge/http/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <chrono>

namespace canarymesh::bridge {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Every step runs as an asynchronous operation on a private io_context, driven to completion
// right away: Beast enforces its timeouts only on asynchronous operations.
void RunUntilIdle(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

struct CallContext {
  std::string where;  // "GET https://host:port/path", prefixed to every error
  uint32_t connect_timeout_ms;
  uint32_t request_timeout_ms;
  Clock::time_point connect_deadline;
  Clock::time_point deadline;
};

Status TimeoutOrError(const CallContext& call, const beast::error_code& ec, const char* step,
                      bool connecting) {
  if (ec == beast::error::timeout) {
    if (connecting) {
      return Status::Unavailable(call.where + ": " + step + " timed out after " +
                                 std::to_string(call.connect_timeout_ms) + " ms");
    }
    return Status::Unavailable(call.where + ": no complete answer within " +
                               std::to_string(call.request_timeout_ms) + " ms (" + step + ")");
  }
  return Status::Unavailable(call.where + ": " + step + " failed: " + ec.message());
}

Result<tcp::resolver::results_type> Resolve(net::io_context& ioc, const HttpUrl& url,
                                            const CallContext& call) {
  tcp::resolver resolver(ioc);
  net::steady_timer timer(ioc, call.connect_deadline);
  bool timed_out = false;
  beast::error_code result_ec;
  tcp::resolver::results_type results;
  resolver.async_resolve(url.host, std::to_string(url.port),
                         [&](const beast::error_code& ec, tcp::resolver::results_type found) {
                           result_ec = ec;
                           results = std::move(found);
                           timer.cancel();
                         });
  timer.async_wait([&](const beast::error_code& ec) {
    if (!ec) {
      timed_out = true;
      resolver.cancel();
    }
  });
  RunUntilIdle(ioc);
  if (timed_out) return TimeoutOrError(call, beast::error::timeout, "name lookup", true);
  if (result_ec) {
    return Status::Unavailable(call.where + ": cannot resolve " + url.host + ": " +
                               result_ec.message());
  }
  return results;
}

Status Connect(net::io_context& ioc, beast::tcp_stream& stream,
               const tcp::resolver::results_type& endpoints, const CallContext& call) {
  beast::error_code result_ec;
  stream.expires_at(call.connect_deadline);
  stream.async_connect(endpoints,
                       [&](const beast::error_code& ec, const tcp::endpoint&) { result_ec = ec; });
  RunUntilIdle(ioc);
  if (result_ec) return TimeoutOrError(call, result_ec, "connect", true);
  return Status::Ok();
}

template <typename Stream>
Result<HttpResponse> Exchange(net::io_context& ioc, Stream& stream, beast::tcp_stream& lowest,
                              http::request<http::string_body>& request, size_t max_body,
                              const CallContext& call) {
  beast::error_code result_ec;
  lowest.expires_at(call.deadline);
  http::async_write(stream, request, [&](const beast::error_code& ec, size_t) { result_ec = ec; });
  RunUntilIdle(ioc);
  if (result_ec) return TimeoutOrError(call, result_ec, "sending the request", false);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(max_body);
  lowest.expires_at(call.deadline);
  http::async_read_header(stream, buffer, parser,
                          [&](const beast::error_code& ec, size_t) { result_ec = ec; });
  RunUntilIdle(ioc);
  if (result_ec == beast::error::timeout)
    return TimeoutOrError(call, result_ec, "reading the answer", false);
  if (result_ec)
    return Status::IoError(call.where + ": bad or cut-off answer: " + result_ec.message());
  // Beast 1.74 skips body_limit for a Content-Length body that arrives with its header in one
  // read, so the declared length is checked here as well.
  if (parser.content_length() && *parser.content_length() > max_body) {
    return Status::IoError(call.where + ": answer of " + std::to_string(*parser.content_length()) +
                           " bytes exceeds the limit of " + std::to_string(max_body));
  }
  if (!parser.is_done()) {
    http::async_read(stream, buffer, parser,
                     [&](const beast::error_code& ec, size_t) { result_ec = ec; });
    RunUntilIdle(ioc);
  }
  if (result_ec == beast::error::timeout)
    return TimeoutOrError(call, result_ec, "reading the answer", false);
  if (result_ec)
    return Status::IoError(call.where + ": bad or cut-off answer: " + result_ec.message());

  auto& message = parser.get();
  HttpResponse response;
  response.status = message.result_int();
  for (const auto& field : message.base()) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  return response;
}

Status ConfigureTls(ssl::context& ctx, const HttpClientOptions& options, const std::string& where) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (!options.ca_file.empty()) {
    ctx.load_verify_file(options.ca_file, ec);
    if (ec)
      return Status::InvalidArgument(where + ": cannot load CA file " + options.ca_file + ": " +
                                     ec.message());
  }
  if (!options.ca_pem.empty()) {
    ctx.add_certificate_authority(net::buffer(options.ca_pem), ec);
    if (ec)
      return Status::InvalidArgument(where +
                                     ": cannot load the CA certificate data: " + ec.message());
  }
  if (options.ca_file.empty() && options.ca_pem.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec)
      return Status::InvalidArgument(where + ": cannot load the system CA store: " + ec.message());
  }
  return Status::Ok();
}

// SNI plus OpenSSL's own host check (X509_check_host / X509_check_ip, the same check as asio's
// host_name_verification) so that a mismatch is reported as "hostname mismatch" rather than a
// bare "certificate verify failed".
Status PrepareTlsSession(SSL* ssl_handle, const HttpUrl& url, const std::string& where) {
  bool ip = url.host_is_ip_literal();
  if (!ip && SSL_set_tlsext_host_name(ssl_handle, url.host.c_str()) != 1) {
    return Status::Internal(where + ": cannot set TLS server name");
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
              : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
  if (ok != 1) return Status::Internal(where + ": cannot set the expected certificate name");
  return Status::Ok();
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0)
      return value;
  }
  return "";
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) const {
  CallContext call;
  call.where = request.method + " " + url_.ToString() + request.target;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown)
    return Status::InvalidArgument(call.where + ": unknown HTTP method");
  if (request.target.empty() || request.target.front() != '/') {
    return Status::InvalidArgument(call.where + ": request target must start with '/'");
  }
  call.connect_timeout_ms = options_.connect_timeout_ms;
  call.request_timeout_ms = options_.request_timeout_ms;
  Clock::time_point start = Clock::now();
  call.deadline = start + std::chrono::milliseconds(options_.request_timeout_ms);
  call.connect_deadline =
      std::min(call.deadline, start + std::chrono::milliseconds(options_.connect_timeout_ms));

  http::request<http::string_body> message{verb, url_.base_path + request.target, 11};
  message.set(http::field::host, url_.HostHeader());
  message.set(http::field::user_agent, "canarymesh-bridge");
  message.set(http::field::accept, "application/json");
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
  message.body() = request.body;
  message.prepare_payload();

  // Exceptions from Asio/OpenSSL (allocation failure, a broken TLS library) end the call, not
  // the bridge.
  try {
    net::io_context ioc;
    auto endpoints = Resolve(ioc, url_, call);
    if (!endpoints.ok()) return endpoints.status();
    if (!url_.tls()) {
      beast::tcp_stream stream(ioc);
      Status connected = Connect(ioc, stream, *endpoints, call);
      if (!connected.ok()) return connected;
      return Exchange(ioc, stream, stream, message, options_.max_response_bytes, call);
    }
    ssl::context ctx(ssl::context::tls_client);
    Status tls = ConfigureTls(ctx, options_, call.where);
    if (!tls.ok()) return tls;
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    tls = PrepareTlsSession(stream.native_handle(), url_, call.where);
    if (!tls.ok()) return tls;
    beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
    Status connected = Connect(ioc, lowest, *endpoints, call);
    if (!connected.ok()) return connected;

    beast::error_code handshake_ec;
    lowest.expires_at(call.deadline);
    stream.async_handshake(ssl::stream_base::client,
                           [&](const beast::error_code& ec) { handshake_ec = ec; });
    RunUntilIdle(ioc);
    if (handshake_ec == beast::error::timeout) {
      return TimeoutOrError(call, handshake_ec, "TLS handshake", false);
    }
    if (handshake_ec) {
      long verify = SSL_get_verify_result(stream.native_handle());
      std::string why = verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                                  X509_verify_cert_error_string(verify)
                                            : handshake_ec.message();
      return Status::IoError(call.where + ": TLS handshake failed: " + why);
    }
    return Exchange(ioc, stream, lowest, message, options_.max_response_bytes, call);
  } catch (const std::exception& e) {
    return Status::Internal(call.where + ": " + e.what());
  }
}

}  // namespace canarymesh::bridge
