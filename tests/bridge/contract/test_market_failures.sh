#!/usr/bin/env bash
# MlcpMarket and MlcpCheckers refusals the scenario tests do not reach, each asserted to revert
# with its exact custom error (eth_call) and to be mined with status 0 when sent: invalid jobs,
# phases, wrong values, wrong verifier states and senders, anchors older than 256 blocks, tasks
# out of order, calls reserved to the two contracts, plain transfers.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=4 M_TASKS=2 M_N=2
deploy MlcpMarket
econ_load
CREATE="createMarketJob($SPEC_SIG,$ECON_SIG)"
REG="registerVerifier(uint256,bytes32)"
CV="commitVerdicts(uint256,uint256,bytes32)"
RV="revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)"

# ---- creation ----
bad_spec() {   # bad_spec VAR=VALUE...: expect InvalidParameters() for the M_* job with those changes
  (for a in "$@"; do eval "$a"; done
  VALUE=$(market_escrow) expect_revert "InvalidParameters()" -- "$SUBMITTER" "$CREATE" "$(market_spec)" "$(econ_tuple)")
}
bad_spec M_TASKS=0
bad_spec M_PRICE=0
bad_spec M_VERDICT=0
bad_spec M_PHASE=0
bad_spec M_WINDOW=$((M_VERDICT + 2 * M_PHASE))   # no time left to challenge
bad_spec M_WINDOW=$((3650 * 86400 + 1))
bad_spec M_REFEREE_ADDR=0x0000000000000000000000000000000000000000
bad_spec E_stake=0
bad_spec E_bond=0
bad_spec E_verifierDeposit=0
bad_spec E_forcedRateBps=10001
bad_spec E_maxVerifiers=0
bad_spec E_maxVerifiers=17
bad_spec E_samplesPerVerifier=0
bad_spec E_samplesPerVerifier=9
(M_COMMITTEE=5; VALUE=$(market_escrow) expect_revert "UnknownCommittee()" -- "$SUBMITTER" "$CREATE" "$(market_spec)" "$(econ_tuple)")
VALUE=$(py "$(market_escrow) + 1") expect_revert "WrongValue(uint256)" "$(market_escrow)" -- "$SUBMITTER" "$CREATE" \
  "$(market_spec)" "$(econ_tuple)"
expect_revert "InvalidParameters()" -- "$STRANGER" "forcedCheckpointOf(bytes32,bytes32,uint256,uint256)" \
  "$(hash_of 11 1)" "$(hash_of 11 2)" 2500 0
TO=$CHECKERS expect_revert "InvalidParameters()" -- "$STRANGER" "sampleOf(bytes32,uint256,uint256)" "$(hash_of 11 1)" 2 3

# ---- the two contracts' private channel; plain transfers ----
TO=$CHECKERS expect_revert "NotMarket()" -- "$STRANGER" "openJob(uint256,uint256,uint32,uint128,uint128,uint128,uint8,uint8)" \
  1 1 2 1 1 1 1 1
TO=$CHECKERS expect_revert "NotMarket()" -- "$STRANGER" "closeTask(uint256,(uint8,uint256,uint256,bool))" 1 "(5,0,0,true)"
VALUE=1 expect_revert "NotCheckers()" -- "$STRANGER" 0x
TO=$CHECKERS expect_revert "NothingToWithdraw()" -- "$STRANGER" "withdraw()"

# ---- a job with forced errors: tasks in order, seeds, verifier states and phases ----
create_market_job
T1=$FIRST_TASK T2=$((FIRST_TASK + 1))
TO=$CHECKERS VALUE=$E_verifierDeposit expect_revert "UnknownTask()" -- "$VERIFIER" "$REG" 999 "$(hash_of 11 3)"
TO=$CHECKERS VALUE=$E_verifierDeposit expect_revert "BadJobState(uint8)" "$ST_OPEN" -- "$VERIFIER" "$REG" "$T1" "$(hash_of 11 3)"
expect_revert "NotVoidable()" -- "$STRANGER" "voidTask(uint256)" "$T1"
expect_revert "NotVoidable()" -- "$STRANGER" "voidTask(uint256)" "$T2"   # task 1 has not failed
accept_task "$SOLVER" "$T1" "$(hash_of 5d 1)"
expect_revert "AnchorUnavailable()" -- "$STRANGER" "anchorSeed(uint256)" "$T1"   # block b+1 not mined yet
TO=$CHECKERS VALUE=$(py "$E_verifierDeposit - 1") expect_revert "WrongValue(uint256)" "$E_verifierDeposit" -- "$VERIFIER" \
  "$REG" "$T1" "$(hash_of 11 3)"
TO=$CHECKERS VALUE=$E_verifierDeposit expect_revert "InvalidParameters()" -- "$VERIFIER" "$REG" "$T1" \
  0x0000000000000000000000000000000000000000000000000000000000000000
register_verifier "$VERIFIER" "$T1" "$(hash_of 11 4)"
REG_V=$V_REG_BLOCK
TO=$CHECKERS expect_revert "WrongVerifierStatus(uint8)" "$VS_OPEN" -- "$STRANGER" "anchorSample(uint256,uint256)" "$T1" 1
TO=$CHECKERS expect_revert "NotVerifier()" -- "$STRANGER" "$CV" "$T1" 0 "$(hash_of 11 5)"
TO=$CHECKERS expect_revert "WrongVerifierStatus(uint8)" "$VS_REGISTERED" -- "$STRANGER" "$RV" "$T1" 0 "$(hash_of 11 4)" \
  "$(hash_of 11 6)" 0
# A sample not anchored within 256 blocks never can be: the verifier is stuck (and will be absent).
register_verifier "$STRANGER" "$T1" "$(hash_of 11 7)"
cast rpc anvil_mine 0x120 >/dev/null
TO=$CHECKERS expect_revert "AnchorUnavailable()" -- "$STRANGER" "anchorSample(uint256,uint256)" "$T1" 1
TO=$CHECKERS expect_revert "AnchorUnavailable()" -- "$STRANGER" "$CV" "$T1" 1 "$(hash_of 11 8)"
TO=$CHECKERS VALUE=$E_verifierDeposit expect_revert "NoVerifierSlot()" -- "$RELAYER" "$REG" "$T1" "$(hash_of 11 9)"
# Same for the solver's seed (accepted 0x120 blocks ago): its task can never reveal.
expect_revert "AnchorUnavailable()" -- "$STRANGER" "anchorSeed(uint256)" "$T1"
# Start over with a fresh job, anchoring at once.
create_market_job
T1=$FIRST_TASK T2=$((FIRST_TASK + 1))
accept_task "$SOLVER" "$T1" "$(hash_of 5d 2)"
SEED=$(hash_of 5d 2)
anchor_seed "$T1"
expect_revert "AlreadyAnchored()" -- "$STRANGER" "anchorSeed(uint256)" "$T1"
register_verifier "$VERIFIER" "$T1" "$(hash_of 11 10)"
REG_V=$V_REG_BLOCK
verifier_sample "$T1" "$REG_V" "$(hash_of 11 10)" "$M_N" 1
read -r -a R1 <<<"$(task_roots honest 1)"
J=$(forced_of "$SEED" "$SEED_ANCHOR" "$E_forcedRateBps" "$M_N")
((J == 0)) || R1[$((J - 1))]=$(forced_root "$T1" "$J" "${R1[$((J - 1))]}" "$SEED")
commit_roots "$SOLVER" "$T1" "${R1[@]}"
VALUE=$E_stake expect_revert "PredecessorNotFinal()" -- "$SOLVER2" "acceptTask(uint256,bytes32)" "$T2" "$(hash_of 5d 3)"
TO=$CHECKERS tx "$VERIFIER" "$CV" "$T1" 0 "$(verdicts_commitment 0 "$(hash_of 11 10)")"
TO=$CHECKERS expect_revert "WrongVerifierStatus(uint8)" "$VS_COMMITTED" -- "$VERIFIER" "$CV" "$T1" 0 "$(hash_of 11 11)"
phase_load "$T1"
TO=$CHECKERS expect_revert "NotInPhase(uint256,uint256)" $((PH_T1 + 1)) "$PH_T2" -- "$STRANGER" "$RV" "$T1" 0 \
  "$(hash_of 11 10)" "$V_ANCHOR" 0
time_to $((PH_T1 + 1))
TO=$CHECKERS VALUE=$E_verifierDeposit expect_revert "NotInPhase(uint256,uint256)" 0 "$PH_T1" -- "$RELAYER" "$REG" "$T1" "$(hash_of 11 12)"
TO=$CHECKERS expect_revert "BadReveal()" -- "$STRANGER" "$RV" "$T1" 0 "$(hash_of 11 10)" "$(hash_of 11 13)" 0
TO=$CHECKERS tx "$STRANGER" "$RV" "$T1" 0 "$(hash_of 11 10)" "$V_ANCHOR" 0
TO=$CHECKERS expect_revert "WrongVerifierStatus(uint8)" "$VS_REVEALED" -- "$STRANGER" "$RV" "$T1" 0 "$(hash_of 11 10)" "$V_ANCHOR" 0
expect_revert "DeadlineNotPassed()" -- "$STRANGER" "timeout(uint256)" "$T1"
time_to $((PH_T2 + 1))
TRUE_J=$(VIEW_OFFSET=0 root_of honest "$((J == 0 ? 1 : J))")
tx "$SOLVER" "revealSeed(uint256,bytes32,bytes32,bytes32)" "$T1" "$SEED" "$SEED_ANCHOR" "$TRUE_J"
check_eq "task 2's start after task 1's reveal" "$(VIEW_OFFSET=0 root_of honest "$M_N")" "$(job_field "$T2" initialRoot)"
expect_revert "NothingToTimeOut()" -- "$STRANGER" "timeout(uint256)" "$T1"
# Task 2 may start now; it cannot settle before task 1.
accept_task "$SOLVER2" "$T2" "$(hash_of 5d 3)"
echo "PASS: every refused market call reverted with its named error"
