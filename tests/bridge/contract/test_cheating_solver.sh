#!/usr/bin/env bash
# Cheating solver: a fault planted at global step 150, operator 5 of 20, makes roots 3 and 4 wrong
# (64 steps per checkpoint). An honest challenger challenges checkpoint 3, wins the bisection down
# to (step 150, operator 5), the referee rules against the solver: the challenger gets its bond
# back plus the solver's stake, the submitter gets the escrow back. Balances checked to the wei.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

ETHER=1000000000000000000
ESCROW=$ETHER STAKE=$(py "$ETHER // 2") BOND=$(py "$ETHER // 5")
N=4 STEPS=64 NUM_OPS=20 FAULT=fault:150:5
deploy
sub0=$(balance "$(addr_of $SUBMITTER)") sol0=$(balance "$(addr_of $SOLVER)") ch0=$(balance "$(addr_of $CHALLENGER)")

create_job "$ESCROW" "$N" "$STEPS" "$STAKE" "$BOND" 3600 600 300
sub_cost=$TX_COST
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
sol_cost=$TX_COST
commit_all "$SOLVER" "$FAULT" "$JOB" "$N"
sol_cost=$(py "$sol_cost + $COMMIT_COST_TOTAL")
check_eq "solver's root 2 (before the fault)" "$(root_of honest 2)" "$(call "roots(uint256,uint256)(bytes32)" "$JOB" 2)"
check_eq "solver's root 3 (after the fault)" "$(root_of "$FAULT" 3)" "$(call "roots(uint256,uint256)(bytes32)" "$JOB" 3)"

VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 3 "$(root_of honest 3)"
ch_cost=$TX_COST
check_eq "challenger balance after challenge" "$(py "$ch0 - $BOND - $ch_cost")" "$(balance "$(addr_of $CHALLENGER)")"
check_eq "job state" "$ST_DISPUTED" "$(job_field "$JOB" state)"
expect_revert "DisputeOpen()" -- "$STRANGER" "settle(uint256)" "$JOB"

play_dispute "$JOB" "$FAULT" honest "$NUM_OPS"
sol_cost=$(py "$sol_cost + $SOLVER_COST") ch_cost=$(py "$ch_cost + $CHALLENGER_COST")
dispute_load "$JOB"
check_eq "phase" "$PH_VERDICT" "$D_phase"
check_eq "disputed step" 150 "$D_step"
check_eq "operators" "$NUM_OPS" "$D_numOps"
check_eq "disputed operator (lo)" 5 "$D_lo"
check_eq "hi" 6 "$D_hi"
check_eq "agreed input hash" "$(ops_of honest 150 5)" "$D_hashLo"
check_eq "solver's output hash" "$(ops_of "$FAULT" 150 6)" "$D_solverHashHi"
check_eq "challenger's output hash" "$(ops_of honest 150 6)" "$D_challengerHashHi"

# Only the referee may rule.
expect_revert "NotReferee()" -- "$CHALLENGER" "resolve(uint256,bool)" "$JOB" false
ch_cost=$(py "$ch_cost + $TX_COST")
expect_revert "NotReferee()" -- "$SOLVER" "resolve(uint256,bool)" "$JOB" true
sol_cost=$(py "$sol_cost + $TX_COST")
tx "$REFEREE" "resolve(uint256,bool)" "$JOB" false
check_eq "job state" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
check_eq "owed to challenger (bond + stake)" "$(py "$BOND + $STAKE")" "$(owed "$(addr_of $CHALLENGER)")"
check_eq "owed to submitter (escrow)" "$ESCROW" "$(owed "$(addr_of $SUBMITTER)")"
check_eq "owed to solver" 0 "$(owed "$(addr_of $SOLVER)")"
expect_revert "BadJobState(uint8)" "$ST_SOLVER_FAILED" -- "$STRANGER" "settle(uint256)" "$JOB"

tx "$CHALLENGER" "withdraw()"
ch_cost=$(py "$ch_cost + $TX_COST")
tx "$SUBMITTER" "withdraw()"
sub_cost=$(py "$sub_cost + $TX_COST")
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"
sol_cost=$(py "$sol_cost + $TX_COST")
check_eq "challenger balance at the end (+ solver's stake)" "$(py "$ch0 + $STAKE - $ch_cost")" \
  "$(balance "$(addr_of $CHALLENGER)")"
check_eq "submitter balance at the end (escrow back)" "$(py "$sub0 - $sub_cost")" "$(balance "$(addr_of $SUBMITTER)")"
check_eq "solver balance at the end (stake lost)" "$(py "$sol0 - $STAKE - $sol_cost")" "$(balance "$(addr_of $SOLVER)")"
check_eq "contract balance at the end" 0 "$(balance "$CONTRACT")"
moves_gas=$GAME_GAS

# The ends of the operator interval: a fault in operator 0 (the step's input state), and a solver
# whose operators all agree but whose output hash (here root 1: step 8 ends the interval) does
# not follow from them (the disputed position is then numOps).
STEPS=8 NUM_OPS=6
for fault_op in 0 "$NUM_OPS"; do
  create_job "$ESCROW" 1 "$STEPS" "$STAKE" "$BOND" 3600 600 300
  VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
  commit_all "$SOLVER" "fault:8:$fault_op" "$JOB" 1
  VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 1 "$(root_of honest 1)"
  play_dispute "$JOB" "fault:8:$fault_op" honest "$NUM_OPS"
  dispute_load "$JOB"
  check_eq "fault at operator $fault_op: step" 8 "$D_step"
  check_eq "fault at operator $fault_op: disputed position" "$fault_op" "$D_lo"
  if ((fault_op == NUM_OPS)); then
    check_eq "agreed prefix hash" "$(ops_of honest 8 "$NUM_OPS")" "$D_hashLo"
    check_eq "solver's output (root 1)" "$(root_of "fault:8:$fault_op" 1)" "$D_solverHashHi"
    check_eq "challenger's output (root 1)" "$(root_of honest 1)" "$D_challengerHashHi"
  fi
  tx "$REFEREE" "resolve(uint256,bool)" "$JOB" false
  check_eq "job state" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
done
echo "PASS: cheating solver lost at step 150 operator 5 (dispute moves: $moves_gas gas), and at both ends of the operator interval"
