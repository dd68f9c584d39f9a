# shellcheck shell=bash disable=SC2034,SC2154  # names set here for (or by) the scripts that source it
# contract-lib.sh — bash helpers to drive MlcpJobs on a real anvil with the pinned cast; sourced
# by the contract tests (tests/bridge/contract/*.sh) and the gas benchmark (bench/bench_gas.sh).
#   source bridge/scripts/contract-lib.sh     # starts anvil in a temporary directory, deploys
#                                             # nothing yet; stops anvil (by pid) on exit
# Conventions:
#   - Parties are anvil's default accounts by role: DEPLOYER SUBMITTER SOLVER CHALLENGER REFEREE
#     RELAYER STRANGER name account indices; key_of/addr_of give the key and address.
#   - tx ROLE SIG ARGS...    sends a transaction to $CONTRACT signed locally by ROLE's key, with
#     gas from eth_estimateGas x 1.25 (anvil under-fills gas otherwise, ../../../shared notes);
#     VALUE=wei tx ... attaches value. Sets TX_GAS (gasUsed), TX_COST (gasUsed x
#     effectiveGasPrice, wei) and TX_RECEIPT (a JSON file); fails unless status is 1.
#   - expect_revert ERRSIG [ERRARGS...] -- ROLE SIG ARGS...  asserts that the call reverts with
#     exactly the ABI-encoded custom error ERRSIG(ERRARGS) (eth_call from ROLE), then sends the
#     same transaction (fixed gas limit) and asserts it is mined with status 0; TX_COST is its cost.
#   - No sleeping: time moves with time_travel SECONDS (evm_increaseTime + evm_mine).
#   - MLCP_CONTRACTS_BUILD (default bridge/contracts/build) is where the bytecode is read from,
#     so the tests can be run against a deliberately broken contract to see them fail.
# Every failure prints one line starting with "FAIL:" and exits 1.

set -euo pipefail
_lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
BRIDGE_DIR=$(dirname "$_lib_here")
CONTRACTS_BUILD=${MLCP_CONTRACTS_BUILD:-$BRIDGE_DIR/contracts/build}
# Without the pinned tools the tests cannot run at all: exit 77, which ctest reports as skipped
# (SKIP_RETURN_CODE in tests/bridge/contract_tests.cmake), with the reason.
source "$_lib_here/chain-tools.sh" || { echo "SKIP: chain tools not installed; run bridge/scripts/install-chain-tools.sh" >&2; exit 77; }

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "$*" >&2; }
cast() { "$MLCP_CAST" "$@"; }
# Big-integer arithmetic (balances exceed 64 bits). /usr/bin/python3 first: a pyenv shim costs
# ~100 ms per call.
if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3) || {
  echo "FAIL: python3 not found" >&2; exit 1; }; fi
py() { "$PYTHON" -c "print($1)"; }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
  [[ "$2" == "$3" ]] || fail "$1: expected $2, got $3"
}

# ---- anvil, started here and stopped by pid on exit ----
LIB_WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlcp-contract.XXXXXX")
_lib_cleanup() {
  local rc=$?
  "$_lib_here/anvil-stop.sh" "$LIB_WORK" || true
  if ((rc == 0)); then rm -rf "$LIB_WORK"; else echo "(anvil log kept in $LIB_WORK/anvil.log)" >&2; fi
}
trap _lib_cleanup EXIT
trap 'exit 143' TERM INT   # run the EXIT trap on these too (SIGKILL: anvil-start's watchdog)
_line=$(MLCP_ANVIL_OWNER_PID=$$ "$_lib_here/anvil-start.sh" "$LIB_WORK") || fail "anvil did not start"
eval "$_line"
export ETH_RPC_URL=$MLCP_ANVIL_URL
CHAIN_ID=$(cast chain-id)

# ---- accounts: anvil's default mnemonic "test test ... junk" ----
KEYS=(
  0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
  0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
  0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
  0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
  0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba
  0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e
)
DEPLOYER=0 SUBMITTER=1 SOLVER=2 CHALLENGER=3 REFEREE=4 RELAYER=5 STRANGER=6
ADDRS=()
for _k in "${KEYS[@]}"; do ADDRS+=("$(cast wallet address --private-key "$_k")"); done
key_of() { echo "${KEYS[$1]}"; }
addr_of() { echo "${ADDRS[$1]}"; }

# ---- transactions ----

# _send ROLE GASLIMIT TARGET ARGS... → receipt in TX_RECEIPT; sets TX_GAS, TX_COST, TX_STATUS
_send() {
  local role=$1 gas=$2; shift 2
  TX_RECEIPT=$LIB_WORK/receipt.json
  cast send --private-key "${KEYS[$role]}" --gas-limit "$gas" --value "${VALUE:-0}" --json "$@" >"$TX_RECEIPT" ||
    fail "cast send $* from account $role did not return a receipt"
  read -r TX_GAS TX_COST TX_STATUS < <("$PYTHON" -c "import json,sys
r = json.load(open(sys.argv[1])); g = int(r['gasUsed'], 16)
print(g, g * int(r['effectiveGasPrice'], 16), int(r['status'], 16))" "$TX_RECEIPT")
}

# tx ROLE SIG ARGS...
tx() {
  local role=$1; shift
  local est
  est=$(cast estimate --from "${ADDRS[$role]}" --value "${VALUE:-0}" "$CONTRACT" "$@" 2>&1) ||
    fail "$1 from account $role would revert: $est"
  _send "$role" $((est * 5 / 4)) "$CONTRACT" "$@"
  check_eq "status of $1 from account $role" 1 "$TX_STATUS"
}

# deploy: CONTRACT = a fresh MlcpJobs from the committed bytecode; DEPLOY_GAS its gas.
deploy() {
  local bin
  bin=0x$(<"$CONTRACTS_BUILD/MlcpJobs.bin")
  _send "$DEPLOYER" 5000000 --create "$bin"
  check_eq "deploy status" 1 "$TX_STATUS"
  CONTRACT=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['contractAddress'])" "$TX_RECEIPT")
  DEPLOY_GAS=$TX_GAS
  [[ $(cast code "$CONTRACT") == 0x$(<"$CONTRACTS_BUILD/MlcpJobs.bin-runtime") ]] ||
    fail "deployed code differs from $CONTRACTS_BUILD/MlcpJobs.bin-runtime"
}

# expect_revert ERRSIG [ERRARGS...] -- ROLE SIG ARGS...
expect_revert() {
  local errsig=$1; shift
  local errargs=()
  while [[ $1 != -- ]]; do errargs+=("$1"); shift; done
  shift
  local role=$1; shift
  local want out got
  want=$(cast calldata "$errsig" "${errargs[@]}")
  if out=$(cast call --from "${ADDRS[$role]}" --value "${VALUE:-0}" "$CONTRACT" "$@" 2>&1); then
    fail "$1 from account $role should revert with $errsig but returned '$out'"
  fi
  got=$(sed -n 's/.*data: "\(0x[0-9a-fA-F]*\)".*/\1/p' <<<"$out" | head -n1)
  [[ -n $got ]] || fail "$1 from account $role failed without revert data: $out"
  check_eq "revert of $1 from account $role (want $errsig)" "$want" "$got"
  _send "$role" 1000000 "$CONTRACT" "$@"
  check_eq "status of the reverting $1 sent on chain" 0 "$TX_STATUS"
}

# call SIG ARGS... (SIG with return types); prints the values one per line, without cast's
# "[1e18]" annotations.
call() { cast call "$CONTRACT" "$@" | sed 's/ \[[^]]*\]$//'; }

balance() { cast balance "$1"; }
owed() { call "owed(address)(uint256)" "$1"; }

time_travel() {
  cast rpc evm_increaseTime "$1" >/dev/null
  cast rpc evm_mine >/dev/null
}
now() { cast block latest --field timestamp; }

# ---- job state ----
JOB_FIELDS=(submitter state numCheckpoints committed solver commitDeadline windowEnd challengeWindow referee
  stepsPerCheckpoint commitTimeout moveTimeout escrow stake bond specHash initialRoot)
# job_field JOB NAME
job_field() {
  local i vals
  mapfile -t vals < <(call "jobs(uint256)(address,uint8,uint32,uint32,address,uint32,uint32,uint32,address,uint32,uint32,uint32,uint128,uint128,uint128,bytes32,bytes32)" "$1")
  for i in "${!JOB_FIELDS[@]}"; do
    [[ ${JOB_FIELDS[$i]} == "$2" ]] && { echo "${vals[$i]}"; return; }
  done
  fail "no job field $2"
}
DISPUTE_FIELDS=(challenger phase solverTurn checkpoint deadline lo hi step numOps windowLeft claimsHash hashLo
  solverHashHi challengerHashHi)
# dispute_load JOB: sets D_<field> for every dispute field
dispute_load() {
  local i vals
  mapfile -t vals < <(call "disputes(uint256)(address,uint8,bool,uint32,uint32,uint32,uint32,uint32,uint32,uint32,bytes32,bytes32,bytes32,bytes32)" "$1")
  for i in "${!DISPUTE_FIELDS[@]}"; do printf -v "D_${DISPUTE_FIELDS[$i]}" %s "${vals[$i]}"; done
}
# Job states and phases as numbers (enum order in MlcpJobs.sol).
ST_OPEN=1 ST_ACCEPTED=2 ST_COMMITTED=3 ST_DISPUTED=4 ST_SETTLED=5 ST_SOLVER_FAILED=6 ST_CANCELLED=7
PH_NONE=0 PH_STEPS=1 PH_OPCOUNT=2 PH_OPERATORS=3 PH_VERDICT=4

# create_job ESCROW NUM_CKPT STEPS STAKE BOND COMMIT_TIMEOUT WINDOW MOVE_TIMEOUT → JOB
create_job() {
  VALUE=$1 tx "$SUBMITTER" "createJob(bytes32,bytes32,uint32,uint32,uint128,uint128,uint32,uint32,uint32,address)" \
    "$(hash_of 5e 1)" "$(root_of honest 0)" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$(addr_of "$REFEREE")"
  JOB=$(call "jobCount()(uint256)")
}

# ---- signatures (computed here with cast, independently of the contract) ----
CHECKPOINT_TAG=$(cast keccak "mlcp.checkpoint.v1")
# checkpoint_message JOB INDEX ROOT
checkpoint_message() {
  cast keccak "$(cast abi-encode "f(bytes32,uint256,address,uint256,uint256,bytes32)" \
    "$CHECKPOINT_TAG" "$CHAIN_ID" "$CONTRACT" "$1" "$2" "$3")"
}
# sign_checkpoint ROLE JOB INDEX ROOT → "v r s" (EIP-191 signature of the message by ROLE's key)
sign_checkpoint() {
  local sig
  sig=$(cast wallet sign --private-key "${KEYS[$1]}" "$(checkpoint_message "$2" "$3" "$4")")
  echo "$((16#${sig:130:2})) 0x${sig:2:64} 0x${sig:66:64}"
}

# ---- the parties' hashes (synthetic but distinct: the game only compares them) ----
# hash_of TAG N: 32 bytes = TAG (2 hex digits), then N's 31 hex digits each as a byte 0x1d: no
# zero byte, so calldata costs what real hashes cost (16 gas per byte, not 4).
hash_of() {
  local h
  printf -v h '%031x' "$2"
  echo "0x$1$(sed 's/./1&/g' <<<"$h")"
}
# A party's view: "honest", or "fault:STEP:OP" (its state after global step STEP differs, first in
# operator OP of that step; OP = the step's operator count: every operator agrees, only the
# step's output hash is wrong). root_of VIEW K; state_of VIEW STEP; ops_of VIEW STEP Q (position
# Q of the operator phase: the prefix-chain hash after operators 0..Q-1 of STEP).
FAULT_STEP=0 FAULT_OP=0
_parse_view() {
  if [[ $1 == honest ]]; then FAULT_STEP=0; FAULT_OP=0; else IFS=: read -r _ FAULT_STEP FAULT_OP <<<"$1"; fi
}
root_of() {
  _parse_view "$1"
  if ((FAULT_STEP > 0 && $2 * STEPS >= FAULT_STEP)); then hash_of e5 "$2"; else hash_of f6 "$2"; fi
}
state_of() {
  _parse_view "$1"
  if ((FAULT_STEP > 0 && $2 >= FAULT_STEP)); then hash_of b2 "$2"; else hash_of a1 "$2"; fi
}
ops_of() {
  _parse_view "$1"
  local n=$(($2 * 65536 + $3))
  if ((FAULT_STEP > 0 && $2 == FAULT_STEP && $3 > FAULT_OP)); then hash_of d4 "$n"; else hash_of c3 "$n"; fi
}

# commit_all ROLE_SIGNER VIEW JOB N [SENDER]: commit roots 1..N one by one (sent by SENDER,
# default the solver itself); sums their gas in COMMIT_GAS_TOTAL, the last in COMMIT_GAS.
commit_all() {
  local signer=$1 view=$2 job=$3 n=$4 sender=${5:-$1} k root v r s
  COMMIT_GAS_TOTAL=0 COMMIT_COST_TOTAL=0
  for ((k = 1; k <= n; k++)); do
    root=$(root_of "$view" "$k")
    read -r v r s < <(sign_checkpoint "$signer" "$job" "$k" "$root")
    tx "$sender" "commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)" "$job" "$k" "$root" "$v" "$r" "$s"
    COMMIT_GAS=$TX_GAS
    COMMIT_GAS_TOTAL=$((COMMIT_GAS_TOTAL + TX_GAS))
    COMMIT_COST_TOTAL=$(py "$COMMIT_COST_TOTAL + $TX_COST")
  done
}

# ---- the dispute game, played by both parties ----
# points LO HI: the claim positions p_1..p_{parts-1} (the contract's claimPoints formula)
points() {
  local lo=$1 hi=$2 w parts i
  w=$((hi - lo)); parts=$((w < 8 ? w : 8))
  for ((i = 1; i < parts; i++)); do echo $((lo + w * i / parts)); done
}
# _hash_at VIEW PHASE POS: the party's hash at position POS of the current interval
_hash_at() {
  if (($2 == PH_STEPS)); then state_of "$1" $(((D_checkpoint - 1) * STEPS + $3)); else ops_of "$1" "$D_step" "$3"; fi
}
_join() { local IFS=,; echo "[$*]"; }

# play_dispute JOB SOLVER_VIEW CHALLENGER_VIEW NUM_OPS: play moves until the referee is asked
# for a verdict. Sums gas in GAME_GAS and the parties' costs in SOLVER_COST / CHALLENGER_COST;
# records each move's gas as "name gas" lines in GAME_LOG.
play_dispute() {
  local job=$1 sview=$2 cview=$3 numops=$4 p hashes mine j pts ch
  GAME_GAS=0 SOLVER_COST=0 CHALLENGER_COST=0 GAME_LOG=""
  local last_hashes=() moves=0
  while :; do
    # A sound game ends in 2 x ceil(log8(width)) moves per phase; far more means it does not narrow.
    ((++moves <= 64)) || fail "the dispute of job $job did not reach a verdict in 64 moves (lo=$D_lo hi=$D_hi)"
    dispute_load "$job"
    case $D_phase in
      "$PH_VERDICT") return 0 ;;
      "$PH_OPCOUNT")
        mapfile -t pts < <(points 0 $((numops + 1)))
        D_step=$(((D_checkpoint - 1) * STEPS + D_hi))
        last_hashes=()
        for p in "${pts[@]}"; do last_hashes+=("$(ops_of "$sview" "$D_step" "$p")"); done
        tx "$SOLVER" "postOperators(uint256,uint32,bytes32[])" "$job" "$numops" "$(_join "${last_hashes[@]}")"
        GAME_LOG+="postOperators $TX_GAS"$'\n'
        SOLVER_COST=$(py "$SOLVER_COST + $TX_COST")
        ;;
      "$PH_STEPS" | "$PH_OPERATORS")
        mapfile -t pts < <(points "$D_lo" "$D_hi")
        if [[ $D_solverTurn == true ]]; then
          last_hashes=()
          for p in "${pts[@]}"; do last_hashes+=("$(_hash_at "$sview" "$D_phase" "$p")"); done
          tx "$SOLVER" "postClaims(uint256,bytes32[])" "$job" "$(_join "${last_hashes[@]}")"
          GAME_LOG+="postClaims $TX_GAS"$'\n'
          SOLVER_COST=$(py "$SOLVER_COST + $TX_COST")
        else
          # The first segment whose end the challenger disputes; the interval's end (hi) is
          # disputed by construction.
          j=${#pts[@]}
          for ((i = 0; i < ${#pts[@]}; i++)); do
            mine=$(_hash_at "$cview" "$D_phase" "${pts[$i]}")
            if [[ $mine != "${last_hashes[$i]}" ]]; then j=$i; break; fi
          done
          if ((j < ${#pts[@]})); then ch=$mine
          elif (($D_phase == PH_STEPS && D_hi == STEPS)); then ch=$(root_of "$cview" "$D_checkpoint")
          elif (($D_phase == PH_STEPS)); then ch=$(state_of "$cview" $(((D_checkpoint - 1) * STEPS + D_hi)))
          elif ((D_hi == D_numOps + 1)); then ch=$D_challengerHashHi
          else ch=$(ops_of "$cview" "$D_step" "$D_hi"); fi
          tx "$CHALLENGER" "chooseSegment(uint256,uint256,bytes32[],bytes32)" "$job" "$j" \
            "$(_join "${last_hashes[@]}")" "$ch"
          GAME_LOG+="chooseSegment $TX_GAS"$'\n'
          CHALLENGER_COST=$(py "$CHALLENGER_COST + $TX_COST")
        fi
        ;;
      *) fail "dispute of job $job in phase $D_phase, expected a move" ;;
    esac
    GAME_GAS=$((GAME_GAS + TX_GAS))
  done
}
