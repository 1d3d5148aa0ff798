// HttpClient against real sockets: the in-process contract server (plain and TLS, with a CA made
// for the test), a refused port and a listener that never answers.
#include "scheduler-bridge/http/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/scheduler-bridge/support/contract_http_server.h"
#include "tests/scheduler-bridge/support/contract_tls.h"
#include "tests/support/loopback.h"

namespace canarymesh::bridge {
namespace {

using testing::ContractHttpServer;
using testing::ContractRequest;
using testing::ContractResponse;
using testing::TestCertificates;

// A listening socket on a free loopback port that never accepts: connects succeed (the kernel
// completes them from the backlog) and no answer ever comes.
class SilentListener {
 public:
  SilentListener() { fd_ = ::canarymesh::testing::ListenLoopback(&port_, 8); }
  ~SilentListener() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
};

uint16_t ClosedPort() {
  SilentListener listener;
  return listener.port();  // closed again when `listener` goes away
}

HttpClient ClientFor(const std::string& url_text, HttpClientOptions options = {}) {
  auto url = ParseHttpUrl(url_text);
  EXPECT_TRUE(url.ok()) << url.status().message();
  return HttpClient(*url, options);
}

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest()
      : server_([this](const ContractRequest& request) {
          std::lock_guard<std::mutex> lock(mu_);
          seen_.push_back(request);
          ContractResponse response = ContractResponse::Json(201, {{"echo", request.body}});
          response.headers.emplace_back("X-Answer", "yes");
          return response;
        }) {}

  std::mutex mu_;
  std::vector<ContractRequest> seen_;
  ContractHttpServer server_;
};

TEST_F(HttpClientTest, SendsMethodTargetHeadersAndBodyAndReturnsTheAnswer) {
  ASSERT_TRUE(server_.Start().ok());
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(server_.port()) + "/marathon");
  HttpRequest request;
  request.method = "POST";
  request.target = "/v2/apps?force=true&embed=app.tasks";
  request.headers.emplace_back("Authorization", "token=abc");
  request.content_type = "application/json";
  request.body = R"({"id":"/x"})";
  auto response = client.Send(request);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 201u);
  EXPECT_EQ(response->Header("x-answer"), "yes");
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_EQ(response->body, R"({"echo":"{\"id\":\"/x\"}"})");
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].method, "POST");
  EXPECT_EQ(seen_[0].path, "/marathon/v2/apps");
  EXPECT_EQ(seen_[0].QueryValue("force"), "true");
  EXPECT_EQ(seen_[0].QueryValue("embed"), "app.tasks");
  EXPECT_EQ(seen_[0].Header("authorization"), "token=abc");
  EXPECT_EQ(seen_[0].Header("content-type"), "application/json");
  EXPECT_EQ(seen_[0].Header("host"), "127.0.0.1:" + std::to_string(server_.port()));
  EXPECT_EQ(seen_[0].body, R"({"id":"/x"})");
}

TEST_F(HttpClientTest, ManyThreadsAtOnce) {
  ASSERT_TRUE(server_.Start().ok());
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(server_.port()));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        HttpRequest request;
        request.target = "/t" + std::to_string(t);
        auto response = client.Send(request);
        if (response.ok() && response->status == 201) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
}

TEST_F(HttpClientTest, AnswerLargerThanTheLimitIsAnError) {
  ASSERT_TRUE(server_.Start().ok());
  HttpClientOptions options;
  options.max_response_bytes = 8;
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(server_.port()), options);
  HttpRequest request;
  request.target = "/";
  request.body = "a body longer than eight bytes";
  auto response = client.Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kIoError);
}

TEST(HttpClientErrorsTest, RefusedConnectionIsUnavailable) {
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(ClosedPort()));
  HttpRequest request;
  request.target = "/v2/apps";
  auto response = client.Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(response.status().message().find("connect failed"), std::string::npos)
      << response.status().message();
  EXPECT_NE(response.status().message().find("GET http://127.0.0.1:"), std::string::npos);
}

TEST(HttpClientErrorsTest, SilentServerHitsTheRequestTimeout) {
  SilentListener silent;
  HttpClientOptions options;
  options.request_timeout_ms = 300;
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(silent.port()), options);
  HttpRequest request;
  request.target = "/v2/apps";
  auto response = client.Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(response.status().message().find("no complete answer within 300 ms"), std::string::npos)
      << response.status().message();
}

TEST(HttpClientErrorsTest, UnresolvableHostIsUnavailable) {
  HttpClient client = ClientFor("http://no-such-host.invalid:8080");
  HttpRequest request;
  request.target = "/";
  auto response = client.Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(response.status().message().find("no-such-host.invalid"), std::string::npos);
}

TEST(HttpClientErrorsTest, BadRequestsAreRejectedBeforeConnecting) {
  HttpClient client = ClientFor("http://127.0.0.1:" + std::to_string(ClosedPort()));
  HttpRequest request;
  request.method = "FROB";
  request.target = "/";
  EXPECT_EQ(client.Send(request).status().code(), Status::Code::kInvalidArgument);
  request.method = "GET";
  request.target = "v2/apps";
  EXPECT_EQ(client.Send(request).status().code(), Status::Code::kInvalidArgument);
}

class HttpsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto generated = TestCertificates::Generate();
    ASSERT_TRUE(generated.ok()) << generated.status().message();
    certs_ = generated->release();
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  HttpsClientTest()
      : server_([](const ContractRequest& r) {
          return ContractResponse::Json(200, {{"path", r.path}});
        }) {}

  Result<HttpResponse> Get(const std::string& host, HttpClientOptions options) {
    HttpClient client =
        ClientFor("https://" + host + ":" + std::to_string(server_.port()), options);
    HttpRequest request;
    request.target = "/api/v1/namespaces";
    return client.Send(request);
  }

  static TestCertificates* certs_;
  ContractHttpServer server_;
};

TestCertificates* HttpsClientTest::certs_ = nullptr;

TEST_F(HttpsClientTest, TrustedCaFileVerifiesByIpAndByName) {
  ASSERT_TRUE(server_.StartTls(certs_->server_cert_file(), certs_->server_key_file()).ok());
  HttpClientOptions options;
  options.ca_file = certs_->ca_file();
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto response = Get(host, options);
    ASSERT_TRUE(response.ok()) << host << ": " << response.status().message();
    EXPECT_EQ(response->status, 200u);
    EXPECT_EQ(response->body, R"({"path":"/api/v1/namespaces"})");
  }
}

TEST_F(HttpsClientTest, TrustedCaPemText) {
  ASSERT_TRUE(server_.StartTls(certs_->server_cert_file(), certs_->server_key_file()).ok());
  HttpClientOptions options;
  options.ca_pem = certs_->ReadCaPem();
  auto response = Get("127.0.0.1", options);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 200u);
}

TEST_F(HttpsClientTest, WrongCaFailsVerification) {
  ASSERT_TRUE(server_.StartTls(certs_->server_cert_file(), certs_->server_key_file()).ok());
  HttpClientOptions options;
  options.ca_file = certs_->other_ca_file();
  auto response = Get("127.0.0.1", options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kIoError);
  EXPECT_NE(response.status().message().find("certificate verify failed"), std::string::npos)
      << response.status().message();
}

TEST_F(HttpsClientTest, CertificateForAnotherNameFailsTheHostCheck) {
  ASSERT_TRUE(server_.StartTls(certs_->elsewhere_cert_file(), certs_->elsewhere_key_file()).ok());
  HttpClientOptions options;
  options.ca_file = certs_->ca_file();
  auto by_ip = Get("127.0.0.1", options);
  ASSERT_FALSE(by_ip.ok());
  EXPECT_NE(by_ip.status().message().find("IP address mismatch"), std::string::npos)
      << by_ip.status().message();
  auto by_name = Get("localhost", options);
  ASSERT_FALSE(by_name.ok());
  EXPECT_NE(by_name.status().message().find("hostname mismatch"), std::string::npos)
      << by_name.status().message();
}

TEST_F(HttpsClientTest, TlsToAPlainServerFails) {
  ASSERT_TRUE(server_.Start().ok());
  HttpClientOptions options;
  options.ca_file = certs_->ca_file();
  auto response = Get("127.0.0.1", options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kIoError);
  EXPECT_NE(response.status().message().find("TLS handshake failed"), std::string::npos)
      << response.status().message();
}

TEST_F(HttpsClientTest, UnreadableCaFileIsInvalidArgument) {
  ASSERT_TRUE(server_.StartTls(certs_->server_cert_file(), certs_->server_key_file()).ok());
  HttpClientOptions options;
  options.ca_file = certs_->dir() + "/missing.crt";
  auto response = Get("127.0.0.1", options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(response.status().message().find("missing.crt"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
