// MarathonBackendConfig: where Marathon is, how to authenticate, and the knobs of the app
// definitions the backend writes; parsed once from the `marathon:` section of the bridge's YAML.
// Thread-compatible: build once, share as const.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/status.h"
#include "scheduler-bridge/http/http_client.h"

namespace canarymesh::bridge {

struct MarathonBackendConfig {
  std::string url = "http://localhost:8080";
  // Apps are named <prefix>/<service>/<version>: a Marathon group per service, so an operator sees
  // every version of a service together and names cannot collide ("a-b"/"c" vs "a"/"b-c").
  std::string app_id_prefix = "/canarymesh";
  // At most one of: HTTP basic credentials, or a DC/OS service-account token file
  // (sent as "Authorization: token=<contents>", re-read on every call).
  std::string basic_user;
  std::string basic_password;
  std::string token_file;
  HttpClientOptions http;  // timeouts and ca_file
  // Marathon answers 409 to a change of an app that a running deployment still holds. false: Scale
  // reports Unavailable (retry later); true: Scale overrides with ?force=true. Remove always
  // forces.
  bool force_scale_when_locked = false;
  // upgradeStrategy of every app (Marathon's defaults).
  double minimum_health_capacity = 1.0;
  double maximum_over_capacity = 1.0;
};

// Keys: url, app_id_prefix, auth {user, password | token_file}, ca_file, connect_timeout_ms,
// request_timeout_ms, force_scale_when_locked, upgrade_strategy {minimum_health_capacity,
// maximum_over_capacity}. `field` names the section in error messages.
Result<MarathonBackendConfig> MarathonBackendConfigFromYaml(const YAML::Node& node,
                                                            const std::string& field = "marathon");

// Marathon's rule for one segment of an app id: lower-case letters, digits, '-' and '.'.
bool IsMarathonIdSegment(const std::string& segment);

}  // namespace canarymesh::bridge
