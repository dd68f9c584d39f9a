# GoogleTest binaries for the C++ chain client (issue #5). Offline tests use published vectors;
# the chain tests start a real anvil through bridge/scripts/anvil-start.sh and skip with a
# reason when the pinned chain tools are not installed (bridge/scripts/install-chain-tools.sh).
foreach(concept encoding eth_key transaction json_rpc)
  mlcp_add_test(test_bridge_${concept} SOURCES test_bridge_${concept}.cc DEPS mlcp_bridge LABELS bridge)
endforeach()
foreach(concept chain outbox dispute)
  mlcp_add_test(test_bridge_${concept} SOURCES test_bridge_${concept}.cc anvil_fixture.cc
                DEPS mlcp_bridge LABELS "bridge;chain" TIMEOUT 300)
endforeach()
# The command line, through the built `mlcp` binary.
mlcp_add_test(test_bridge_cli SOURCES test_bridge_cli.cc anvil_fixture.cc DEPS mlcp_bridge LABELS "bridge;chain" TIMEOUT 300)
add_dependencies(test_bridge_cli mlcp)
# The honest job with real training under mpirun (the lead's part of issue #5's test a).
mlcp_add_test(test_bridge_training SOURCES test_bridge_training.cc anvil_fixture.cc DEPS mlcp_bridge
              LABELS "bridge;chain;e2e" TIMEOUT 600)
add_dependencies(test_bridge_training mlcp)
