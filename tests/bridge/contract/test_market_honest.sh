#!/usr/bin/env bash
# MlcpMarket (issue #17), an honest job of 2 tasks x 4 checkpoints: two solvers, one sampling
# verifier on both tasks (1 of 2 slots used), no forced errors. Task 2 cannot start before task
# 1's final root and starts from it; it cannot settle before task 1. Everyone is paid to the wei:
# each solver its task payment (work estimate x price) and its stake back, the verifier its
# deposits and fees, and the submitter gets back the unused verification budget (the empty
# slot's fee and the jackpot of each task). Both contracts end with a zero balance.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=16 M_TASKS=2 M_N=4 M_UNITS=1000 M_PRICE=20000000000000
deploy MlcpMarket
P=$(task_payment) p=$(py "$M_UNITS * $M_PRICE")

# ---- the defaults follow the documented formulas (docs/bridge-protocol.md, "Incentives") ----
econ_load
check_eq "default stake (P)" "$P" "$E_stake"
check_eq "default bond (P/10)" "$(py "$P // 10")" "$E_bond"
check_eq "default verifier fee (5/4 of an interval's price)" "$(py "$p * 5 // 4")" "$E_verifierFee"
check_eq "default verifier deposit (8P)" "$(py "8 * $P")" "$E_verifierDeposit"
check_eq "default jackpot (P/10)" "$(py "$P // 10")" "$E_jackpot"
check_eq "default forced-error rate" 2500 "$E_forcedRateBps"
check_eq "default verifier slots, samples" "2 1" "$E_maxVerifiers $E_samplesPerVerifier"
E_forcedRateBps=0   # no forced errors here (test_market_forced_error.sh has them)

snapshot_balances $SUBMITTER $SOLVER $SOLVER2 $VERIFIER
ESCROW=$(market_escrow)
check_eq "escrow = 2 x (P + 2 fees + jackpot)" "$(py "2 * ($P + 2 * $E_verifierFee + $E_jackpot)")" "$ESCROW"
VALUE=$(py "$ESCROW - 1") expect_revert "WrongValue(uint256)" "$ESCROW" -- "$SUBMITTER" \
  "createMarketJob($SPEC_SIG,$ECON_SIG)" "$(market_spec)" "$(econ_tuple)"
create_market_job
T1=$FIRST_TASK T2=$((FIRST_TASK + 1))
check_eq "market balance (the solvers' payments)" "$(py "2 * $P")" "$(balance "$CONTRACT")"
check_eq "checkers balance (the verification budgets)" "$(py "2 * (2 * $E_verifierFee + $E_jackpot)")" \
  "$(balance "$CHECKERS")"
# The binding data of each task, readable by view calls.
check_eq "task 1 escrow (its payment)" "$P" "$(job_field "$T1" escrow)"
check_eq "task 1 initial root" "$(root_of honest 0)" "$(job_field "$T1" initialRoot)"
check_eq "task 1 spec hash" "$(hash_of 5e 1)" "$(job_field "$T1" specHash)"
check_eq "task 2 checkpoints, steps" "$M_N $STEPS" "$(job_field "$T2" numCheckpoints) $(job_field "$T2" stepsPerCheckpoint)"
check_eq "task 2 initial root before acceptance" "$PENDING_ROOT" "$(job_field "$T2" initialRoot)"
group=$(call "groups(uint256)(uint64,uint32,uint32,uint32,uint32,uint16,uint128,uint64)" "$T1" | tr '\n' ' ')
check_eq "group (first task, tasks, windows, committee, rate, price, units)" \
  "$T1 2 $M_VERDICT $M_PHASE 0 0 $M_PRICE $M_UNITS " "$group"
check_eq "task 2 (group, index)" "$T1 2" "$(call "tasks(uint256)(uint64,uint32,uint32,uint32,uint32,uint8,bytes32)" "$T2" | head -n2 | tr '\n' ' ' | sed 's/ $//')"

# ---- task 2 waits for task 1's final root ----
VALUE=$E_stake expect_revert "PredecessorNotFinal()" -- "$SOLVER2" "acceptJob(uint256)" "$T2"
VALUE=$E_stake tx "$SOLVER" "acceptJob(uint256)" "$T1"   # no forced errors: the plain acceptance works
register_verifier "$VERIFIER" "$T1" "$(hash_of 71 1)"
check_eq "verifier slot on task 1" 0 "$V_SLOT"
REG1=$V_REG_BLOCK
read -r -a ROOTS1 <<<"$(task_roots honest 1)"
commit_roots "$SOLVER" "$T1" "${ROOTS1[@]}"
check_eq "task 1 state" "$ST_COMMITTED" "$(job_field "$T1" state)"
accept_task "$SOLVER2" "$T2" "$(hash_of 5d 2)"   # its seed is not used (no forced errors)
check_eq "task 2 initial root = task 1's final root" "${ROOTS1[-1]}" "$(job_field "$T2" initialRoot)"
check_eq "task 2 solver" "$(addr_of "$SOLVER2")" "$(job_field "$T2" solver)"
register_verifier "$VERIFIER" "$T2" "$(hash_of 71 2)"
REG2=$V_REG_BLOCK

# ---- the verifier samples 1 checkpoint of each task (secret + the next block's hash) ----
verifier_sample "$T1" "$REG1" "$(hash_of 71 1)" "$M_N" 1
S1=("${V_SAMPLE[@]}") A1=$V_ANCHOR
FLAGS1=$(flags_for "$T1" "${ROOTS1[@]}")
check_eq "task 1 verdict (honest solver)" 0 "$FLAGS1"
TO=$CHECKERS tx "$VERIFIER" "commitVerdicts(uint256,uint256,bytes32)" "$T1" 0 \
  "$(verdicts_commitment "$FLAGS1" "$(hash_of 71 1)")"
vslot_load "$T1" 0
check_eq "slot 0 of task 1 after the commitment" "$VS_COMMITTED" "$V_status"
read -r -a ROOTS2 <<<"$(task_roots honest 2)"
commit_roots "$SOLVER2" "$T2" "${ROOTS2[@]}"
verifier_sample "$T2" "$REG2" "$(hash_of 71 2)" "$M_N" 1
S2=("${V_SAMPLE[@]}") A2=$V_ANCHOR
FLAGS2=$(flags_for "$T2" "${ROOTS2[@]}")
TO=$CHECKERS tx "$VERIFIER" "anchorSample(uint256,uint256)" "$T2" 0   # anyone may anchor
TO=$CHECKERS tx "$VERIFIER" "commitVerdicts(uint256,uint256,bytes32)" "$T2" 0 \
  "$(verdicts_commitment "$FLAGS2" "$(hash_of 71 2)")"

# ---- phases: verdicts revealed in (T1, T2]; no challenge before T2 ----
phase_load "$T1"
P1_T1=$PH_T1 P1_T2=$PH_T2 P1_END=$PH_END
phase_load "$T2"
VALUE=$E_bond expect_revert "NotInPhase(uint256,uint256)" $((P1_T2 + 1)) "$P1_END" -- "$CHALLENGER" \
  "challenge(uint256,uint256,bytes32)" "$T1" 1 "$(hash_of 99 1)"
TO=$CHECKERS expect_revert "NotInPhase(uint256,uint256)" $((P1_T1 + 1)) "$P1_T2" -- "$STRANGER" \
  "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T1" 0 "$(hash_of 71 1)" "$A1" "$FLAGS1"
time_to $((PH_T1 + 1))   # past T1 of both tasks (task 2 ends its commitments last)
((PH_T1 + 1 <= P1_T2)) || fail "the two tasks' reveal phases do not overlap"
# Anyone may send the reveal; a wrong secret or flags are refused.
TO=$CHECKERS expect_revert "BadReveal()" -- "$STRANGER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" \
  "$T1" 0 "$(hash_of 71 1)" "$A1" 1
TO=$CHECKERS tx "$STRANGER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T1" 0 "$(hash_of 71 1)" "$A1" "$FLAGS1"
TO=$CHECKERS tx "$STRANGER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T2" 0 "$(hash_of 71 2)" "$A2" "$FLAGS2"
vslot_load "$T1" 0
check_eq "slot 0 of task 1 revealed" "$VS_REVEALED $(sample_seed "$(hash_of 71 1)" "$A1")" "$V_status $V_transcript"
check_eq "the contract's sample of task 1 = ours" "[${S1[*]}]" "$(TO=$CHECKERS call "sampleOf(bytes32,uint256,uint256)(uint256[])" \
  "$V_transcript" "$M_N" 1)"

# ---- settlement, in task order ----
time_to $((PH_END + 1))
expect_revert "PredecessorNotSettled()" -- "$STRANGER" "settle(uint256)" "$T2"
tx "$STRANGER" "settle(uint256)" "$T1"
tx "$STRANGER" "settle(uint256)" "$T2"
check_eq "owed to solver 1 (payment + stake)" "$(py "$P + $E_stake")" "$(owed "$(addr_of "$SOLVER")")"
check_eq "owed to solver 2 (payment + stake)" "$(py "$P + $E_stake")" "$(owed "$(addr_of "$SOLVER2")")"
REFUND=$(py "2 * ($E_verifierFee + $E_jackpot)")
check_eq "owed to the submitter (unused slot fee + jackpot, per task)" "$REFUND" "$(owed "$(addr_of "$SUBMITTER")")"
check_eq "owed by the checkers to the verifier (deposit + fee, per task)" \
  "$(py "2 * ($E_verifierDeposit + $E_verifierFee)")" "$(checkers_owed "$(addr_of "$VERIFIER")")"

for r in $SUBMITTER $SOLVER $SOLVER2; do tx "$r" "withdraw()"; done
TO=$CHECKERS tx "$VERIFIER" "withdraw()"
TO=$CHECKERS expect_revert "NothingToWithdraw()" -- "$SUBMITTER" "withdraw()"
check_eq "submitter balance (paid the payments and the used fees only)" \
  "$(py "${B0[$SUBMITTER]} - 2 * $P - 2 * $E_verifierFee - ${SPENT[$SUBMITTER]}")" "$(balance "$(addr_of "$SUBMITTER")")"
for r in $SOLVER $SOLVER2; do
  check_eq "solver $r balance (+ payment)" "$(py "${B0[$r]} + $P - ${SPENT[$r]}")" "$(balance "$(addr_of "$r")")"
done
check_eq "verifier balance (+ 2 fees)" "$(py "${B0[$VERIFIER]} + 2 * $E_verifierFee - ${SPENT[$VERIFIER]}")" \
  "$(balance "$(addr_of "$VERIFIER")")"
check_eq "market balance at the end" 0 "$(balance "$CONTRACT")"
check_eq "checkers balance at the end" 0 "$(balance "$CHECKERS")"
echo "PASS: honest 2-task market job paid to the wei (payment $P wei per task, refund $REFUND wei)"
