// Translating an InstanceGroupSpec into a Marathon v2 app definition (the body of POST /v2/apps),
// and the app id a group lives under. Pure functions, no I/O, so the exact JSON can be tested.
// Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/marathon/marathon_config.h"

namespace canarymesh::bridge {

// <prefix>/<service>/<version>; InvalidArgument when service or version is not a valid Marathon
// id segment (lower-case letters, digits, '-', '.').
Result<std::string> MarathonAppId(const std::string& prefix, const std::string& service,
                                  const std::string& version);

// The app definition: id, cmd (spec.artifact with {port} -> $PORT0, {instance} -> $MESOS_TASK_ID,
// {service}/{version} filled in) or container.docker.image (host networking), instances, cpus,
// mem, constraints, healthChecks (MESOS_HTTP or MESOS_TCP on port index 0), labels (app, version
// and spec.labels), env (spec.env plus CANARYMESH_SERVICE/VERSION/SERVERSET_PATH),
// upgradeStrategy, one dynamic portDefinition, taskKillGracePeriodSeconds.
Result<nlohmann::json> MarathonAppDefinition(const InstanceGroupSpec& spec,
                                             const MarathonBackendConfig& config);

// Constraints Marathon cannot honour: unknown operators, and operators missing the value they need.
std::vector<std::string> MarathonUnsatisfiable(const InstanceGroupSpec& spec);

}  // namespace canarymesh::bridge
