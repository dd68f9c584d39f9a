#!/usr/bin/env bash
# bench_gas.sh — gas of every MlcpJobs, MlcpMarket and MlcpCheckers call on a fresh local anvil
# (the pinned one, started at a free port and stopped by pid), and the targets of issues #5/#17:
#   commit <= 65k gas per checkpoint (single commit, or per checkpoint in a batch; both contracts),
#   a whole dispute over 1024 steps (challenge + every move + verdict) <= 1.3M gas (both; the
#   market's with a 2-of-3 committee verdict and the verification accounting),
#   verifier registration <= 80k, forced-error reveal <= 60k, task accept <= 60k.
#   bench/bench_gas.sh [NUM_OPS]     # operators of the disputed step, default 256
# Prints tables (gas used from each transaction's receipt) on stdout; docs/bridge-gas.md keeps
# the latest output. Needs bridge/scripts/install-chain-tools.sh to have run; python3.
set -euo pipefail
source "$(dirname "$0")/../bridge/scripts/contract-lib.sh"
NUM_OPS=${1:-256}
[[ $NUM_OPS =~ ^[1-9][0-9]*$ ]] || fail "NUM_OPS wants a positive integer, got '$NUM_OPS'"

ETHER=1000000000000000000
ESCROW=$ETHER STAKE=$(py "$ETHER // 2") BOND=$(py "$ETHER // 5")
rows=()
row() { rows+=("$(printf '%-58s %9s  %s' "$1" "$2" "${3:-}")"); }

deploy
row "deploy MlcpJobs" "$DEPLOY_GAS" "$(($(wc -c <"$BRIDGE_DIR/contracts/build/MlcpJobs.bin-runtime") / 2)) bytes of code"

# ---- job lifecycle (honest) ----
STEPS=16
create_job "$ESCROW" 1 "$STEPS" "$STAKE" "$BOND" 3600 600 300
row "createJob (job 1: the job counter goes from zero)" "$TX_GAS"
tx "$SUBMITTER" "cancelJob(uint256)" "$JOB"
row "cancelJob" "$TX_GAS"
create_job "$ESCROW" 8 "$STEPS" "$STAKE" "$BOND" 3600 600 300
row "createJob (any later job)" "$TX_GAS"
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
row "acceptJob" "$TX_GAS"
commit_all "$SOLVER" honest "$JOB" 7 "$RELAYER"
C="commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)"
# gas of the 2nd..7th commits, then the final (8th), which also opens the challenge window
row "commitCheckpoint (mean of roots 1..7, by a relayer)" "$((COMMIT_GAS_TOTAL / 7))" "ecrecover-checked signature"
single_commit=$((COMMIT_GAS_TOTAL / 7))
r8=$(root_of honest 8)
read -r v r s < <(sign_checkpoint "$SOLVER" "$JOB" 8 "$r8")
tx "$RELAYER" "$C" "$JOB" 8 "$r8" "$v" "$r" "$s"
final_commit=$TX_GAS
row "commitCheckpoint (final root: opens the window)" "$TX_GAS"
time_travel 601
tx "$STRANGER" "settle(uint256)" "$JOB"
row "settle" "$TX_GAS"
tx "$SOLVER" "withdraw()"
row "withdraw" "$TX_GAS"

# ---- batched commits ----
B="commitCheckpoints(uint256,uint256,bytes32[],uint8[],bytes32[],bytes32[])"
batch_gas=()
for size in 8 32; do
  create_job "$ESCROW" $((size + 1)) "$STEPS" "$STAKE" "$BOND" 3600 600 300
  VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
  roots=() vs=() rs=() ss=()
  for ((k = 1; k <= size; k++)); do
    roots+=("$(root_of honest $k)")
    read -r v r s < <(sign_checkpoint "$SOLVER" "$JOB" "$k" "${roots[-1]}")
    vs+=("$v") rs+=("$r") ss+=("$s")
  done
  tx "$RELAYER" "$B" "$JOB" 1 "$(_join "${roots[@]}")" "$(_join "${vs[@]}")" "$(_join "${rs[@]}")" "$(_join "${ss[@]}")"
  row "commitCheckpoints, batch of $size" "$TX_GAS" "$((TX_GAS / size)) per checkpoint"
  batch_gas+=($((TX_GAS / size)))
done

# ---- full disputes over 1024 steps, NUM_OPS operators, both outcomes ----
STEPS=1024
fault_step=$((STEPS + 777)) fault_op=$((NUM_OPS * 3 / 4))
dispute() {  # dispute SOLVER_VIEW CHALLENGER_VIEW VERDICT → DISPUTE_TOTAL
  local sview=$1 cview=$2 verdict=$3
  create_job "$ESCROW" 2 "$STEPS" "$STAKE" "$BOND" 3600 600 300
  VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
  commit_all "$SOLVER" "$sview" "$JOB" 2
  VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 2 "$(root_of "$cview" 2)"
  local challenge_gas=$TX_GAS
  play_dispute "$JOB" "$sview" "$cview" "$NUM_OPS"
  dispute_load "$JOB"
  check_eq "disputed step" "$fault_step" "$D_step"
  check_eq "disputed operator" "$fault_op" "$D_lo"
  tx "$REFEREE" "resolve(uint256,bool)" "$JOB" "$verdict"
  RESOLVE_GAS=$TX_GAS
  CHALLENGE_GAS=$challenge_gas
  DISPUTE_TOTAL=$((challenge_gas + GAME_GAS + TX_GAS))
}
fault=fault:$fault_step:$fault_op
dispute "$fault" honest false
row "challenge (bond, checkpoint k)" "$CHALLENGE_GAS"
declare -A n=() sum=() mx=()
while read -r name gas; do
  [[ -n $name ]] || continue
  n[$name]=$((${n[$name]:-0} + 1)); sum[$name]=$((${sum[$name]:-0} + gas))
  ((gas > ${mx[$name]:-0})) && mx[$name]=$gas
done <<<"$GAME_LOG"
for name in postClaims chooseSegment postOperators; do
  row "$name (mean of ${n[$name]}, max ${mx[$name]})" "$((sum[$name] / n[$name]))"
done
row "resolve (solver wrong: stake + escrow move)" "$RESOLVE_GAS"
solver_wrong_total=$DISPUTE_TOTAL
moves=$(grep -c . <<<"$GAME_LOG")
dispute honest "$fault" true
row "resolve (challenger wrong: bond moves)" "$RESOLVE_GAS"
challenger_wrong_total=$DISPUTE_TOTAL
row "dispute total: 1024 steps, $NUM_OPS operators, solver wrong" "$solver_wrong_total" "challenge + $moves moves + resolve"
row "dispute total: 1024 steps, $NUM_OPS operators, challenger wrong" "$challenger_wrong_total" "challenge + $moves moves + resolve"

# ---- timeouts ----
STEPS=16
create_job "$ESCROW" 1 "$STEPS" "$STAKE" "$BOND" 3600 600 300
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
commit_all "$SOLVER" honest "$JOB" 1
VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 1 "$(hash_of 99 1)"
time_travel 301
tx "$STRANGER" "timeout(uint256)" "$JOB"
row "timeout (silent solver loses)" "$TX_GAS"

# ---- the referee's verdict by signature (k = n = 1) ----
create_job "$ESCROW" 1 "$STEPS" "$STAKE" "$BOND" 3600 600 300
VALUE=$STAKE tx "$SOLVER" "acceptJob(uint256)" "$JOB"
commit_all "$SOLVER" fault:5:1 "$JOB" 1
VALUE=$BOND tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$JOB" 1 "$(root_of honest 1)"
play_dispute "$JOB" fault:5:1 honest 4
sigs_of "$(verdict_message "$JOB" "$(call "disputeId(uint256)(uint256)" "$JOB")" false)" "$REFEREE"
tx "$RELAYER" "$RESOLVE_SIGNED" "$JOB" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
row "resolveSigned (the referee's signature, solver wrong)" "$TX_GAS" "relayed by anyone"
JOBS_CODE=$(($(wc -c <"$BRIDGE_DIR/contracts/build/MlcpJobs.bin-runtime") / 2))

# ======== MlcpMarket and MlcpCheckers (issue #17) ========
mrows=()
mrow() { mrows+=("$(printf '%-58s %9s  %s' "$1" "$2" "${3:-}")"); }
code_size() { echo $(($(wc -c <"$BRIDGE_DIR/contracts/build/$1.bin-runtime") / 2)); }
deploy MlcpMarket
mrow "deploy MlcpMarket (creates its MlcpCheckers)" "$DEPLOY_GAS" \
  "$(code_size MlcpMarket) + $(code_size MlcpCheckers) bytes of code"
tx "$SUBMITTER" "createCommittee(address[],uint8)" "[$(addr_of $REFEREE),$(addr_of $RELAYER),$(addr_of $SOLVER2)]" 2
mrow "createCommittee (3 members, k = 2)" "$TX_GAS"
COMMITTEE=$(call "committeeCount()(uint256)")
C1="commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)"
# relay_roots JOB ROOT...: the solver's signed roots 1.., sent by the relayer; MEAN_GAS of all but
# the last, FINAL_GAS the last (it opens the window)
relay_roots() {
  local job=$1 k=0 root v r s sum=0
  shift
  for root in "$@"; do
    k=$((k + 1))
    read -r v r s < <(sign_checkpoint "$SOLVER" "$job" "$k" "$root")
    tx "$RELAYER" "$C1" "$job" "$k" "$root" "$v" "$r" "$s"
    ((k < $#)) && sum=$((sum + TX_GAS))
  done
  MEAN_GAS=$((sum / ($# - 1))) FINAL_GAS=$TX_GAS
}

# A job of 2 tasks x 8 checkpoints, every task forced (to measure the forced reveal), two
# verifiers of 2 samples on task 1 (one of them lazy).
STEPS=16 M_TASKS=2 M_N=8 M_COMMITTEE=0
econ_load
E_forcedRateBps=10000 E_samplesPerVerifier=2
create_market_job
mrow "createMarketJob (2 tasks x 8 checkpoints, 2 slots each)" "$TX_GAS" "escrow of both tasks in one call"
T1=$FIRST_TASK T2=$((FIRST_TASK + 1))
SEED=$(hash_of 5d 1)
accept_task "$SOLVER" "$T1" "$SEED"
accept1=$TX_GAS
mrow "acceptTask (task 1: with a seed commitment)" "$TX_GAS"
anchor_seed "$T1"
mrow "anchorSeed" "$TX_GAS"
register_verifier "$VERIFIER" "$T1" "$(hash_of 71 1)"
REG_A=$V_REG_BLOCK register_first=$TX_GAS
mrow "registerVerifier (first slot, deposit + sample commitment)" "$TX_GAS"
register_verifier "$STRANGER" "$T1" "$(hash_of 71 2)"
REG_B=$V_REG_BLOCK register_second=$TX_GAS
mrow "registerVerifier (second slot)" "$TX_GAS"
J=$(forced_of "$SEED" "$SEED_ANCHOR" 10000 "$M_N")
read -r -a TRUE1 <<<"$(task_roots honest 1)"
ROOTS=("${TRUE1[@]}")
ROOTS[$((J - 1))]=$(forced_root "$T1" "$J" "${TRUE1[$((J - 1))]}" "$SEED")
relay_roots "$T1" "${ROOTS[@]}"
market_commit_mean=$MEAN_GAS market_commit_final=$FINAL_GAS
mrow "commitCheckpoint on a task (mean of roots 1..7, relayed)" "$MEAN_GAS"
mrow "commitCheckpoint on a task (final root)" "$FINAL_GAS"
TO=$CHECKERS tx "$STRANGER" "anchorSample(uint256,uint256)" "$T1" 1
mrow "anchorSample (standalone)" "$TX_GAS"
verifier_sample "$T1" "$REG_A" "$(hash_of 71 1)" "$M_N" 2
FA=$(flags_for "$T1" "${TRUE1[@]}") AA=$V_ANCHOR
TO=$CHECKERS tx "$VERIFIER" "commitVerdicts(uint256,uint256,bytes32)" "$T1" 0 "$(verdicts_commitment "$FA" "$(hash_of 71 1)")"
mrow "commitVerdicts (anchoring the sample on the way)" "$TX_GAS"
verifier_sample "$T1" "$REG_B" "$(hash_of 71 2)" "$M_N" 2
AB=$V_ANCHOR
TO=$CHECKERS tx "$STRANGER" "commitVerdicts(uint256,uint256,bytes32)" "$T1" 1 "$(verdicts_commitment 0 "$(hash_of 71 2)")"
mrow "commitVerdicts (sample already anchored)" "$TX_GAS"
phase_load "$T1"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$VERIFIER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T1" 0 "$(hash_of 71 1)" "$AA" "$FA"
mrow "revealVerdicts (2 samples, flags $FA)" "$TX_GAS"
TO=$CHECKERS tx "$STRANGER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T1" 1 "$(hash_of 71 2)" "$AB" 0
mrow "revealVerdicts (2 samples, no flag)" "$TX_GAS"
time_to $((PH_T2 + 1))
tx "$SOLVER" "revealSeed(uint256,bytes32,bytes32,bytes32)" "$T1" "$SEED" "$SEED_ANCHOR" "${TRUE1[$((J - 1))]}"
reveal_forced=$TX_GAS
mrow "revealSeed (forced error: the true root replaces it)" "$TX_GAS"
accept_task "$SOLVER2" "$T2" "$(hash_of 5d 2)"
accept2=$TX_GAS
mrow "acceptTask (task 2: from task 1's final root)" "$TX_GAS"
time_to $((PH_END + 1))
tx "$STRANGER" "settle(uint256)" "$T1"
mrow "settle (task with 2 verifiers)" "$TX_GAS" "+ verification accounting in MlcpCheckers"
TO=$CHECKERS tx "$VERIFIER" "withdraw()"
mrow "withdraw (MlcpCheckers)" "$TX_GAS"

# A reveal where nothing was forced (rate 1/10000: this seed does not force).
M_TASKS=1 M_N=8
econ_load
E_forcedRateBps=1
create_market_job
SEED=$(hash_of 5d 3)
accept_task "$SOLVER" "$FIRST_TASK" "$SEED"
anchor_seed "$FIRST_TASK"
(($(forced_of "$SEED" "$SEED_ANCHOR" 1 "$M_N") == 0)) || say "(this seed forced an error after all)"
relay_roots "$FIRST_TASK" $(task_roots honest 1)
phase_load "$FIRST_TASK"
time_to $((PH_T2 + 1))
tx "$SOLVER" "revealSeed(uint256,bytes32,bytes32,bytes32)" "$FIRST_TASK" "$SEED" "$SEED_ANCHOR" "$(hash_of 00 0)"
reveal_plain=$TX_GAS
mrow "revealSeed (nothing forced)" "$TX_GAS"
time_to $((PH_END + 1))
tx "$STRANGER" "settle(uint256)" "$FIRST_TASK"
mrow "settle (task without verifiers)" "$TX_GAS"

# A dispute over 1024 steps on task 1 of 2 (no forced errors), ruled by the 2-of-3 committee;
# one verifier approved the disputed root (its deposit goes to the challenger).
STEPS=1024 M_TASKS=2 M_N=2 M_COMMITTEE=$COMMITTEE
econ_load
E_forcedRateBps=0 E_samplesPerVerifier=2
create_market_job
T1=$FIRST_TASK T2=$((FIRST_TASK + 1))
fault_step=$((STEPS + 777)) fault_op=$((NUM_OPS * 3 / 4))
fault=fault:$fault_step:$fault_op
VALUE=$E_stake tx "$SOLVER" "acceptJob(uint256)" "$T1"
register_verifier "$STRANGER" "$T1" "$(hash_of 71 3)"
REG_B=$V_REG_BLOCK
relay_roots "$T1" $(task_roots "$fault" 1)
verifier_sample "$T1" "$REG_B" "$(hash_of 71 3)" "$M_N" 2
TO=$CHECKERS tx "$STRANGER" "commitVerdicts(uint256,uint256,bytes32)" "$T1" 0 "$(verdicts_commitment 0 "$(hash_of 71 3)")"
phase_load "$T1"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$STRANGER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T1" 0 "$(hash_of 71 3)" "$V_ANCHOR" 0
time_to $((PH_T2 + 1))
VALUE=$E_bond tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$T1" 2 "$(root_of honest 2)"
m_challenge=$TX_GAS
mrow "challenge (a market task)" "$TX_GAS"
play_dispute "$T1" "$fault" honest "$NUM_OPS"
dispute_load "$T1"
check_eq "market dispute: step" "$fault_step" "$D_step"
check_eq "market dispute: operator" "$fault_op" "$D_lo"
sigs_of "$(verdict_message "$T1" "$(call "disputeId(uint256)(uint256)" "$T1")" false)" "$REFEREE" "$SOLVER2"
tx "$RELAYER" "$RESOLVE_SIGNED" "$T1" false "$SIG_VS" "$SIG_RS" "$SIG_SS"
mrow "resolveSigned (2 of 3 signatures, solver wrong)" "$TX_GAS" "+ accounting: the approver's deposit to the challenger"
market_dispute=$((m_challenge + GAME_GAS + TX_GAS))
mrow "dispute total: 1024 steps, $NUM_OPS operators, committee" "$market_dispute" \
  "challenge + $(grep -c . <<<"$GAME_LOG") moves + resolveSigned"
tx "$STRANGER" "voidTask(uint256)" "$T2"
mrow "voidTask (task 2, not started)" "$TX_GAS"

echo "gas on anvil $("$MLCP_ANVIL" --version | head -n1 | awk '{print $3}'), $(<"$BRIDGE_DIR/contracts/build/COMPILER")"
echo
echo "MlcpJobs ($JOBS_CODE bytes of code)"
printf '%-58s %9s  %s\n' "call" "gas" "note"
printf '%s\n' "${rows[@]}"
echo
echo "MlcpMarket and MlcpCheckers"
printf '%-58s %9s  %s\n' "call" "gas" "note"
printf '%s\n' "${mrows[@]}"
worst_commit=$((single_commit > final_commit ? single_commit : final_commit))
worst_market_commit=$((market_commit_mean > market_commit_final ? market_commit_mean : market_commit_final))
best_batch=${batch_gas[-1]}
verdict() { (($1 <= $2)) && echo PASS || echo MISS; }
worst_dispute=$((solver_wrong_total > challenger_wrong_total ? solver_wrong_total : challenger_wrong_total))
worst_register=$((register_first > register_second ? register_first : register_second))
worst_accept=$((accept1 > accept2 ? accept1 : accept2))
echo
echo "target: commit <= 65000 gas per checkpoint: MlcpJobs single $worst_commit (worst of mean and final), batched $best_batch per checkpoint; MlcpMarket task $worst_market_commit: $(verdict $((worst_commit > worst_market_commit ? worst_commit : worst_market_commit)) 65000)"
echo "target: dispute over 1024 steps <= 1300000 gas in total: MlcpJobs $worst_dispute (worst outcome, $NUM_OPS operators), MlcpMarket $market_dispute (committee): $(verdict $((worst_dispute > market_dispute ? worst_dispute : market_dispute)) 1300000)"
echo "target: verifier registration <= 80000 gas: $worst_register (worst slot): $(verdict "$worst_register" 80000)"
echo "target: forced-error reveal <= 60000 gas: $reveal_forced (forced), $reveal_plain (nothing forced): $(verdict $((reveal_forced > reveal_plain ? reveal_forced : reveal_plain)) 60000)"
echo "target: task accept <= 60000 gas: $worst_accept (worst of task 1 and task 2): $(verdict "$worst_accept" 60000)"
