#!/usr/bin/env bash
# MlcpMarket (issue #17), forced errors. Jobs of one task of 4 checkpoints with forcedRateBps =
# 10000 (every task carries one), verifiers replaying all 4 checkpoints. The solver commits a
# seed, anchors it to the next block's hash, learns the forced checkpoint j and commits
# forcedRoot(task, j, trueRoot, seed) there; after the verdicts it reveals the seed and the true
# root replaces the forced one.
#   A: an honest verifier flags j and a lazy one approves everything: the flagger is paid the
#      jackpot plus the lazy verifier's deposit; the lazy one loses deposit and fee.
#   B: the only verifier is lazy: it loses deposit and fee, which go back to the submitter with
#      the unused jackpot.
#   C: a solver that ignores its forced error cannot reveal; after T3 timeout fails it (stake and
#      payment to the submitter); the verifier keeps its deposit and fee.
# Balances to the wei; refusals by their custom error.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=16 M_TASKS=1 M_N=4
LAZY=$STRANGER
deploy MlcpMarket
econ_load
E_forcedRateBps=10000 E_samplesPerVerifier=$M_N
P=$(task_payment)
read -r -a TRUE <<<"$(task_roots honest 1)"
REVEAL="revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)"
RSEED="revealSeed(uint256,bytes32,bytes32,bytes32)"

# forced_job SEED [IGNORE]: a fresh job, accepted by SOLVER with SEED, anchored; J_FORCED = the
# forced checkpoint; the roots committed (the forced one in place unless IGNORE) → TASK
forced_job() {
  create_market_job
  TASK=$FIRST_TASK
  accept_task "$SOLVER" "$TASK" "$1"
  anchor_seed "$TASK"
  J_FORCED=$(forced_of "$1" "$SEED_ANCHOR" 10000 "$M_N")
  check_eq "the contract's forced checkpoint = ours" "$J_FORCED" \
    "$(call "forcedCheckpointOf(bytes32,bytes32,uint256,uint256)(uint256)" "$1" "$SEED_ANCHOR" 10000 "$M_N")"
  ((J_FORCED >= 1 && J_FORCED <= M_N)) || fail "forced checkpoint $J_FORCED out of 1..$M_N"
  COMMITTED=("${TRUE[@]}")
  if [[ -z ${2:-} ]]; then
    FORCED_ROOT=$(forced_root "$TASK" "$J_FORCED" "${TRUE[$((J_FORCED - 1))]}" "$1")
    check_eq "the contract's forced root = ours" "$FORCED_ROOT" "$(call "forcedRoot(uint256,uint256,bytes32,bytes32)(bytes32)" \
      "$TASK" "$J_FORCED" "${TRUE[$((J_FORCED - 1))]}" "$1")"
    COMMITTED[$((J_FORCED - 1))]=$FORCED_ROOT
  fi
}
# verdicts ROLE SLOT SECRET REG_BLOCK [lazy]: sample, flags (lazy: 0) and the verdict commitment
verdicts() {
  verifier_sample "$TASK" "$4" "$3" "$M_N" "$M_N"
  if [[ -n ${5:-} ]]; then V_FLAGS=0; else V_FLAGS=$(flags_for "$TASK" "${TRUE[@]}"); fi
  TO=$CHECKERS tx "$1" "commitVerdicts(uint256,uint256,bytes32)" "$TASK" "$2" "$(verdicts_commitment "$V_FLAGS" "$3")"
}

# ============ A: the verifier catches it; the lazy verifier pays ============
snapshot_balances $SUBMITTER $SOLVER $VERIFIER $LAZY
SEED=$(hash_of 5d 1)
create_market_job
VALUE=$E_stake expect_revert "SeedRequired()" -- "$SOLVER" "acceptJob(uint256)" "$FIRST_TASK"
VALUE=$E_stake expect_revert "SeedRequired()" -- "$SOLVER" "acceptTask(uint256,bytes32)" "$FIRST_TASK" \
  0x0000000000000000000000000000000000000000000000000000000000000000
expect_revert "NoSeed()" -- "$STRANGER" "anchorSeed(uint256)" "$FIRST_TASK"
tx "$SUBMITTER" "cancelJob(uint256)" "$FIRST_TASK"   # (a job nobody took: escrow and budget back)
forced_job "$SEED"
expect_revert "AlreadyAnchored()" -- "$STRANGER" "anchorSeed(uint256)" "$TASK"
register_verifier "$VERIFIER" "$TASK" "$(hash_of 73 1)"
RH=$V_REG_BLOCK
register_verifier "$LAZY" "$TASK" "$(hash_of 73 2)"
RL=$V_REG_BLOCK
commit_roots "$SOLVER" "$TASK" "${COMMITTED[@]}"
verdicts "$VERIFIER" 0 "$(hash_of 73 1)" "$RH"
FH=$V_FLAGS AH=$V_ANCHOR
check_eq "the honest verifier flags exactly the forced checkpoint" "$J_FORCED" \
  "$(for i in "${!V_SAMPLE[@]}"; do (((FH >> i) & 1)) && echo "${V_SAMPLE[$i]}"; done)"
verdicts "$LAZY" 1 "$(hash_of 73 2)" "$RL" lazy
AL=$V_ANCHOR
phase_load "$TASK"
time_to $((PH_T1 + 1))
VALUE=$E_bond expect_revert "SeedNotRevealed()" -- "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$TASK" \
  "$J_FORCED" "${TRUE[$((J_FORCED - 1))]}"
TO=$CHECKERS tx "$VERIFIER" "$REVEAL" "$TASK" 0 "$(hash_of 73 1)" "$AH" "$FH"
TO=$CHECKERS tx "$LAZY" "$REVEAL" "$TASK" 1 "$(hash_of 73 2)" "$AL" 0
check_eq "flags on the forced checkpoint" 1 "$(TO=$CHECKERS call "flagCount(uint256,uint256)(uint256)" "$TASK" "$J_FORCED")"
expect_revert "NotInPhase(uint256,uint256)" $((PH_T2 + 1)) "$PH_T3" -- "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" \
  "${TRUE[$((J_FORCED - 1))]}"
time_to $((PH_T2 + 1))
expect_revert "BadForcedRoot()" -- "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" "$(hash_of 99 9)"
expect_revert "BadReveal()" -- "$SOLVER" "$RSEED" "$TASK" "$(hash_of 5d 9)" "$SEED_ANCHOR" "${TRUE[$((J_FORCED - 1))]}"
tx "$RELAYER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" "${TRUE[$((J_FORCED - 1))]}"   # anyone may send it
REVEAL_GAS=$TX_GAS
check_eq "root $J_FORCED after the reveal (the true one)" "${TRUE[$((J_FORCED - 1))]}" \
  "$(call "roots(uint256,uint256)(bytes32)" "$TASK" "$J_FORCED")"
check_eq "forced checkpoint recorded" "$J_FORCED" "$(call "tasks(uint256)(uint64,uint32,uint32,uint32,uint32,uint8,bytes32)" "$TASK" | sed -n 4p)"
expect_revert "NoSeed()" -- "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" "${TRUE[$((J_FORCED - 1))]}"
# Challenges are open now (the true root stands).
VALUE=$E_bond expect_revert "NoDisagreement()" -- "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$TASK" \
  "$J_FORCED" "${TRUE[$((J_FORCED - 1))]}"
time_to $((PH_END + 1))
tx "$STRANGER" "settle(uint256)" "$TASK"
POOL=$(py "$E_jackpot + $E_verifierDeposit")
check_eq "owed to the flagging verifier (deposit + fee + jackpot + lazy deposit)" \
  "$(py "$E_verifierDeposit + $E_verifierFee + $POOL")" "$(checkers_owed "$(addr_of "$VERIFIER")")"
check_eq "owed to the lazy verifier" 0 "$(checkers_owed "$(addr_of "$LAZY")")"
check_eq "owed to the solver (payment + stake)" "$(py "$P + $E_stake")" "$(owed "$(addr_of "$SOLVER")")"
check_eq "owed to the submitter (cancelled job's escrow; the lazy verifier's fee)" \
  "$(py "$(market_escrow) + $E_verifierFee")" "$(owed "$(addr_of "$SUBMITTER")")"
for r in $SUBMITTER $SOLVER; do tx "$r" "withdraw()"; done
TO=$CHECKERS tx "$VERIFIER" "withdraw()"
check_eq "A: submitter balance (paid the payment, one fee and the jackpot)" \
  "$(py "${B0[$SUBMITTER]} - $P - $E_verifierFee - $E_jackpot - ${SPENT[$SUBMITTER]}")" \
  "$(balance "$(addr_of "$SUBMITTER")")"
check_eq "A: solver balance" "$(py "${B0[$SOLVER]} + $P - ${SPENT[$SOLVER]}")" "$(balance "$(addr_of "$SOLVER")")"
check_eq "A: flagging verifier balance (+ fee + jackpot + lazy deposit)" \
  "$(py "${B0[$VERIFIER]} + $E_verifierFee + $POOL - ${SPENT[$VERIFIER]}")" "$(balance "$(addr_of "$VERIFIER")")"
check_eq "A: lazy verifier balance (- deposit)" "$(py "${B0[$LAZY]} - $E_verifierDeposit - ${SPENT[$LAZY]}")" \
  "$(balance "$(addr_of "$LAZY")")"
check_eq "A: market balance" 0 "$(balance "$CONTRACT")"
check_eq "A: checkers balance" 0 "$(balance "$CHECKERS")"
say "A: forced checkpoint $J_FORCED flagged by the verifier; revealSeed $REVEAL_GAS gas"

# ============ B: the only verifier is lazy and nobody catches it: it still loses ============
snapshot_balances $SUBMITTER $SOLVER $LAZY
E_maxVerifiers=1
SEED=$(hash_of 5d 2)
forced_job "$SEED"
register_verifier "$LAZY" "$TASK" "$(hash_of 73 3)"
RL=$V_REG_BLOCK
commit_roots "$SOLVER" "$TASK" "${COMMITTED[@]}"
verdicts "$LAZY" 0 "$(hash_of 73 3)" "$RL" lazy
AL=$V_ANCHOR
phase_load "$TASK"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$STRANGER" "$REVEAL" "$TASK" 0 "$(hash_of 73 3)" "$AL" 0
time_to $((PH_T2 + 1))
tx "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" "${TRUE[$((J_FORCED - 1))]}"
time_to $((PH_END + 1))
tx "$STRANGER" "settle(uint256)" "$TASK"
check_eq "B: owed to the lazy verifier" 0 "$(checkers_owed "$(addr_of "$LAZY")")"
check_eq "B: owed to the submitter (the lazy verifier's fee and deposit, the jackpot)" \
  "$(py "$E_verifierFee + $E_verifierDeposit + $E_jackpot")" "$(owed "$(addr_of "$SUBMITTER")")"
for r in $SUBMITTER $SOLVER; do tx "$r" "withdraw()"; done
check_eq "B: submitter balance (paid the payment, got the lazy deposit)" \
  "$(py "${B0[$SUBMITTER]} - $P + $E_verifierDeposit - ${SPENT[$SUBMITTER]}")" "$(balance "$(addr_of "$SUBMITTER")")"
check_eq "B: lazy verifier balance (- deposit)" "$(py "${B0[$LAZY]} - $E_verifierDeposit - ${SPENT[$LAZY]}")" \
  "$(balance "$(addr_of "$LAZY")")"
check_eq "B: market balance" 0 "$(balance "$CONTRACT")"
check_eq "B: checkers balance" 0 "$(balance "$CHECKERS")"
say "B: forced checkpoint $J_FORCED approved by the lazy verifier alone"

# ============ C: a solver that ignores its forced error cannot reveal and fails ============
snapshot_balances $SUBMITTER $SOLVER $VERIFIER
SEED=$(hash_of 5d 3)
forced_job "$SEED" ignore
register_verifier "$VERIFIER" "$TASK" "$(hash_of 73 4)"
RH=$V_REG_BLOCK
commit_roots "$SOLVER" "$TASK" "${COMMITTED[@]}"
verdicts "$VERIFIER" 0 "$(hash_of 73 4)" "$RH"
check_eq "C: the verifier approves every (true) root" 0 "$V_FLAGS"
AH=$V_ANCHOR
phase_load "$TASK"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$VERIFIER" "$REVEAL" "$TASK" 0 "$(hash_of 73 4)" "$AH" 0
time_to $((PH_T2 + 1))
expect_revert "BadForcedRoot()" -- "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" "${TRUE[$((J_FORCED - 1))]}"
expect_revert "DeadlineNotPassed()" -- "$STRANGER" "timeout(uint256)" "$TASK"
time_to $((PH_T3 + 1))
expect_revert "NotInPhase(uint256,uint256)" $((PH_T2 + 1)) "$PH_T3" -- "$SOLVER" "$RSEED" "$TASK" "$SEED" "$SEED_ANCHOR" \
  "${TRUE[$((J_FORCED - 1))]}"
time_to $((PH_END + 1))
expect_revert "SeedNotRevealed()" -- "$STRANGER" "settle(uint256)" "$TASK"
tx "$STRANGER" "timeout(uint256)" "$TASK"
check_eq "C: task state" "$ST_SOLVER_FAILED" "$(job_field "$TASK" state)"
check_eq "C: owed to the submitter (payment + stake + jackpot)" "$(py "$P + $E_stake + $E_jackpot")" \
  "$(owed "$(addr_of "$SUBMITTER")")"
check_eq "C: owed to the verifier (deposit + fee)" "$(py "$E_verifierDeposit + $E_verifierFee")" \
  "$(checkers_owed "$(addr_of "$VERIFIER")")"
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"
tx "$SUBMITTER" "withdraw()"
TO=$CHECKERS tx "$VERIFIER" "withdraw()"
check_eq "C: solver balance (- stake)" "$(py "${B0[$SOLVER]} - $E_stake - ${SPENT[$SOLVER]}")" "$(balance "$(addr_of "$SOLVER")")"
check_eq "C: submitter balance (+ stake - fee)" "$(py "${B0[$SUBMITTER]} + $E_stake - $E_verifierFee - ${SPENT[$SUBMITTER]}")" \
  "$(balance "$(addr_of "$SUBMITTER")")"
check_eq "C: market balance" 0 "$(balance "$CONTRACT")"
check_eq "C: checkers balance" 0 "$(balance "$CHECKERS")"
echo "PASS: a forced error flagged by a verifier was paid the jackpot; lazy approvers lost their deposits; an ignored forced error failed its solver"
