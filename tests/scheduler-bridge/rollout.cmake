# Rollout state machine and bridge: unit tests with the in-memory world (rollout_test_world.h).
canarymesh_test(rollout_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rollout_machine_test.cc ${CMAKE_CURRENT_LIST_DIR}/rollout_record_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/rollout_integration_check_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/bridge_service_test.cc ${CMAKE_CURRENT_LIST_DIR}/bridge_config_test.cc
  LIBS cm_bridge_rollout)
target_compile_definitions(rollout_test PRIVATE CANARYMESH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# The same rollouts against the Marathon and Kubernetes contract servers.
canarymesh_test(rollout_cluster_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rollout_cluster_test.cc
  LIBS cm_bridge_rollout cm_bridge_backend_cluster cm_test_contract_servers)
