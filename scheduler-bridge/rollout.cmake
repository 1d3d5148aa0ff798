# The rollout state machine and the bridge service around it (rollout_machine.h, bridge_*.h).
# Talks to engines, ZooKeeper and metrics only through the interfaces in this folder; the bridge
# command in app/ wires the concrete implementations in.
add_library(cm_bridge_rollout
  ${CMAKE_CURRENT_LIST_DIR}/integration_check.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_machine.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_record.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_samples.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/bridge_api.cc
  ${CMAKE_CURRENT_LIST_DIR}/bridge_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/bridge_metrics.cc
  ${CMAKE_CURRENT_LIST_DIR}/bridge_service.cc
)
target_link_libraries(cm_bridge_rollout PUBLIC cm_bridge_backend_api cm_canary cm_core
  nlohmann_json::nlohmann_json yaml-cpp prometheus-cpp::core Threads::Threads)

# The bridge's wiring: the backend factory, which alone knows the concrete backends, and the
# ZooKeeper/metrics ports and HTTP client the bridge command and `canarymesh rollout` use.
add_library(cm_bridge_wiring ${CMAKE_CURRENT_LIST_DIR}/bridge_backend_factory.cc)
target_link_libraries(cm_bridge_wiring PUBLIC cm_bridge_rollout cm_bridge_backend_local
  cm_bridge_backend_cluster cm_bridge_ports cm_bridge_http)
