// Reading Marathon's answers about an app: GET /v2/apps/{id}?embed=app.tasks&embed=app.counts
// into a GroupStatus, and the deployment ids that still hold it. Pure functions: tests feed them
// documented answer shapes. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler-bridge/backend.h"

namespace canarymesh::bridge {

// `app` is the "app" member of the answer. desired = instances, running = tasksRunning,
// healthy = tasksHealthy (tasksRunning for an app without health checks, where Marathon counts no
// task healthy), one InstanceStatus per task (host, first port, all health results alive).
// `deploying` comes from the caller (see MarathonDeploymentsHolding).
GroupStatus MarathonGroupStatus(const nlohmann::json& app, bool deploying);

// Ids in the app's "deployments" member ([{"id": ...}]).
std::vector<std::string> MarathonAppDeploymentIds(const nlohmann::json& app);

// Whether GET /v2/deployments (an array) still lists a deployment that touches `app_id`: one of
// `ids`, or one naming the app among affectedApps. A deployment gone from the list has finished.
bool MarathonDeploymentsHolding(const nlohmann::json& deployments, const std::string& app_id,
                                const std::vector<std::string>& ids);

}  // namespace canarymesh::bridge
