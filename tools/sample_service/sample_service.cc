// canarymesh-sample: a small HTTP/1.1 service that says which version answered. Demos,
// benchmarks and integration tests put it behind the proxy. Optional knobs inject errors and
// latency, and --forward makes it call another service (through the proxy, with --forward-host
// naming the service) carrying the incoming x-canary-version header, to test overrides across
// two hops. Single-threaded: one libevent loop owns every object below.

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/logging.h"
#include "core/net_address.h"

namespace canarymesh {
namespace {

constexpr char kOverrideHeader[] = "x-canary-version";
constexpr size_t kMaxBodyBytes = 64 << 20;
constexpr int kForwardTimeoutSeconds = 10;

struct SampleOptions {
  std::string listen;
  std::string service = "sample";
  std::string version;
  std::string instance;  // defaults to the bound address
  double error_rate = 0.0;
  uint32_t latency_ms = 0;
  std::string forward;       // http://host:port/path
  std::string forward_host;  // Host header for --forward; default: the URL's host[:port]
  std::optional<uint32_t> seed;
};

// Where --forward sends its call.
struct ForwardTarget {
  std::string host;
  uint16_t port = 80;
  std::string host_header;
  std::string path_and_query;
};

Result<ForwardTarget> ParseForwardUrl(const std::string& url) {
  evhttp_uri* uri = evhttp_uri_parse(url.c_str());
  if (uri == nullptr) return Status::InvalidArgument("--forward: cannot parse URL '" + url + "'");
  std::unique_ptr<evhttp_uri, decltype(&evhttp_uri_free)> owned(uri, evhttp_uri_free);
  const char* scheme = evhttp_uri_get_scheme(uri);
  const char* host = evhttp_uri_get_host(uri);
  if (scheme == nullptr || std::strcmp(scheme, "http") != 0 || host == nullptr || *host == '\0') {
    return Status::InvalidArgument("--forward: expected http://host:port/path, got '" + url + "'");
  }
  ForwardTarget target;
  target.host = host;
  int port = evhttp_uri_get_port(uri);
  if (port > 0) target.port = static_cast<uint16_t>(port);
  target.host_header = port > 0 ? target.host + ":" + std::to_string(port) : target.host;
  const char* path = evhttp_uri_get_path(uri);
  target.path_and_query = (path != nullptr && *path != '\0') ? path : "/";
  if (const char* query = evhttp_uri_get_query(uri))
    target.path_and_query += std::string("?") + query;
  return target;
}

const char* MethodName(evhttp_cmd_type method) {
  switch (method) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "?";
}

class SampleServer;

// One incoming request between its arrival and our reply: it may wait on the latency timer
// and then on the forwarded call. Owned by SampleServer::exchanges_.
struct Exchange {
  SampleServer* server = nullptr;
  evhttp_request* incoming = nullptr;
  event* delay = nullptr;
  evhttp_connection* forward_conn = nullptr;  // set while a forwarded call is in flight
  std::string method;
  std::string path;
  std::string override_value;
  bool has_override = false;
  size_t body_bytes = 0;
};

class SampleServer {
 public:
  SampleServer(SampleOptions options, std::optional<ForwardTarget> forward)
      : options_(std::move(options)), forward_(std::move(forward)) {
    rng_.seed(options_.seed ? *options_.seed : std::random_device{}());
  }
  SampleServer(const SampleServer&) = delete;
  SampleServer& operator=(const SampleServer&) = delete;

  ~SampleServer() {
    // Pending exchanges die with the loop: their incoming requests are freed by evhttp_free
    // unless the client already hung up (evhttp then hands the request over to us), their
    // outgoing calls by freeing the connection that carries them.
    for (Exchange* ex : exchanges_) {
      if (ex->delay != nullptr) event_free(ex->delay);
      if (evhttp_request_get_connection(ex->incoming) == nullptr) evhttp_request_free(ex->incoming);
      if (ex->forward_conn != nullptr) evhttp_connection_free(ex->forward_conn);
      delete ex;
    }
    for (evhttp_connection* conn : idle_forward_conns_) evhttp_connection_free(conn);
    if (sigterm_ != nullptr) event_free(sigterm_);
    if (sigint_ != nullptr) event_free(sigint_);
    if (http_ != nullptr) evhttp_free(http_);
    if (base_ != nullptr) event_base_free(base_);
  }

  Status Start() {
    base_ = event_base_new();
    if (base_ == nullptr) return Status::Internal("event_base_new failed");
    http_ = evhttp_new(base_);
    if (http_ == nullptr) return Status::Internal("evhttp_new failed");
    evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                          EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(http_, kMaxBodyBytes);
    evhttp_set_gencb(http_, &SampleServer::OnRequest, this);

    auto addr = ParseNetAddress(options_.listen);
    if (!addr.ok()) return Status::InvalidArgument("--listen: " + addr.status().message());
    Status bound = Bind(*addr);
    if (!bound.ok()) return bound;

    sigterm_ = evsignal_new(base_, SIGTERM, &SampleServer::OnSignal, this);
    sigint_ = evsignal_new(base_, SIGINT, &SampleServer::OnSignal, this);
    if (sigterm_ == nullptr || sigint_ == nullptr || evsignal_add(sigterm_, nullptr) != 0 ||
        evsignal_add(sigint_, nullptr) != 0) {
      return Status::Internal("cannot install signal handlers");
    }
    return Status::Ok();
  }

  // Runs until SIGTERM or SIGINT.
  void Run() { event_base_dispatch(base_); }

  const std::string& bound_address() const { return bound_address_; }

 private:
  Status Bind(const NetAddress& addr) {
    int fd = socket(addr.storage.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, addr.sockaddr_ptr(), addr.length) != 0 || listen(fd, 1024) != 0 ||
        evutil_make_socket_nonblocking(fd) != 0) {
      Status error =
          Status::IoError("cannot listen on " + options_.listen + ": " + std::strerror(errno));
      close(fd);
      return error;
    }
    if (evhttp_accept_socket_with_handle(http_, fd) == nullptr) {
      close(fd);
      return Status::Internal("evhttp_accept_socket_with_handle failed");
    }
    // With port 0 the kernel picks one; report the real port so scripts can use it.
    NetAddress bound = addr;
    socklen_t len = sizeof(bound.storage);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound.storage), &len);
    bound.port = ntohs(bound.storage.ss_family == AF_INET
                           ? reinterpret_cast<sockaddr_in*>(&bound.storage)->sin_port
                           : reinterpret_cast<sockaddr_in6*>(&bound.storage)->sin6_port);
    bound_address_ = bound.ToString();
    if (options_.instance.empty()) options_.instance = bound_address_;
    return Status::Ok();
  }

  static void OnSignal(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<SampleServer*>(arg);
    LOG_INFO << "signal received, exiting";
    event_base_loopexit(self->base_, nullptr);
  }

  static void OnRequest(evhttp_request* req, void* arg) {
    static_cast<SampleServer*>(arg)->HandleRequest(req);
  }

  void HandleRequest(evhttp_request* req) {
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
    const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
    std::string path_text = (path != nullptr && *path != '\0') ? path : "/";
    if (path_text == "/health") {
      nlohmann::json body = {{"status", "ok"},
                             {"service", options_.service},
                             {"version", options_.version},
                             {"instance", options_.instance}};
      SendJson(req, 200, body);
      return;
    }
    auto* ex = new Exchange;
    ex->server = this;
    ex->incoming = req;
    ex->method = MethodName(evhttp_request_get_command(req));
    ex->path = std::move(path_text);
    ex->body_bytes = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (const char* value =
            evhttp_find_header(evhttp_request_get_input_headers(req), kOverrideHeader)) {
      ex->has_override = true;
      ex->override_value = value;
    }
    exchanges_.insert(ex);
    if (options_.latency_ms > 0) {
      ex->delay = evtimer_new(base_, &SampleServer::OnDelayDone, ex);
      timeval tv{static_cast<time_t>(options_.latency_ms / 1000),
                 static_cast<suseconds_t>((options_.latency_ms % 1000) * 1000)};
      evtimer_add(ex->delay, &tv);
      return;
    }
    Proceed(ex);
  }

  static void OnDelayDone(evutil_socket_t, short, void* arg) {
    auto* ex = static_cast<Exchange*>(arg);
    event_free(ex->delay);
    ex->delay = nullptr;
    ex->server->Proceed(ex);
  }

  void Proceed(Exchange* ex) {
    if (options_.error_rate > 0 && std::bernoulli_distribution(options_.error_rate)(rng_)) {
      Finish(ex, 500, {{"error", "injected"}});
      return;
    }
    if (forward_) {
      StartForward(ex);
      return;
    }
    Finish(ex, 200, {});
  }

  void StartForward(Exchange* ex) {
    evhttp_connection* conn = TakeForwardConnection();
    if (conn == nullptr) {
      Finish(ex, 502, {{"downstream", {{"error", "cannot create connection"}}}});
      return;
    }
    evhttp_request* out = evhttp_request_new(&SampleServer::OnForwardDone, ex);
    evkeyvalq* headers = evhttp_request_get_output_headers(out);
    evhttp_add_header(headers, "Host", forward_->host_header.c_str());
    if (ex->has_override) evhttp_add_header(headers, kOverrideHeader, ex->override_value.c_str());
    ex->forward_conn = conn;
    if (evhttp_make_request(conn, out, EVHTTP_REQ_GET, forward_->path_and_query.c_str()) != 0) {
      // The request was never queued, so evhttp will not free it.
      evhttp_request_free(out);
      ex->forward_conn = nullptr;
      idle_forward_conns_.push_back(conn);
      Finish(ex, 502, {{"downstream", {{"error", "cannot send request"}}}});
    }
  }

  // Reuses a keep-alive connection to the forward target when one is idle.
  evhttp_connection* TakeForwardConnection() {
    if (!idle_forward_conns_.empty()) {
      evhttp_connection* conn = idle_forward_conns_.back();
      idle_forward_conns_.pop_back();
      return conn;
    }
    evhttp_connection* conn =
        evhttp_connection_base_new(base_, nullptr, forward_->host.c_str(), forward_->port);
    if (conn != nullptr) evhttp_connection_set_timeout(conn, kForwardTimeoutSeconds);
    return conn;
  }

  // `out` is null or carries status 0 when the call failed (refused, reset, timed out).
  static void OnForwardDone(evhttp_request* out, void* arg) {
    auto* ex = static_cast<Exchange*>(arg);
    SampleServer* self = ex->server;
    // evhttp keeps the connection usable (it reconnects on the next request), so it goes back
    // to the pool even after a failure; it must not be freed inside its own callback.
    self->idle_forward_conns_.push_back(ex->forward_conn);
    ex->forward_conn = nullptr;
    int status = out != nullptr ? evhttp_request_get_response_code(out) : 0;
    if (status == 0) {
      self->Finish(ex, 502, {{"downstream", {{"error", "request failed"}}}});
      return;
    }
    evbuffer* input = evhttp_request_get_input_buffer(out);
    size_t length = evbuffer_get_length(input);
    std::string text(length, '\0');
    if (length > 0) evbuffer_copyout(input, text.data(), length);
    nlohmann::json downstream = {{"status", status}};
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    downstream["body"] = parsed.is_discarded() ? nlohmann::json(text) : parsed;
    // The answer mirrors the downstream's failure so a broken second hop is visible to callers.
    self->Finish(ex, status >= 200 && status < 300 ? 200 : 502, {{"downstream", downstream}});
  }

  void Finish(Exchange* ex, int status, nlohmann::json extra) {
    nlohmann::json body = {{"service", options_.service},   {"version", options_.version},
                           {"instance", options_.instance}, {"path", ex->path},
                           {"method", ex->method},          {"body_bytes", ex->body_bytes}};
    if (ex->has_override) body["override"] = ex->override_value;
    for (auto& [key, value] : extra.items()) body[key] = std::move(value);
    SendJson(ex->incoming, status, body);
    exchanges_.erase(ex);
    delete ex;
  }

  void SendJson(evhttp_request* req, int status, const nlohmann::json& body) {
    evkeyvalq* headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Content-Type", "application/json");
    evhttp_add_header(headers, "x-served-by-version", options_.version.c_str());
    evhttp_add_header(headers, "x-served-by-instance", options_.instance.c_str());
    std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    evbuffer* out = evbuffer_new();
    evbuffer_add(out, text.data(), text.size());
    // A null reason phrase makes evhttp use the standard one for `status`.
    evhttp_send_reply(req, status, nullptr, out);
    evbuffer_free(out);
  }

  SampleOptions options_;
  std::optional<ForwardTarget> forward_;
  std::mt19937 rng_;
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  event* sigterm_ = nullptr;
  event* sigint_ = nullptr;
  std::string bound_address_;
  std::unordered_set<Exchange*> exchanges_;
  std::vector<evhttp_connection*> idle_forward_conns_;
};

int Main(int argc, char** argv) {
  SampleOptions options;
  CLI::App app{"canarymesh-sample: a tiny HTTP service that reports its version"};
  app.add_option("--listen", options.listen, "host:port to serve on (port 0 = any)")->required();
  app.add_option("--version", options.version, "version label, e.g. v1")->required();
  app.add_option("--service", options.service, "service name in answers")->capture_default_str();
  app.add_option("--instance", options.instance, "instance name in answers (default: address)");
  app.add_option("--error-rate", options.error_rate, "share of requests answered with 500")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--latency-ms", options.latency_ms, "delay before answering, milliseconds");
  app.add_option("--forward", options.forward,
                 "call this URL per request (copying x-canary-version) and "
                 "embed its answer");
  app.add_option("--forward-host", options.forward_host,
                 "Host header for --forward calls, e.g. the service name the "
                 "proxy routes on")
      ->needs("--forward");
  app.add_option("--seed", options.seed, "seed for --error-rate (default: random)");
  CLI11_PARSE(app, argc, argv);

  std::optional<ForwardTarget> forward;
  if (!options.forward.empty()) {
    auto parsed = ParseForwardUrl(options.forward);
    if (!parsed.ok()) {
      LOG_ERROR << parsed.status().message();
      return 2;
    }
    forward = *parsed;
    if (!options.forward_host.empty()) forward->host_header = options.forward_host;
  }
  // A client that hangs up mid-reply must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  SampleServer server(options, forward);
  Status started = server.Start();
  if (!started.ok()) {
    LOG_ERROR << started.message();
    return 1;
  }
  std::printf("canarymesh-sample service=%s version=%s listening on %s\n", options.service.c_str(),
              options.version.c_str(), server.bound_address().c_str());
  std::fflush(stdout);
  server.Run();
  return 0;
}

}  // namespace
}  // namespace canarymesh

int main(int argc, char** argv) { return canarymesh::Main(argc, argv); }
