# The bridge's "ports" to the outside (issue 6): ZooKeeper-backed rollout store, leader election
# and route-weights writer, and the judge's data sources (the sidecars' /admin/stats, Prometheus).
add_library(cm_bridge_ports
  prometheus_metrics_source.cc
  sidecar_metrics_source.cc
  zk_leader_election.cc
  zk_rollout_store.cc
  zk_route_weights_writer.cc
)
target_link_libraries(cm_bridge_ports PUBLIC cm_discovery cm_canary cm_core cm_bridge_http
  nlohmann_json::nlohmann_json Threads::Threads)
