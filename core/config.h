// The proxy's configuration: parsed once from YAML into a checked, immutable value.
// Every error names the file, the field and its place in the file
// ("proxy.yaml: services[1].versions.v2[0]: ... (at proxy.yaml:14:12)"), as core/yaml_fields.h.
// Thread-compatible: build once, then share as const.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace canarymesh {

struct AdminConfig {
  std::string listen = "127.0.0.1:9990";
  std::string token;  // bearer token required by mutating admin endpoints; empty = none allowed
};

struct ListenerConfig {
  std::string name;
  std::string listen;             // host:port
  std::string protocol = "http";  // "http" or "thrift"
  bool strip_overrides = false;   // drop the override header from untrusted clients
  // thrift only: every call on this listener goes to `service` (port -> service, as Linkerd).
  std::string service;
  uint32_t max_frame_bytes = 16u << 20;  // thrift only: a larger frame closes the client
};

struct TimeoutConfig {
  uint32_t connect_ms = 1000;         // upstream TCP connect
  uint32_t request_ms = 15000;        // request dispatched -> response headers received
  uint32_t client_idle_ms = 60000;    // keep-alive client connection with no request in flight
  uint32_t header_read_ms = 10000;    // first byte of a request -> its headers complete
  uint32_t upstream_idle_ms = 30000;  // pooled idle upstream connection lifetime
};

struct LimitConfig {
  uint32_t max_request_header_bytes = 64 * 1024;
  uint32_t max_response_header_bytes = 64 * 1024;
  uint32_t max_idle_upstream_per_instance = 64;  // per worker
  uint32_t buffer_high_watermark = 256 * 1024;   // stop reading a peer past this much queued
};

struct RetryConfig {
  double budget_percent = 20.0;  // retries allowed as a share of requests (Finagle: 20%)
  double min_per_second = 10.0;  // floor so that low traffic can still retry
  uint32_t max_attempts = 2;     // total tries per request, first one included
};

struct OutlierConfig {
  uint32_t consecutive_failures = 5;
  uint32_t base_ejection_ms = 10000;
  uint32_t max_ejection_ms = 300000;
};

struct ZooKeeperConfig {
  std::string connect;  // "host:port,host:port"; empty = no ZooKeeper
  uint32_t session_timeout_ms = 10000;
  std::string chroot;  // optional, e.g. "/prod"
  std::string routes_path = "/canarymesh/routes";
  // Where each proxy announces its admin endpoint (a ServerSet member) so that the scheduler
  // bridge can find every sidecar and read its per-version counts; empty = do not announce.
  std::string sidecars_path = "/canarymesh/sidecars";
};

struct ServerSetConfig {
  std::string path;      // e.g. /discovery/user; empty = no discovery for this service
  std::string endpoint;  // additionalEndpoints key; empty = serviceEndpoint
  std::map<std::string, std::string> version_paths;  // extra path -> version for per-path versions
};

struct RoutePolicyConfig {
  std::map<std::string, uint32_t> weights;  // version -> weight; empty = all instances equal
  std::string sticky_header;                // hash this header for sticky slices
  bool sticky_client_ip = false;            // or hash the client address
};

// How canarymesh speaks Thrift to a service's instances (thrift listeners and Thrift over HTTP).
struct ThriftServiceConfig {
  // Upstream transport: "same" (as the client), "framed", "buffered", "header" (THeader) or
  // "ttwitter" (Finagle's upgraded TTwitter, framed). The protocol (binary/compact) is the
  // client's.
  std::string transport = "same";
  std::string
      http_path;  // Thrift over HTTP: POSTs to this path on HTTP listeners call this service
  std::map<std::string, std::string> method_versions;  // method name -> version it is pinned to
};

struct ServiceConfig {
  std::string name;
  std::vector<std::string> hosts;  // Host header values (port stripped) that map here
  std::string path_prefix;         // optional; more specific prefixes win
  std::map<std::string, std::vector<std::string>> versions;  // static instances per version
  ServerSetConfig serverset;
  std::optional<RoutePolicyConfig> route;
  // Set when the service has a `thrift:` block or a thrift listener names it.
  std::optional<ThriftServiceConfig> thrift;
};

// This instance's own ServerSet membership, written by discovery's Announcer while a local health
// check passes. Optional: without it nothing is announced.
struct AnnounceHealthConfig {
  std::string kind = "http";     // "http" (GET expecting 2xx) or "tcp" (connect)
  std::string address;           // host:port to check; empty = 127.0.0.1:<announce.port>
  std::string path = "/health";  // http only
  uint32_t interval_ms = 2000;
  uint32_t timeout_ms = 1000;
  uint32_t rise = 1;  // passing checks in a row before announcing
  uint32_t fall = 2;  // failing checks in a row before withdrawing
};

struct AnnounceConfig {
  std::string path;                           // ServerSet path, e.g. /discovery/user
  std::string host;                           // address others reach this instance at
  uint32_t port = 0;                          // serviceEndpoint port
  std::map<std::string, uint32_t> endpoints;  // additionalEndpoints name -> port, same host
  std::optional<int32_t> shard;
  std::string version;  // written as metadata.version
  AnnounceHealthConfig health_check;
};

struct ProxyConfig {
  std::string source;    // file the config came from, for messages
  uint32_t workers = 0;  // 0 = one per core
  std::string log_level = "info";
  AdminConfig admin;
  std::vector<ListenerConfig> listeners;
  TimeoutConfig timeouts;
  LimitConfig limits;
  RetryConfig retries;
  OutlierConfig outlier;
  std::string override_header = "x-canary-version";
  ZooKeeperConfig zookeeper;
  std::vector<ServiceConfig> services;
  std::optional<AnnounceConfig> announce;
};

Result<ProxyConfig> LoadProxyConfigFile(const std::string& path);
// `source` names the text in error messages.
Result<ProxyConfig> ParseProxyConfig(const std::string& yaml_text, const std::string& source);

}  // namespace canarymesh
