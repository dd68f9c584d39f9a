#!/usr/bin/env bash
# MlcpMarket (issue #17), a solver cheating in task 2 of 3 (a fault planted at step 85 of the run,
# operator 7 of 12: task 2's roots 2..4 are wrong). Two verifiers replay all 4 checkpoints of task
# 2: an honest one flags roots 2..4, a lazy one approves everything. After the verdicts the honest
# verifier challenges checkpoint 2, the bisection runs down to (step 21 of the task, operator 7),
# and a 2-of-3 referee committee's signatures rule against the solver: it loses its stake to the
# challenger, which also gets the lazy verifier's deposit (it approved the disproved root); the
# submitter gets task 2's payment and unused budget back. Task 3, accepted on task 2's (wrong)
# final root, is voided with the stake returned. Task 1 settles normally. Balances to the wei.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=16 M_TASKS=3 M_N=4 NUM_OPS=12
FAULT=fault:85:7
LAZY=$STRANGER
deploy MlcpMarket
# Referees: a committee of 3 (REFEREE, RELAYER, DEPLOYER), any 2 of which decide.
tx "$SUBMITTER" "createCommittee(address[],uint8)" "[$(addr_of $REFEREE),$(addr_of $RELAYER),$(addr_of $DEPLOYER)]" 2
M_COMMITTEE=$(call "committeeCount()(uint256)")
econ_load
E_forcedRateBps=0 E_samplesPerVerifier=$M_N
P=$(task_payment)
snapshot_balances $SUBMITTER $SOLVER $SOLVER2 $VERIFIER $LAZY
create_market_job
T1=$FIRST_TASK T2=$((FIRST_TASK + 1)) T3=$((FIRST_TASK + 2))
check_eq "a committee task has no single referee" 0x0000000000000000000000000000000000000000 "$(job_field "$T2" referee)"

# ---- task 1 (honest) ----
VALUE=$E_stake tx "$SOLVER" "acceptJob(uint256)" "$T1"
read -r -a ROOTS1 <<<"$(task_roots honest 1)"
commit_roots "$SOLVER" "$T1" "${ROOTS1[@]}"

# ---- task 2: the cheat, two verifiers ----
VALUE=$E_stake tx "$SOLVER2" "acceptJob(uint256)" "$T2"
register_verifier "$VERIFIER" "$T2" "$(hash_of 72 1)"
REG_H=$V_REG_BLOCK
register_verifier "$LAZY" "$T2" "$(hash_of 72 2)"
REG_L=$V_REG_BLOCK
VALUE=$E_verifierDeposit TO=$CHECKERS expect_revert "NoVerifierSlot()" -- "$CHALLENGER" \
  "registerVerifier(uint256,bytes32)" "$T2" "$(hash_of 72 3)"
read -r -a BAD2 <<<"$(task_roots "$FAULT" 2)"
read -r -a TRUE2 <<<"$(task_roots honest 2)"
check_eq "the cheat leaves root 1 of task 2 right" "${TRUE2[0]}" "${BAD2[0]}"
[[ ${TRUE2[1]} != "${BAD2[1]}" ]] || fail "the planted fault does not change root 2 of task 2"
commit_roots "$SOLVER2" "$T2" "${BAD2[@]}"
# Task 3 may start on task 2's final root (it exists, though wrong).
VALUE=$E_stake tx "$SOLVER" "acceptJob(uint256)" "$T3"
check_eq "task 3 initial root = task 2's final root" "${BAD2[-1]}" "$(job_field "$T3" initialRoot)"

verifier_sample "$T2" "$REG_H" "$(hash_of 72 1)" "$M_N" "$M_N"
SH=("${V_SAMPLE[@]}") AH=$V_ANCHOR
FLAGS_H=$(flags_for "$T2" "${TRUE2[@]}")
verifier_sample "$T2" "$REG_L" "$(hash_of 72 2)" "$M_N" "$M_N"
AL=$V_ANCHOR
TO=$CHECKERS tx "$VERIFIER" "commitVerdicts(uint256,uint256,bytes32)" "$T2" 0 "$(verdicts_commitment "$FLAGS_H" "$(hash_of 72 1)")"
TO=$CHECKERS expect_revert "NotVerifier()" -- "$VERIFIER" "commitVerdicts(uint256,uint256,bytes32)" "$T2" 1 "$(hash_of 99 1)"
TO=$CHECKERS tx "$LAZY" "commitVerdicts(uint256,uint256,bytes32)" "$T2" 1 "$(verdicts_commitment 0 "$(hash_of 72 2)")"
phase_load "$T2"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$VERIFIER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T2" 0 "$(hash_of 72 1)" "$AH" "$FLAGS_H"
TO=$CHECKERS tx "$LAZY" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T2" 1 "$(hash_of 72 2)" "$AL" 0
for k in 1 2 3 4; do
  want=0; ((k >= 2)) && want=1
  check_eq "verifier flags on checkpoint $k of task 2" "$want" "$(TO=$CHECKERS call "flagCount(uint256,uint256)(uint256)" "$T2" "$k")"
done
# ---- the challenge (after the verdicts), the bisection and the committee's verdict ----
VALUE=$E_bond expect_revert "NotInPhase(uint256,uint256)" $((PH_T2 + 1)) "$PH_END" -- "$VERIFIER" \
  "challenge(uint256,uint256,bytes32)" "$T2" 2 "${TRUE2[1]}"
time_to $((PH_T2 + 1))
VALUE=$E_bond tx "$VERIFIER" "challenge(uint256,uint256,bytes32)" "$T2" 2 "${TRUE2[1]}"
VIEW_OFFSET=$M_N GAME_SOLVER=$SOLVER2 GAME_CHALLENGER=$VERIFIER play_dispute "$T2" "$FAULT" honest "$NUM_OPS"
dispute_load "$T2"
check_eq "phase" "$PH_VERDICT" "$D_phase"
check_eq "disputed step (of task 2: run step 85 - 64)" 21 "$D_step"
check_eq "disputed operator" 7 "$D_lo"
DID=$(call "disputeId(uint256)(uint256)" "$T2")
MSG=$(verdict_message "$T2" "$DID" false)
check_eq "verdict message (ours = the contract's)" "$MSG" "$(call "verdictMessage(uint256,bool)(bytes32)" "$T2" false)"
expect_revert "NotReferee()" -- "$REFEREE" "resolve(uint256,bool)" "$T2" false
sigs_of "$MSG" "$REFEREE"
expect_revert "NotEnoughSignatures(uint256)" 2 -- "$RELAYER" "$RESOLVE_SIGNED" "$T2" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG" "$DEPLOYER" "$REFEREE"
tx "$RELAYER" "$RESOLVE_SIGNED" "$T2" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
check_eq "task 2 state" "$ST_SOLVER_FAILED" "$(job_field "$T2" state)"
check_eq "task 2 failed checkpoint" 2 "$(call "tasks(uint256)(uint64,uint32,uint32,uint32,uint32,uint8,bytes32)" "$T2" | sed -n 5p)"
check_eq "owed to the challenger (bond + stake + the lazy verifier's deposit)" \
  "$(py "$E_bond + $E_stake + $E_verifierDeposit")" "$(owed "$(addr_of "$VERIFIER")")"
check_eq "owed by the checkers to the honest verifier (deposit + fee)" \
  "$(py "$E_verifierDeposit + $E_verifierFee")" "$(checkers_owed "$(addr_of "$VERIFIER")")"
check_eq "owed by the checkers to the lazy verifier" 0 "$(checkers_owed "$(addr_of "$LAZY")")"
check_eq "owed to the submitter (task 2: payment + the lazy verifier's fee + jackpot)" \
  "$(py "$P + $E_verifierFee + $E_jackpot")" "$(owed "$(addr_of "$SUBMITTER")")"

# ---- task 3 started from a disproved root: voided, stake back ----
expect_revert "NotVoidable()" -- "$STRANGER" "voidTask(uint256)" "$T2"
tx "$STRANGER" "voidTask(uint256)" "$T3"
check_eq "task 3 state" "$ST_VOIDED" "$(job_field "$T3" state)"
VALUE=$E_stake expect_revert "BadJobState(uint8)" "$ST_VOIDED" -- "$SOLVER2" "acceptJob(uint256)" "$T3"

# ---- task 1 settles after its window ----
phase_load "$T1"
time_to $((PH_END + 1))
tx "$STRANGER" "settle(uint256)" "$T1"
check_eq "owed to solver 1 (task 1 payment + stake, task 3 stake)" "$(py "$P + 2 * $E_stake")" "$(owed "$(addr_of "$SOLVER")")"
SUB_OWED=$(py "$P + $E_verifierFee + $E_jackpot + ($P + 2 * $E_verifierFee + $E_jackpot) + (2 * $E_verifierFee + $E_jackpot)")
check_eq "owed to the submitter (task 2 as above, task 3 all, task 1 unused budget)" "$SUB_OWED" \
  "$(owed "$(addr_of "$SUBMITTER")")"

for r in $SUBMITTER $SOLVER $VERIFIER; do tx "$r" "withdraw()"; done
TO=$CHECKERS tx "$VERIFIER" "withdraw()"
expect_revert "NothingToWithdraw()" -- "$SOLVER2" "withdraw()"
TO=$CHECKERS expect_revert "NothingToWithdraw()" -- "$LAZY" "withdraw()"
check_eq "submitter balance (paid task 1 and the honest verifier's fee only)" \
  "$(py "${B0[$SUBMITTER]} - $P - $E_verifierFee - ${SPENT[$SUBMITTER]}")" \
  "$(balance "$(addr_of "$SUBMITTER")")"
check_eq "solver 1 balance (+ task 1 payment)" "$(py "${B0[$SOLVER]} + $P - ${SPENT[$SOLVER]}")" "$(balance "$(addr_of "$SOLVER")")"
check_eq "cheating solver balance (stake lost)" "$(py "${B0[$SOLVER2]} - $E_stake - ${SPENT[$SOLVER2]}")" \
  "$(balance "$(addr_of "$SOLVER2")")"
check_eq "honest verifier balance (+ stake + lazy deposit + fee)" \
  "$(py "${B0[$VERIFIER]} + $E_stake + $E_verifierDeposit + $E_verifierFee - ${SPENT[$VERIFIER]}")" \
  "$(balance "$(addr_of "$VERIFIER")")"
check_eq "lazy verifier balance (deposit lost)" "$(py "${B0[$LAZY]} - $E_verifierDeposit - ${SPENT[$LAZY]}")" \
  "$(balance "$(addr_of "$LAZY")")"
check_eq "market balance at the end" 0 "$(balance "$CONTRACT")"
check_eq "checkers balance at the end" 0 "$(balance "$CHECKERS")"
echo "PASS: cheating solver of task 2 flagged, bisected to step 21 operator 7, ruled against by 2 of 3 referees; stake to the challenger, task 3 voided"
