#!/usr/bin/env bash
# Referee committees (issue #17): a verdict needs the EIP-191 signatures of k of the n members
# over verdictMessage(job, solverCorrect) = keccak256(abi.encode(VERDICT_TAG, chainid, contract,
# job, disputeId, solverCorrect)), computed here with cast. Two MlcpMarket jobs under a 2-of-3
# committee reach a verdict at once: k-1 signatures are refused, so are a non-member's, a
# member's over the other dispute or the other verdict, a duplicate and a high-s signature; k
# signatures (any order) and n signatures decide. The single referee is the k = n = 1 case: in
# MlcpJobs its own signature (relayed by anyone) decides as resolve() does, and a 1-of-1
# committee makes its member the task's referee.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=4 M_TASKS=1 M_N=2 NUM_OPS=3 M_MOVE=1800
deploy MlcpMarket
C="createCommittee(address[],uint8)"
A_REF=$(addr_of $REFEREE) A_REL=$(addr_of $RELAYER) A_S2=$(addr_of $SOLVER2)
expect_revert "InvalidParameters()" -- "$SUBMITTER" "$C" "[$A_REF,$A_REL]" 0
expect_revert "InvalidParameters()" -- "$SUBMITTER" "$C" "[$A_REF,$A_REL]" 3
expect_revert "InvalidParameters()" -- "$SUBMITTER" "$C" "[$A_REF,$A_REF]" 1
tx "$SUBMITTER" "$C" "[$A_REF,$A_REL,$A_S2]" 2
M_COMMITTEE=$(call "committeeCount()(uint256)")
check_eq "committee" "2 [$A_REF, $A_REL, $A_S2]" "$(call "committee(uint256)(uint256,address[])" "$M_COMMITTEE" | tr '\n' ' ' | sed 's/ $//')"
econ_load
E_forcedRateBps=0
M_COMMITTEE_BAD=$((M_COMMITTEE + 7))
(M_COMMITTEE=$M_COMMITTEE_BAD; VALUE=$(market_escrow) expect_revert "UnknownCommittee()" -- "$SUBMITTER" \
  "createMarketJob($SPEC_SIG,$ECON_SIG)" "$(market_spec)" "$(econ_tuple)")

# Job A: a cheating solver (fault at step 7, operator 1). Job B: a cheating challenger.
create_market_job
A=$FIRST_TASK
create_market_job
B=$FIRST_TASK
for j in $A $B; do VALUE=$E_stake tx "$SOLVER" "acceptJob(uint256)" "$j"; done
read -r -a BAD <<<"$(task_roots fault:7:1 1)"
read -r -a GOOD <<<"$(task_roots honest 1)"
commit_roots "$SOLVER" "$A" "${BAD[@]}"
commit_roots "$SOLVER" "$B" "${GOOD[@]}"
phase_load "$B"
time_to $((PH_T3 + 1))
VALUE=$E_bond tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$A" 2 "${GOOD[1]}"
play_dispute "$A" fault:7:1 honest "$NUM_OPS"
VALUE=$E_bond tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$B" 1 "$(root_of fault:3:2 1)"
play_dispute "$B" honest fault:3:2 "$NUM_OPS"
for j in $A $B; do check_eq "job $j waits for a verdict" "$PH_VERDICT" "$(dispute_load "$j"; echo "$D_phase")"; done
ID_A=$(call "disputeId(uint256)(uint256)" "$A") ID_B=$(call "disputeId(uint256)(uint256)" "$B")
[[ $ID_A != "$ID_B" && $ID_A != 0 ]] || fail "dispute ids $ID_A and $ID_B"
MSG_A=$(verdict_message "$A" "$ID_A" false)
MSG_A_TRUE=$(verdict_message "$A" "$ID_A" true)
MSG_B=$(verdict_message "$B" "$ID_B" true)
check_eq "job A's verdict message (ours = the contract's)" "$MSG_A" "$(call "verdictMessage(uint256,bool)(bytes32)" "$A" false)"
check_eq "job A's verdict digest (EIP-191 of the message)" \
  "$(cast keccak "$(cast concat-hex 0x19457468657265756d205369676e6564204d6573736167653a0a3332 "$MSG_A")")" \
  "$(call "verdictDigest(uint256,bool)(bytes32)" "$A" false)"

# ---- refused ----
R=$RESOLVE_SIGNED
expect_revert "NotReferee()" -- "$REFEREE" "resolve(uint256,bool)" "$A" false
expect_revert "NotEnoughSignatures(uint256)" 2 -- "$STRANGER" "$R" "$A" false "[]" "[]" "[]"
sigs_of "$MSG_A" "$REFEREE"   # k - 1 = 1
expect_revert "NotEnoughSignatures(uint256)" 2 -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG_A" "$REFEREE" "$STRANGER"   # a non-member
expect_revert "NotCommitteeMember()" -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG_B" "$REFEREE" "$RELAYER"    # members, but over the other dispute
expect_revert "NotCommitteeMember()" -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG_A_TRUE" "$REFEREE" "$RELAYER"   # members, over the other verdict
expect_revert "NotCommitteeMember()" -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG_A" "$REFEREE" "$REFEREE"    # the same member twice
expect_revert "DuplicateSigner()" -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG_A" "$REFEREE" "$RELAYER"
read -r v0 v1 <<<"$(tr -d '[]' <<<"$SIG_VS" | tr ',' ' ')"
s1=$(tr -d '[]' <<<"$SIG_SS" | cut -d, -f2)
n_secp=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
s1_high=$(py "'0x%064x' % ($n_secp - $s1)")
expect_revert "BadSignature()" -- "$STRANGER" "$R" "$A" false "[$v0,$((55 - v1))]" "$SIG_RS" \
  "[$(tr -d '[]' <<<"$SIG_SS" | cut -d, -f1),$s1_high]"
expect_revert "InvalidParameters()" -- "$STRANGER" "$R" "$A" false "[$v0]" "$SIG_RS" "$SIG_SS"

# ---- k signatures decide (in any order, relayed by anyone) ----
sigs_of "$MSG_A" "$SOLVER2" "$REFEREE"
tx "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
check_eq "job A (solver ruled wrong)" "$ST_SOLVER_FAILED" "$(job_field "$A" state)"
check_eq "owed to A's challenger (bond + stake)" "$(py "$E_bond + $E_stake")" "$(owed "$(addr_of "$CHALLENGER")")"
expect_revert "WrongPhase(uint8)" 0 -- "$STRANGER" "$R" "$A" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
# n signatures decide too.
sigs_of "$MSG_B" "$RELAYER" "$SOLVER2" "$REFEREE"
tx "$STRANGER" "$R" "$B" true "$SIG_VS" "$SIG_RS" "$SIG_SS"
check_eq "job B (challenger ruled wrong: back to Committed)" "$ST_COMMITTED" "$(job_field "$B" state)"
check_eq "owed to B's solver (the bond)" "$E_bond" "$(owed "$(addr_of "$SOLVER")")"

# ---- a 1-of-1 committee makes its member the task's referee ----
tx "$SUBMITTER" "$C" "[$A_REF]" 1
M_COMMITTEE=$(call "committeeCount()(uint256)")
create_market_job
check_eq "referee of a 1-of-1 committee task" "$A_REF" "$(job_field "$FIRST_TASK" referee)"

# ---- MlcpJobs: the single referee is k = n = 1 ----
deploy MlcpJobs
create_job 1000000000000000000 1 "$STEPS" 500000000000000000 100000000000000000 3600 600 300
VALUE=500000000000000000 tx "$SOLVER" "acceptJob(uint256)" "$JOB"
commit_all "$SOLVER" fault:3:0 "$JOB" 1
VALUE=100000000000000000 tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 1 "$(root_of honest 1)"
play_dispute "$JOB" fault:3:0 honest "$NUM_OPS"
MSG=$(verdict_message "$JOB" "$(call "disputeId(uint256)(uint256)" "$JOB")" false)
expect_revert "NotEnoughSignatures(uint256)" 1 -- "$STRANGER" "$R" "$JOB" false "[]" "[]" "[]"
sigs_of "$MSG" "$STRANGER"
expect_revert "NotCommitteeMember()" -- "$STRANGER" "$R" "$JOB" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
sigs_of "$MSG" "$REFEREE"
tx "$RELAYER" "$R" "$JOB" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
check_eq "MlcpJobs job after its referee's signed verdict" "$ST_SOLVER_FAILED" "$(job_field "$JOB" state)"
echo "PASS: 2-of-3 committee: 1 signature, a non-member's, another dispute's or verdict's, a duplicate and a high-s one refused; 2 and 3 decided; the single referee signs as k = n = 1"
