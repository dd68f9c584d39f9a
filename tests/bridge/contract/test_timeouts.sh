#!/usr/bin/env bash
# Missed deadlines (time moved with evm_increaseTime, never slept): the late move is refused with
# DeadlinePassed and anyone's timeout() ends it — a solver that does not finish its commitments,
# a silent solver (claims, and operator count), a silent challenger, a silent referee.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

ETHER=1000000000000000000
ESCROW=$ETHER STAKE=$(py "$ETHER // 2") BOND=$(py "$ETHER // 5")
MOVE=300 WINDOW=100000
deploy
CH="challenge(uint256,uint256,bytes32)"
P="postClaims(uint256,bytes32[])"
S="chooseSegment(uint256,uint256,bytes32[],bytes32)"

# withdraw_all ROLE: withdraw what ROLE is owed (checked to equal EXPECT) and check the balance
# moved by exactly that minus the withdraw's gas.
withdraw_exact() {
  local role=$1 expect=$2 b0
  check_eq "owed to account $role" "$expect" "$(owed "$(addr_of "$role")")"
  b0=$(balance "$(addr_of "$role")")
  tx "$role" "withdraw()"
  check_eq "balance of account $role after withdraw" "$(py "$b0 + $expect - $TX_COST")" "$(balance "$(addr_of "$role")")"
}

# ---- A: commitments not finished by commitDeadline: stake and escrow to the submitter ----
STEPS=16
create_job "$ESCROW" 3 "$STEPS" "$STAKE" "$BOND" 1000 "$WINDOW" "$MOVE"
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
commit_all "$SOLVER" honest "$JOB" 1
time_travel 1001
read -r v r s < <(sign_checkpoint "$SOLVER" "$JOB" 2 "$(root_of honest 2)")
expect_revert "DeadlinePassed()" -- "$SOLVER" "commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)" \
  "$JOB" 2 "$(root_of honest 2)" "$v" "$r" "$s"
tx "$STRANGER" "timeout(uint256)" "$JOB"
check_eq "A: job state" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
withdraw_exact "$SUBMITTER" "$(py "$ESCROW + $STAKE")"
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"
expect_revert "NothingToTimeOut()" -- "$STRANGER" "timeout(uint256)" "$JOB"

# committed_job N STEPS: a job with roots 1..N committed by an honest solver → JOB
committed_job() {
  STEPS=$2
  create_job "$ESCROW" "$1" "$2" "$STAKE" "$BOND" 3600 "$WINDOW" "$MOVE"
  VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
  commit_all "$SOLVER" honest "$JOB" "$1"
}

# ---- B: the solver does not answer a challenge: it loses ----
committed_job 2 16
VALUE=$BOND tx "$CHALLENGER" "$CH" "$JOB" 1 "$(root_of fault:5:0 1)"
expect_revert "DeadlineNotPassed()" -- "$STRANGER" "timeout(uint256)" "$JOB"
time_travel $((MOVE + 1))
claims=()
for i in 1 2 3 4 5 6 7; do claims+=("$(state_of honest $((i * 2)))"); done
expect_revert "DeadlinePassed()" -- "$SOLVER" "$P" "$JOB" "$(_join "${claims[@]}")"
tx "$STRANGER" "timeout(uint256)" "$JOB"
check_eq "B: job state" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
withdraw_exact "$CHALLENGER" "$(py "$BOND + $STAKE")"
withdraw_exact "$SUBMITTER" "$ESCROW"
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"

# ---- C: the challenger does not answer the solver's claims: it loses its bond ----
committed_job 2 16
VALUE=$BOND tx "$CHALLENGER" "$CH" "$JOB" 2 "$(root_of fault:20:0 2)"
dispute_load "$JOB"
mapfile -t pts < <(points "$D_lo" "$D_hi")
claims=()
for p in "${pts[@]}"; do claims+=("$(state_of honest $((STEPS + p)))"); done
tx "$SOLVER" "$P" "$JOB" "$(_join "${claims[@]}")"
time_travel $((MOVE + 1))
expect_revert "DeadlinePassed()" -- "$CHALLENGER" "$S" "$JOB" 1 "$(_join "${claims[@]}")" "$(hash_of 99 1)"
tx "$STRANGER" "timeout(uint256)" "$JOB"
check_eq "C: job state (back to Committed)" "$ST_COMMITTED" "$(job_field "$JOB" state)"
JOB_C=$JOB
withdraw_exact "$SOLVER" "$BOND"
expect_revert "NothingToWithdraw()" -- "$CHALLENGER" "withdraw()"

# ---- D: one step per checkpoint: the solver must post its operator count, and does not ----
committed_job 2 1
VALUE=$BOND tx "$CHALLENGER" "$CH" "$JOB" 2 "$(root_of fault:2:0 2)"
dispute_load "$JOB"
check_eq "D: phase right after the challenge" "$PH_OPCOUNT" "$D_phase"
expect_revert "NotSolver()" -- "$CHALLENGER" "postOperators(uint256,uint32,bytes32[])" "$JOB" 1 "[]"
time_travel $((MOVE + 1))
expect_revert "DeadlinePassed()" -- "$SOLVER" "postOperators(uint256,uint32,bytes32[])" "$JOB" 1 "[]"
tx "$STRANGER" "timeout(uint256)" "$JOB"
check_eq "D: job state" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
withdraw_exact "$CHALLENGER" "$(py "$BOND + $STAKE")"
withdraw_exact "$SUBMITTER" "$ESCROW"

# ---- E: the referee is silent: the dispute is dropped, the bond refunded, no one slashed ----
committed_job 2 4
VALUE=$BOND tx "$CHALLENGER" "$CH" "$JOB" 1 "$(root_of fault:3:1 1)"
play_dispute "$JOB" honest fault:3:1 3
dispute_load "$JOB"
check_eq "E: phase" "$PH_VERDICT" "$D_phase"
check_eq "E: step" 3 "$D_step"
check_eq "E: operator" 1 "$D_lo"
time_travel $((MOVE + 1))
expect_revert "DeadlinePassed()" -- "$REFEREE" "resolve(uint256,bool)" "$JOB" true
tx "$STRANGER" "timeout(uint256)" "$JOB"
check_eq "E: job state" "$ST_COMMITTED" "$(job_field "$JOB" state)"
withdraw_exact "$CHALLENGER" "$BOND"
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"
time_travel $((WINDOW + 1))
tx "$STRANGER" "settle(uint256)" "$JOB"
tx "$STRANGER" "settle(uint256)" "$JOB_C"
withdraw_exact "$SOLVER" "$(py "2 * ($ESCROW + $STAKE)")"
check_eq "contract balance at the end" 0 "$(balance "$CONTRACT")"
echo "PASS: every missed deadline was refused and timed out as the protocol says"
