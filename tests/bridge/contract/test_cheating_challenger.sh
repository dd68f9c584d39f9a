#!/usr/bin/env bash
# Cheating challenger: the solver is honest; a challenger with a planted fault (step 100,
# operator 12 of 16) challenges checkpoint 2 (32 steps per checkpoint), loses the bisection at the
# referee: the solver gains the bond, the job goes back to Committed, and after the window the
# solver is paid escrow + stake. Balances checked to the wei.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

ETHER=1000000000000000000
ESCROW=$(py "2 * $ETHER") STAKE=$ETHER BOND=$(py "3 * $ETHER // 10")
N=5 STEPS=32 NUM_OPS=16 FAULT=fault:40:12 WINDOW=900
deploy
sub0=$(balance "$(addr_of $SUBMITTER)") sol0=$(balance "$(addr_of $SOLVER)") ch0=$(balance "$(addr_of $CHALLENGER)")

create_job "$ESCROW" "$N" "$STEPS" "$STAKE" "$BOND" 3600 "$WINDOW" 300
sub_cost=$TX_COST
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
sol_cost=$TX_COST
commit_all "$SOLVER" honest "$JOB" "$N"
sol_cost=$(py "$sol_cost + $COMMIT_COST_TOTAL")

# The challenger's own (wrong) root for checkpoint 2, which holds step 40.
VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 2 "$(root_of "$FAULT" 2)"
ch_cost=$TX_COST
window_left=$(($(job_field "$JOB" windowEnd) - $(now)))
check_eq "windowLeft recorded at the challenge" "$window_left" "$(dispute_load "$JOB"; echo "$D_windowLeft")"
# A second challenge while one is open is refused.
VALUE=$BOND expect_revert "DisputeOpen()" -- "$STRANGER" "challenge(uint256,uint256,bytes32)" "$JOB" 3 "$(hash_of 99 3)"

play_dispute "$JOB" honest "$FAULT" "$NUM_OPS"
sol_cost=$(py "$sol_cost + $SOLVER_COST") ch_cost=$(py "$ch_cost + $CHALLENGER_COST")
dispute_load "$JOB"
check_eq "phase" "$PH_VERDICT" "$D_phase"
check_eq "disputed step" 40 "$D_step"
check_eq "disputed operator" 12 "$D_lo"
check_eq "solver's output hash" "$(ops_of honest 40 13)" "$D_solverHashHi"
check_eq "challenger's output hash" "$(ops_of "$FAULT" 40 13)" "$D_challengerHashHi"

window_end0=$(job_field "$JOB" windowEnd)
time_travel 250   # the referee takes its time (moveTimeout is 300 s)
tx "$REFEREE" "resolve(uint256,bool)" "$JOB" true
check_eq "job state after the challenger lost" "$ST_COMMITTED" "$(job_field "$JOB" state)"
# The window was paused during the dispute: it reopens with the time that was left.
check_eq "windowEnd after the dispute" "$(($(now) + window_left))" "$(job_field "$JOB" windowEnd)"
(($(job_field "$JOB" windowEnd) >= window_end0 + 250)) || fail "the window was not extended by the dispute's 250 s"
check_eq "owed to solver (bond)" "$BOND" "$(owed "$(addr_of $SOLVER)")"
check_eq "owed to challenger" 0 "$(owed "$(addr_of $CHALLENGER)")"
check_eq "dispute cleared" "$PH_NONE" "$(dispute_load "$JOB"; echo "$D_phase")"

# The bond is withdrawable at once; escrow and stake only after the window.
tx "$SOLVER" "withdraw()"
sol_cost=$(py "$sol_cost + $TX_COST")
check_eq "solver balance after withdrawing the bond" "$(py "$sol0 - $STAKE + $BOND - $sol_cost")" \
  "$(balance "$(addr_of $SOLVER)")"
expect_revert "ChallengeWindowOpen()" -- "$SOLVER" "settle(uint256)" "$JOB"
sol_cost=$(py "$sol_cost + $TX_COST")
time_travel $((window_left + 1))
VALUE=$BOND expect_revert "ChallengeWindowClosed()" -- "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 2 \
  "$(root_of "$FAULT" 2)"
ch_cost=$(py "$ch_cost + $TX_COST")
tx "$SUBMITTER" "settle(uint256)" "$JOB"
sub_cost=$(py "$sub_cost + $TX_COST")
check_eq "owed to solver (escrow + stake)" "$(py "$ESCROW + $STAKE")" "$(owed "$(addr_of $SOLVER)")"
tx "$SOLVER" "withdraw()"
sol_cost=$(py "$sol_cost + $TX_COST")
expect_revert "NothingToWithdraw()" -- "$CHALLENGER" "withdraw()"
ch_cost=$(py "$ch_cost + $TX_COST")
check_eq "solver balance at the end (+ escrow + bond)" "$(py "$sol0 + $ESCROW + $BOND - $sol_cost")" \
  "$(balance "$(addr_of $SOLVER)")"
check_eq "challenger balance at the end (bond lost)" "$(py "$ch0 - $BOND - $ch_cost")" "$(balance "$(addr_of $CHALLENGER)")"
check_eq "submitter balance at the end (escrow paid)" "$(py "$sub0 - $ESCROW - $sub_cost")" \
  "$(balance "$(addr_of $SUBMITTER)")"
check_eq "contract balance at the end" 0 "$(balance "$CONTRACT")"
echo "PASS: cheating challenger lost at step 40 operator 12; solver paid escrow + bond"
