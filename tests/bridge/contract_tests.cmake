# Contract tests (issues #5 and #17): the Solidity contracts against a real anvil, driven by the
# pinned `cast`; each script starts its own anvil at a free port and stops it by PID. The chain
# tools come from bridge/scripts/install-chain-tools.sh (scripts/test.sh runs it before ctest).
set(MLCP_BRIDGE_DIR ${PROJECT_SOURCE_DIR}/bridge)
set(MLCP_CONTRACT_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/contract)

# The committed ABI/bytecode in bridge/contracts/build match the sources (recompiled by solcjs).
add_test(NAME bridge_contracts_build_matches_sources
  COMMAND ${MLCP_BRIDGE_DIR}/scripts/compile-contracts.sh --check)
# Exit 77 (skipped, with the reason) where the chain tools are not installed.
set_tests_properties(bridge_contracts_build_matches_sources PROPERTIES LABELS "bridge;chain" TIMEOUT 300
  SKIP_RETURN_CODE 77)

# One anvil per script (free port, stopped by pid), driven by cast through
# bridge/scripts/contract-lib.sh; balances are checked to the wei, refusals by their custom error.
# The game's tests run against MlcpJobs and, unchanged, against MlcpMarket (same ABI and meaning
# for a one-task job with a single referee).
foreach(t honest_job cheating_solver cheating_challenger failures timeouts)
  add_test(NAME bridge_contract_${t} COMMAND ${MLCP_CONTRACT_TEST_DIR}/test_${t}.sh)
  set_tests_properties(bridge_contract_${t} PROPERTIES LABELS "bridge;chain" TIMEOUT 300 SKIP_RETURN_CODE 77)
  add_test(NAME bridge_contract_${t}_on_market COMMAND ${MLCP_CONTRACT_TEST_DIR}/test_${t}.sh)
  set_tests_properties(bridge_contract_${t}_on_market PROPERTIES LABELS "bridge;chain" TIMEOUT 300
    SKIP_RETURN_CODE 77 ENVIRONMENT "MLCP_CONTRACT=MlcpMarket")
endforeach()
# The protocol's economics (MlcpMarket + MlcpCheckers): tasks, verifiers, forced errors,
# committees, the incentives table. Longer: many transactions and phases each.
foreach(t market_honest market_cheating_solver market_forced_error market_committee market_incentives
    market_failures)
  add_test(NAME bridge_contract_${t} COMMAND ${MLCP_CONTRACT_TEST_DIR}/test_${t}.sh)
  set_tests_properties(bridge_contract_${t} PROPERTIES LABELS "bridge;chain" TIMEOUT 600 SKIP_RETURN_CODE 77)
endforeach()
