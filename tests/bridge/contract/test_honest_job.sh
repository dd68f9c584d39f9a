#!/usr/bin/env bash
# Honest job on a real anvil: create (escrow) -> accept (stake) -> roots 1..N committed (two by a
# relayer with the solver's signatures, the rest batched by the solver) -> early settle refused ->
# window passes -> settle -> withdraw. Every balance change is checked to the wei.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

ETHER=1000000000000000000
ESCROW=$(py "3 * $ETHER // 2") STAKE=$(py "$ETHER // 2") BOND=$(py "$ETHER // 4")
N=4 STEPS=16 WINDOW=600
deploy
sub0=$(balance "$(addr_of $SUBMITTER)") sol0=$(balance "$(addr_of $SOLVER)") rel0=$(balance "$(addr_of $RELAYER)")

create_job "$ESCROW" "$N" "$STEPS" "$STAKE" "$BOND" 3600 "$WINDOW" 300
check_eq "job id" 1 "$JOB"
sub_cost=$TX_COST
check_eq "submitter balance after create" "$(py "$sub0 - $ESCROW - $sub_cost")" "$(balance "$(addr_of $SUBMITTER)")"
check_eq "contract balance after create" "$ESCROW" "$(balance "$CONTRACT")"
check_eq "job state" "$ST_OPEN" "$(job_field "$JOB" state)"
check_eq "job escrow" "$ESCROW" "$(job_field "$JOB" escrow)"

VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
sol_cost=$TX_COST
check_eq "solver balance after accept" "$(py "$sol0 - $STAKE - $sol_cost")" "$(balance "$(addr_of $SOLVER)")"
check_eq "job solver" "$(addr_of $SOLVER)" "$(job_field "$JOB" solver)"
check_eq "job state" "$ST_ACCEPTED" "$(job_field "$JOB" state)"

# The contract's message and EIP-191 digest equal the ones computed here with cast alone.
root1=$(root_of honest 1)
check_eq "checkpointMessage" "$(checkpoint_message "$JOB" 1 "$root1")" \
  "$(call "checkpointMessage(uint256,uint256,bytes32)(bytes32)" "$JOB" 1 "$root1")"
msg=$(checkpoint_message "$JOB" 1 "$root1")
check_eq "checkpointDigest" "$(cast keccak "0x19457468657265756d205369676e6564204d6573736167653a0a3332${msg#0x}")" \
  "$(call "checkpointDigest(uint256,uint256,bytes32)(bytes32)" "$JOB" 1 "$root1")"

# Roots 1..2 sent by a relayer: the solver pays nothing for them.
commit_all "$SOLVER" honest "$JOB" 2 "$RELAYER"
check_eq "relayer balance after 2 commits" "$(py "$rel0 - $COMMIT_COST_TOTAL")" "$(balance "$(addr_of $RELAYER)")"
check_eq "committed" 2 "$(job_field "$JOB" committed)"
# Roots 3..4 in one batch by the solver.
r3=$(root_of honest 3) r4=$(root_of honest 4)
read -r v3 rr3 s3 < <(sign_checkpoint "$SOLVER" "$JOB" 3 "$r3")
read -r v4 rr4 s4 < <(sign_checkpoint "$SOLVER" "$JOB" 4 "$r4")
tx "$SOLVER" "commitCheckpoints(uint256,uint256,bytes32[],uint8[],bytes32[],bytes32[])" "$JOB" 3 \
  "[$r3,$r4]" "[$v3,$v4]" "[$rr3,$rr4]" "[$s3,$s4]"
sol_cost=$(py "$sol_cost + $TX_COST")
for k in 1 2 3 4; do
  check_eq "root $k on chain" "$(root_of honest $k)" "$(call "roots(uint256,uint256)(bytes32)" "$JOB" $k)"
done
check_eq "job state after the final commit" "$ST_COMMITTED" "$(job_field "$JOB" state)"
check_eq "windowEnd" "$(($(now) + WINDOW))" "$(job_field "$JOB" windowEnd)"
check_eq "solver balance after its batch" "$(py "$sol0 - $STAKE - $sol_cost")" "$(balance "$(addr_of $SOLVER)")"

# Early settle: refused with ChallengeWindowOpen (by anyone).
expect_revert "ChallengeWindowOpen()" -- "$STRANGER" "settle(uint256)" "$JOB"
time_travel $((WINDOW + 1))
tx "$STRANGER" "settle(uint256)" "$JOB"
check_eq "job state after settle" "$ST_SETTLED" "$(job_field "$JOB" state)"
check_eq "owed to solver" "$(py "$ESCROW + $STAKE")" "$(owed "$(addr_of $SOLVER)")"
check_eq "owed to submitter" 0 "$(owed "$(addr_of $SUBMITTER)")"
expect_revert "BadJobState(uint8)" "$ST_SETTLED" -- "$STRANGER" "settle(uint256)" "$JOB"

tx "$SOLVER" "withdraw()"
sol_cost=$(py "$sol_cost + $TX_COST")
check_eq "solver balance after withdraw (paid escrow, stake back)" "$(py "$sol0 + $ESCROW - $sol_cost")" \
  "$(balance "$(addr_of $SOLVER)")"
check_eq "contract balance after withdraw" 0 "$(balance "$CONTRACT")"
# Double withdraw: nothing is owed any more.
expect_revert "NothingToWithdraw()" -- "$SOLVER" "withdraw()"
sol_cost=$(py "$sol_cost + $TX_COST")
check_eq "solver balance after the refused second withdraw" "$(py "$sol0 + $ESCROW - $sol_cost")" \
  "$(balance "$(addr_of $SOLVER)")"
expect_revert "NothingToWithdraw()" -- "$SUBMITTER" "withdraw()"
sub_cost=$(py "$sub_cost + $TX_COST")
check_eq "submitter balance at the end" "$(py "$sub0 - $ESCROW - $sub_cost")" "$(balance "$(addr_of $SUBMITTER)")"
echo "PASS: honest job paid to the wei (escrow $ESCROW wei, stake $STAKE wei returned)"
