# Contract tests (issue #5): the Solidity contracts against a real anvil, driven by the pinned
# `cast`; each script starts its own anvil at a free port and stops it by PID. The chain tools come
# from bridge/scripts/install-chain-tools.sh (scripts/test.sh runs it before ctest).
set(MLCP_BRIDGE_DIR ${PROJECT_SOURCE_DIR}/bridge)
set(MLCP_CONTRACT_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/contract)

# The committed ABI/bytecode in bridge/contracts/build match the sources (recompiled by solcjs).
add_test(NAME bridge_contracts_build_matches_sources
  COMMAND ${MLCP_BRIDGE_DIR}/scripts/compile-contracts.sh --check)
# Exit 77 (skipped, with the reason) where the chain tools are not installed.
set_tests_properties(bridge_contracts_build_matches_sources PROPERTIES LABELS "bridge;chain" TIMEOUT 120
  SKIP_RETURN_CODE 77)

# One anvil per script (free port, stopped by pid), driven by cast through
# bridge/scripts/contract-lib.sh; balances are checked to the wei, refusals by their custom error.
foreach(t honest_job cheating_solver cheating_challenger failures timeouts)
  add_test(NAME bridge_contract_${t} COMMAND ${MLCP_CONTRACT_TEST_DIR}/test_${t}.sh)
  set_tests_properties(bridge_contract_${t} PROPERTIES LABELS "bridge;chain" TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
