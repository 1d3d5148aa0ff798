// The admin HTTP listener (127.0.0.1:9990 by default): a libevent evhttp server on its own
// thread serving small JSON/text endpoints registered by path or path prefix. Not on the data
// path. Handlers run on the admin thread; Register before Start.
#pragma once

#include <event2/event.h>
#include <event2/http.h>

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "core/status.h"

namespace canarymesh {

struct AdminRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // without the query
  std::string query;
  std::string body;
  std::string authorization;  // the Authorization header, if any
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  AdminServer();
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Exact path, or a prefix when `path` ends with '/'.
  void Register(const std::string& path, Handler handler);
  Status Listen(const std::string& address);
  void Start();
  void Stop();

 private:
  static void OnRequest(evhttp_request* req, void* arg);
  void Handle(evhttp_request* req);

  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  std::thread thread_;
  std::map<std::string, Handler> exact_;
  std::map<std::string, Handler> prefix_;
};

}  // namespace canarymesh
