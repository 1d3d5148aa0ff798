# Tests of the bridge's ports (scheduler-bridge/bridge_ports.cmake), against a real ZooKeeper
# (tests/integration/zk_server.h) and, for the metrics sources, real `canarymesh proxy` and
# `canarymesh-sample` processes and Debian's Prometheus.
canarymesh_test(zk_ports_test
  SOURCES zk_rollout_store_test.cc zk_leader_election_test.cc zk_route_weights_writer_test.cc
  LIBS cm_bridge_ports cm_zk_test_server)

# Real sidecars: the `canarymesh` and `canarymesh-sample` binaries of this build, and Prometheus.
find_program(CANARYMESH_PROMETHEUS prometheus REQUIRED)
add_library(cm_metrics_source_test_world STATIC metrics_source_test_world.cc)
target_link_libraries(cm_metrics_source_test_world PUBLIC cm_bridge_ports cm_zk_test_server
  GTest::gtest)
target_compile_definitions(cm_metrics_source_test_world PRIVATE
  CANARYMESH_BINARY="$<TARGET_FILE:canarymesh>"
  CANARYMESH_SAMPLE_BINARY="$<TARGET_FILE:canarymesh-sample>")
canarymesh_test(metrics_source_test
  SOURCES sidecar_metrics_source_test.cc prometheus_metrics_source_test.cc
  LIBS cm_metrics_source_test_world)
target_compile_definitions(metrics_source_test PRIVATE
  CANARYMESH_PROMETHEUS="${CANARYMESH_PROMETHEUS}")
add_dependencies(metrics_source_test canarymesh canarymesh-sample)
