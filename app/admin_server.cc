#include "app/admin_server.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "core/net_address.h"

namespace canarymesh {

AdminServer::AdminServer() {
  evthread_use_pthreads();  // Stop() breaks the loop from another thread
  base_ = event_base_new();
  http_ = evhttp_new(base_);
  evhttp_set_allowed_methods(http_,
                             EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_set_max_body_size(http_, 1 << 20);
  evhttp_set_gencb(http_, &OnRequest, this);
}

AdminServer::~AdminServer() {
  Stop();
  if (http_) evhttp_free(http_);
  if (base_) event_base_free(base_);
}

void AdminServer::Register(const std::string& path, Handler handler) {
  if (!path.empty() && path.back() == '/') {
    prefix_[path] = std::move(handler);
  } else {
    exact_[path] = std::move(handler);
  }
}

Status AdminServer::Listen(const std::string& address) {
  auto addr = ParseNetAddress(address);
  if (!addr.ok()) return addr.status();
  if (evhttp_bind_socket(http_, addr->host.c_str(), addr->port) != 0) {
    return Status::IoError("admin: cannot listen on " + address);
  }
  return Status::Ok();
}

void AdminServer::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cm-admin");
    event_base_dispatch(base_);
  });
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  event_base_loopbreak(base_);
  thread_.join();
}

void AdminServer::OnRequest(evhttp_request* req, void* arg) {
  static_cast<AdminServer*>(arg)->Handle(req);
}

void AdminServer::Handle(evhttp_request* req) {
  AdminRequest request;
  switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
      request.method = "GET";
      break;
    case EVHTTP_REQ_PUT:
      request.method = "PUT";
      break;
    case EVHTTP_REQ_POST:
      request.method = "POST";
      break;
    case EVHTTP_REQ_DELETE:
      request.method = "DELETE";
      break;
    default:
      request.method = "OTHER";
      break;
  }
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const char* query = uri ? evhttp_uri_get_query(uri) : nullptr;
  request.path = path && *path ? path : "/";
  request.query = query ? query : "";
  evbuffer* in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  request.body.resize(len);
  if (len) evbuffer_copyout(in, request.body.data(), len);
  const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  request.authorization = auth ? auth : "";

  AdminResponse response;
  auto it = exact_.find(request.path);
  if (it != exact_.end()) {
    response = it->second(request);
  } else {
    bool found = false;
    for (auto p = prefix_.rbegin(); p != prefix_.rend(); ++p) {
      if (request.path.compare(0, p->first.size(), p->first) == 0) {
        response = p->second(request);
        found = true;
        break;
      }
    }
    if (!found) {
      response.status = 404;
      response.body = "no admin endpoint at " + request.path + "\n";
    }
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, response.body.data(), response.body.size());
  evhttp_send_reply(req, response.status, nullptr, out);
  evbuffer_free(out);
}

}  // namespace canarymesh
