#!/usr/bin/env bash
# bench_gas.sh — gas of every MlcpJobs call on a fresh local anvil (the pinned one, started at a
# free port and stopped by pid), and the two targets of issue #5:
#   commit <= 65k gas per checkpoint (single commit, or per checkpoint in a batch),
#   a whole dispute over 1024 steps (challenge + every move + verdict) <= 1.3M gas.
#   bench/bench_gas.sh [NUM_OPS]     # operators of the disputed step, default 256
# Prints a table (gas used from each transaction's receipt) on stdout; docs/bridge-gas.md keeps
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

echo "MlcpJobs gas on anvil $("$MLCP_ANVIL" --version | head -n1 | awk '{print $3}'), $(<"$BRIDGE_DIR/contracts/build/COMPILER")"
printf '%-58s %9s  %s\n' "call" "gas" "note"
printf '%s\n' "${rows[@]}"
worst_commit=$((single_commit > final_commit ? single_commit : final_commit))
best_batch=${batch_gas[-1]}
verdict() { (($1 <= $2)) && echo PASS || echo MISS; }
worst_dispute=$((solver_wrong_total > challenger_wrong_total ? solver_wrong_total : challenger_wrong_total))
echo
echo "target: commit <= 65000 gas per checkpoint: single $worst_commit (worst of mean and final), batched $best_batch per checkpoint: $(verdict "$worst_commit" 65000)"
echo "target: dispute over 1024 steps <= 1300000 gas in total: $worst_dispute (worst outcome, $NUM_OPS operators): $(verdict "$worst_dispute" 1300000)"
