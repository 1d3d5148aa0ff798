// Turns the proxy's own counters (summed over workers) and process figures into Prometheus
// metric families for GET /metrics, next to the per-version families of the stats registry.
// Called on the admin thread; reads workers' relaxed atomics. Thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <vector>

#include "router/worker.h"

namespace canarymesh {

std::vector<prometheus::MetricFamily> CollectRouterFamilies(
    const std::vector<std::unique_ptr<router::Worker>>& workers);
std::vector<prometheus::MetricFamily> CollectProcessFamilies();

// Helpers for building families by hand.
prometheus::MetricFamily CounterFamily(const std::string& name, const std::string& help);
prometheus::MetricFamily GaugeFamily(const std::string& name, const std::string& help);
void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels = {});

}  // namespace canarymesh
