// Admin endpoints over the route table: GET /admin/routes[/<service>], PUT /admin/routes/<service>
// (bearer token required), GET /admin/canary/<service> (per-version stats with the weights and
// the policy's provenance), GET /admin/stats/<service> (exact counts and histograms, JSON).
// Handlers run on the admin thread; the publisher and registry they use are thread-safe.
#pragma once

#include <string>

#include "app/admin_server.h"
#include "canary/version_stats.h"
#include "core/config.h"
#include "router/route_table_publisher.h"

namespace canarymesh {

void RegisterRouteEndpoints(AdminServer& admin, const ProxyConfig& config,
                            router::RouteTablePublisher& publisher, canary::StatsRegistry& stats);

// True when `authorization` is "Bearer <token>" for the configured token (constant time).
// An empty configured token authorizes nothing.
bool BearerTokenMatches(const std::string& authorization, const std::string& token);

}  // namespace canarymesh
