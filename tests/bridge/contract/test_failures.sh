#!/usr/bin/env bash
# Refused calls, each asserted to revert with the exact custom error (eth_call) and to be mined
# with status 0 when sent: forged and replayed commitment signatures, out-of-order commits, wrong
# values, wrong parties moving, wrong turns, tampered claims, early settle, double withdraw.
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

ETHER=1000000000000000000
ESCROW=$ETHER STAKE=$(py "$ETHER // 2") BOND=$(py "$ETHER // 5")
N=3 STEPS=64
deploy
C=commitCheckpoint\(uint256,uint256,bytes32,uint8,bytes32,bytes32\)

# ---- creation and acceptance ----
VALUE=0 expect_revert "InvalidParameters()" -- "$SUBMITTER" \
  "createJob(bytes32,bytes32,uint32,uint32,uint128,uint128,uint32,uint32,uint32,address)" \
  "$(hash_of 5e 1)" "$(root_of honest 0)" 3 64 "$STAKE" "$BOND" 3600 600 300 "$(addr_of $REFEREE)"
expect_revert "UnknownJob()" -- "$SOLVER" "acceptJob(uint256)" 1
create_job "$ESCROW" "$N" "$STEPS" "$STAKE" "$BOND" 3600 600 300
expect_revert "BadJobState(uint8)" "$ST_OPEN" -- "$STRANGER" "settle(uint256)" "$JOB"
expect_revert "NothingToTimeOut()" -- "$STRANGER" "timeout(uint256)" "$JOB"
VALUE=$(py "$STAKE - 1") expect_revert "WrongValue(uint256)" "$STAKE" -- "$SOLVER" "acceptJob(uint256)" "$JOB"
expect_revert "NotSubmitter()" -- "$SOLVER" "cancelJob(uint256)" "$JOB"
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
VALUE=$STAKE expect_revert "BadJobState(uint8)" "$ST_ACCEPTED" -- "$STRANGER" "acceptJob(uint256)" "$JOB"
expect_revert "BadJobState(uint8)" "$ST_ACCEPTED" -- "$SUBMITTER" "cancelJob(uint256)" "$JOB"
expect_revert "DeadlineNotPassed()" -- "$STRANGER" "timeout(uint256)" "$JOB"

# ---- commitments ----
r1=$(root_of honest 1)
# Forged: signed by someone else's key, sent by that someone.
read -r v r s < <(sign_checkpoint "$STRANGER" "$JOB" 1 "$r1")
expect_revert "BadSignature()" -- "$STRANGER" "$C" "$JOB" 1 "$r1" "$v" "$r" "$s"
# The solver's genuine signature, but over another root (the relayer swaps the root).
read -r v r s < <(sign_checkpoint "$SOLVER" "$JOB" 1 "$r1")
expect_revert "BadSignature()" -- "$RELAYER" "$C" "$JOB" 1 "$(hash_of 99 1)" "$v" "$r" "$s"
# The same signature with the other v, and in its high-s form (malleated): both refused.
expect_revert "BadSignature()" -- "$RELAYER" "$C" "$JOB" 1 "$r1" $((55 - v)) "$r" "$s"
n_secp=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
s_high=$(py "'0x%064x' % ($n_secp - $s)")
expect_revert "BadSignature()" -- "$RELAYER" "$C" "$JOB" 1 "$r1" $((55 - v)) "$r" "$s_high"
# Out of order: root 2 before root 1.
read -r v2 rr2 s2 < <(sign_checkpoint "$SOLVER" "$JOB" 2 "$(root_of honest 2)")
expect_revert "WrongIndex(uint256)" 1 -- "$SOLVER" "$C" "$JOB" 2 "$(root_of honest 2)" "$v2" "$rr2" "$s2"
tx "$RELAYER" "$C" "$JOB" 1 "$r1" "$v" "$r" "$s"
# Replay of root 1's signature for index 2 (its digest binds the index).
expect_revert "BadSignature()" -- "$RELAYER" "$C" "$JOB" 2 "$r1" "$v" "$r" "$s"
# Replay at the same index: already committed.
expect_revert "WrongIndex(uint256)" 2 -- "$RELAYER" "$C" "$JOB" 1 "$r1" "$v" "$r" "$s"
# A batch that runs past N.
r3=$(root_of honest 3) r4=$(root_of honest 4)
read -r v3 rr3 s3 < <(sign_checkpoint "$SOLVER" "$JOB" 3 "$r3")
read -r v4 rr4 s4 < <(sign_checkpoint "$SOLVER" "$JOB" 4 "$r4")
B="commitCheckpoints(uint256,uint256,bytes32[],uint8[],bytes32[],bytes32[])"
expect_revert "WrongIndex(uint256)" "$N" -- "$SOLVER" "$B" "$JOB" 2 "[$(root_of honest 2),$r3,$r4]" \
  "[$v2,$v3,$v4]" "[$rr2,$rr3,$rr4]" "[$s2,$s3,$s4]"
# A batch with one forged member is refused whole.
read -r vf rf sf < <(sign_checkpoint "$STRANGER" "$JOB" 3 "$r3")
expect_revert "BadSignature()" -- "$SOLVER" "$B" "$JOB" 2 "[$(root_of honest 2),$r3]" "[$v2,$vf]" "[$rr2,$rf]" "[$s2,$sf]"
check_eq "committed after the refused batch" 1 "$(job_field "$JOB" committed)"
expect_revert "BadJobState(uint8)" "$ST_ACCEPTED" -- "$STRANGER" "settle(uint256)" "$JOB"
VALUE=$BOND expect_revert "BadJobState(uint8)" "$ST_ACCEPTED" -- "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 1 \
  "$(hash_of 99 1)"
tx "$SOLVER" "$B" "$JOB" 2 "[$(root_of honest 2),$r3]" "[$v2,$v3]" "[$rr2,$rr3]" "[$s2,$s3]"
check_eq "job state" "$ST_COMMITTED" "$(job_field "$JOB" state)"
expect_revert "ChallengeWindowOpen()" -- "$SOLVER" "settle(uint256)" "$JOB"

# ---- challenge ----
CH="challenge(uint256,uint256,bytes32)"
VALUE=$(py "$BOND + 1") expect_revert "WrongValue(uint256)" "$BOND" -- "$CHALLENGER" "$CH" "$JOB" 2 "$(hash_of 99 2)"
VALUE=$BOND expect_revert "WrongIndex(uint256)" "$N" -- "$CHALLENGER" "$CH" "$JOB" 0 "$(hash_of 99 0)"
VALUE=$BOND expect_revert "WrongIndex(uint256)" "$N" -- "$CHALLENGER" "$CH" "$JOB" 4 "$(hash_of 99 4)"
VALUE=$BOND expect_revert "NoDisagreement()" -- "$CHALLENGER" "$CH" "$JOB" 2 "$(root_of honest 2)"
expect_revert "BadJobState(uint8)" "$ST_COMMITTED" -- "$SOLVER" "postClaims(uint256,bytes32[])" "$JOB" "[]"
# A challenger who believes step 70, operator 3 went wrong (checkpoint 2).
CVIEW=fault:70:3
VALUE=$BOND tx "$CHALLENGER" "$CH" "$JOB" 2 "$(root_of "$CVIEW" 2)"
expect_revert "DisputeOpen()" -- "$STRANGER" "settle(uint256)" "$JOB"

# ---- moves by the wrong party, at the wrong turn, with wrong content ----
P="postClaims(uint256,bytes32[])"
S="chooseSegment(uint256,uint256,bytes32[],bytes32)"
dispute_load "$JOB"
mapfile -t pts < <(points "$D_lo" "$D_hi")
check_eq "claim points (contract)" "$(_join "${pts[@]}")" "$(call "claimPoints(uint256)(uint256[])" "$JOB" | tr -d ' ')"
claims=()
for p in "${pts[@]}"; do claims+=("$(state_of honest $((STEPS + p)))"); done
expect_revert "NotSolver()" -- "$CHALLENGER" "$P" "$JOB" "$(_join "${claims[@]}")"
expect_revert "NotSolver()" -- "$STRANGER" "$P" "$JOB" "$(_join "${claims[@]}")"
expect_revert "NotChallenger()" -- "$SOLVER" "$S" "$JOB" 0 "$(_join "${claims[@]}")" "$(hash_of 99 9)"
expect_revert "NotYourTurn()" -- "$CHALLENGER" "$S" "$JOB" 0 "$(_join "${claims[@]}")" "$(hash_of 99 9)"
expect_revert "WrongClaimCount(uint256)" 7 -- "$SOLVER" "$P" "$JOB" "$(_join "${claims[@]:1}")"
expect_revert "WrongPhase(uint8)" "$PH_STEPS" -- "$SOLVER" "postOperators(uint256,uint32,bytes32[])" "$JOB" 5 "[]"
expect_revert "WrongPhase(uint8)" "$PH_STEPS" -- "$REFEREE" "resolve(uint256,bool)" "$JOB" true
tx "$SOLVER" "$P" "$JOB" "$(_join "${claims[@]}")"
expect_revert "NotYourTurn()" -- "$SOLVER" "$P" "$JOB" "$(_join "${claims[@]}")"
tampered=("${claims[@]}")
tampered[2]=$(hash_of 77 0)
expect_revert "ClaimsMismatch()" -- "$CHALLENGER" "$S" "$JOB" 2 "$(_join "${tampered[@]}")" "$(hash_of 99 9)"
expect_revert "BadSegment()" -- "$CHALLENGER" "$S" "$JOB" 8 "$(_join "${claims[@]}")" "$(hash_of 99 9)"
# Disputing a point while stating the solver's own hash there is no disagreement.
expect_revert "NoDisagreement()" -- "$CHALLENGER" "$S" "$JOB" 0 "$(_join "${claims[@]}")" "${claims[0]}"
expect_revert "DeadlineNotPassed()" -- "$STRANGER" "timeout(uint256)" "$JOB"
expect_revert "NotChallenger()" -- "$STRANGER" "$S" "$JOB" 0 "$(_join "${claims[@]}")" "$(hash_of 99 9)"

# ---- withdraw with nothing owed ----
expect_revert "NothingToWithdraw()" -- "$STRANGER" "withdraw()"

# ---- cancel: only an open job, escrow credited once ----
create_job "$ESCROW" 1 1 "$STAKE" "$BOND" 3600 600 300
tx "$SUBMITTER" "cancelJob(uint256)" "$JOB"
check_eq "cancelled job state" "$ST_CANCELLED" "$(job_field "$JOB" state)"
check_eq "owed to submitter after cancel" "$ESCROW" "$(owed "$(addr_of $SUBMITTER)")"
expect_revert "BadJobState(uint8)" "$ST_CANCELLED" -- "$SUBMITTER" "cancelJob(uint256)" "$JOB"
tx "$SUBMITTER" "withdraw()"
expect_revert "NothingToWithdraw()" -- "$SUBMITTER" "withdraw()"
echo "PASS: every refused call reverted with its named error"
