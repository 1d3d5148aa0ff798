#include "tests/scheduler-bridge/support/contract_http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <thread>

namespace canarymesh::bridge::testing {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

ContractRequest ToContractRequest(const http::request<http::string_body>& message) {
  ContractRequest request;
  request.method = std::string(message.method_string());
  std::string_view target(message.target().data(), message.target().size());
  size_t question = target.find('?');
  request.path = PercentDecode(target.substr(0, question), false);
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      size_t eq = pair.find('=');
      request.query.emplace_back(
          PercentDecode(pair.substr(0, eq), true),
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true));
      query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    }
  }
  for (const auto& field : message.base()) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(name, std::string(field.value()));
  }
  request.body = message.body();
  return request;
}

}  // namespace

std::string ContractRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return "";
}

std::vector<std::string> ContractRequest::QueryValues(std::string_view key) const {
  std::vector<std::string> values;
  for (const auto& [name, value] : query) {
    if (name == key) values.push_back(value);
  }
  return values;
}

std::string ContractRequest::QueryValue(std::string_view key) const {
  auto values = QueryValues(key);
  return values.empty() ? "" : values.front();
}

bool ContractRequest::HasQuery(std::string_view key) const { return !QueryValues(key).empty(); }

ContractResponse ContractResponse::Json(unsigned status, const nlohmann::json& body) {
  ContractResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

struct ContractHttpServer::Impl {
  Handler handler;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<ssl::context> tls;
  std::atomic<bool> stopping{false};
  std::thread thread;
  uint16_t port = 0;

  Status Listen() {
    boost::system::error_code ec;
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(64, ec);
    if (ec) return Status::IoError("contract server: cannot listen: " + ec.message());
    port = acceptor.local_endpoint().port();
    thread = std::thread([this] { Serve(); });
    return Status::Ok();
  }

  void Serve() {
    while (!stopping.load()) {
      tcp::socket socket(ioc);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping.load()) break;
      if (ec) continue;
      // A client that connects and goes quiet must not wedge the server for good.
      timeval timeout{5, 0};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (tls) {
        ssl::stream<tcp::socket&> stream(socket, *tls);
        stream.handshake(ssl::stream_base::server, ec);
        if (!ec) ServeOne(stream);
      } else {
        ServeOne(socket);
      }
      socket.close(ec);
    }
  }

  template <typename Stream>
  void ServeOne(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> message;
    beast::error_code ec;
    http::read(stream, buffer, message, ec);
    if (ec) return;
    ContractResponse answer;
    try {
      answer = handler(ToContractRequest(message));
    } catch (const std::exception& e) {
      answer =
          ContractResponse::Json(500, {{"message", std::string("contract server: ") + e.what()}});
    }
    http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
    response.set(http::field::server, "canarymesh-contract-server");
    if (!answer.content_type.empty()) response.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.keep_alive(false);
    response.body() = std::move(answer.body);
    response.prepare_payload();
    http::write(stream, response, ec);
  }
};

ContractHttpServer::ContractHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
}

ContractHttpServer::~ContractHttpServer() { Stop(); }

Status ContractHttpServer::Start() { return impl_->Listen(); }

Status ContractHttpServer::StartTls(const std::string& cert_file, const std::string& key_file) {
  impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  impl_->tls->use_certificate_chain_file(cert_file, ec);
  if (!ec) impl_->tls->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return Status::IoError("contract server: cannot load TLS files: " + ec.message());
  return impl_->Listen();
}

void ContractHttpServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  // Wake the blocking accept() with a connection of our own.
  boost::system::error_code ec;
  net::io_context ioc;
  tcp::socket waker(ioc);
  waker.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), impl_->port), ec);
  impl_->thread.join();
  impl_->acceptor.close(ec);
}

uint16_t ContractHttpServer::port() const { return impl_->port; }

}  // namespace canarymesh::bridge::testing
