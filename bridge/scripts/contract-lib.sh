# shellcheck shell=bash disable=SC2034,SC2154  # names set here for (or by) the scripts that source it
# contract-lib.sh — bash helpers to drive MlcpJobs and MlcpMarket (+ its MlcpCheckers) on a real
# anvil with the pinned cast; sourced by the contract tests (tests/bridge/contract/*.sh) and the
# gas benchmark (bench/bench_gas.sh).
#   source bridge/scripts/contract-lib.sh     # starts anvil in a temporary directory, deploys
#                                             # nothing yet; stops anvil (by pid) on exit
# Conventions:
#   - Parties are anvil's default accounts by role: DEPLOYER SUBMITTER SOLVER CHALLENGER REFEREE
#     RELAYER STRANGER SOLVER2 VERIFIER WHISTLEBLOWER name account indices 0..9; key_of/addr_of
#     give the key and address.
#   - deploy [NAME]: CONTRACT = a fresh MlcpJobs (default; MLCP_CONTRACT=MlcpMarket runs a test
#     written for MlcpJobs against MlcpMarket) or MlcpMarket, then CHECKERS = its MlcpCheckers.
#   - tx ROLE SIG ARGS...    sends a transaction to $CONTRACT (TO=ADDR tx ...: to ADDR, e.g.
#     $CHECKERS; likewise for expect_revert and call) signed locally by ROLE's key, with
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
  0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356
  0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97
  0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6
)
DEPLOYER=0 SUBMITTER=1 SOLVER=2 CHALLENGER=3 REFEREE=4 RELAYER=5 STRANGER=6 SOLVER2=7 VERIFIER=8 WHISTLEBLOWER=9
ADDRS=()
for _k in "${KEYS[@]}"; do ADDRS+=("$(cast wallet address --private-key "$_k")"); done
key_of() { echo "${KEYS[$1]}"; }
addr_of() { echo "${ADDRS[$1]}"; }

# ---- transactions ----

# _send ROLE GASLIMIT TARGET ARGS... → receipt in TX_RECEIPT; sets TX_GAS, TX_COST, TX_STATUS, and
# adds TX_COST to SPENT[ROLE] (the role's gas spending, for balances checked to the wei)
declare -A SPENT=()
_send() {
  local role=$1 gas=$2; shift 2
  TX_RECEIPT=$LIB_WORK/receipt.json
  cast send --private-key "${KEYS[$role]}" --gas-limit "$gas" --value "${VALUE:-0}" --json "$@" >"$TX_RECEIPT" ||
    fail "cast send $* from account $role did not return a receipt"
  read -r TX_GAS TX_COST TX_STATUS SPENT[$role] < <("$PYTHON" -c "import json,sys
r = json.load(open(sys.argv[1])); g = int(r['gasUsed'], 16); c = g * int(r['effectiveGasPrice'], 16)
print(g, c, int(r['status'], 16), int(sys.argv[2]) + c)" "$TX_RECEIPT" "${SPENT[$role]:-0}")
}

# tx ROLE SIG ARGS...
tx() {
  local role=$1; shift
  local est to=${TO:-$CONTRACT}
  est=$(cast estimate --from "${ADDRS[$role]}" --value "${VALUE:-0}" "$to" "$@" 2>&1) ||
    fail "$1 from account $role would revert: $est"
  _send "$role" $((est * 5 / 4)) "$to" "$@"
  check_eq "status of $1 from account $role" 1 "$TX_STATUS"
}

# _check_code ADDRESS NAME [IMMUTABLE_ADDRESS]: the code at ADDRESS is NAME's committed runtime
# bytecode, in which solc leaves the (address) immutable's 32 bytes as zeros.
_check_code() {
  local code want
  want=0x$(<"$CONTRACTS_BUILD/$2.bin-runtime")
  code=$(cast code "$1")
  if [[ -n ${3:-} ]]; then
    local addr pad
    addr=$(tr 'A-F' 'a-f' <<<"${3#0x}")
    pad=000000000000000000000000$addr
    code=${code//$pad/0000000000000000000000000000000000000000000000000000000000000000}
  fi
  [[ $code == "$want" ]] || fail "code at $1 differs from $CONTRACTS_BUILD/$2.bin-runtime"
}

# deploy [NAME]: CONTRACT = a fresh NAME (MlcpJobs, or $MLCP_CONTRACT if set; or MlcpMarket) from
# the committed bytecode; DEPLOY_GAS its gas; for MlcpMarket also CHECKERS, its MlcpCheckers.
deploy() {
  local name=${1:-${MLCP_CONTRACT:-MlcpJobs}} bin
  bin=0x$(<"$CONTRACTS_BUILD/$name.bin")
  _send "$DEPLOYER" 12000000 --create "$bin"
  check_eq "deploy status" 1 "$TX_STATUS"
  CONTRACT=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['contractAddress'])" "$TX_RECEIPT")
  DEPLOY_GAS=$TX_GAS
  CONTRACT_NAME=$name
  if [[ $name == MlcpMarket ]]; then
    CHECKERS=$(call "checkers()(address)")
    _check_code "$CONTRACT" MlcpMarket "$CHECKERS"
    _check_code "$CHECKERS" MlcpCheckers "$CONTRACT"
    check_eq "MlcpCheckers' market" "${CONTRACT,,}" "$(TO=$CHECKERS call "market()(address)" | tr 'A-F' 'a-f')"
  else
    _check_code "$CONTRACT" "$name"
  fi
}

# expect_revert ERRSIG [ERRARGS...] -- ROLE SIG ARGS...
expect_revert() {
  local errsig=$1; shift
  local errargs=()
  while [[ $1 != -- ]]; do errargs+=("$1"); shift; done
  shift
  local role=$1; shift
  local want out got to=${TO:-$CONTRACT}
  want=$(cast calldata "$errsig" "${errargs[@]}")
  if out=$(cast call --from "${ADDRS[$role]}" --value "${VALUE:-0}" "$to" "$@" 2>&1); then
    fail "$1 from account $role should revert with $errsig but returned '$out'"
  fi
  got=$(sed -n 's/.*data: "\(0x[0-9a-fA-F]*\)".*/\1/p' <<<"$out" | head -n1)
  [[ -n $got ]] || fail "$1 from account $role failed without revert data: $out"
  check_eq "revert of $1 from account $role (want $errsig)" "$want" "$got"
  _send "$role" 1000000 "$to" "$@"
  check_eq "status of the reverting $1 sent on chain" 0 "$TX_STATUS"
}

# call SIG ARGS... (SIG with return types); prints the values one per line, without cast's
# "[1e18]" annotations.
call() { cast call "${TO:-$CONTRACT}" "$@" | sed 's/ \[[^]]*\]$//'; }

balance() { cast balance "$1"; }
owed() { call "owed(address)(uint256)" "$1"; }
# snapshot_balances ROLE...: B0[ROLE] = its balance now, SPENT[ROLE] = 0 (gas spent from now on)
declare -A B0=()
snapshot_balances() {
  local r
  for r in "$@"; do B0[$r]=$(balance "$(addr_of "$r")"); SPENT[$r]=0; done
}
# checkers_owed ADDRESS: what MlcpCheckers owes ADDRESS
checkers_owed() { TO=$CHECKERS call "owed(address)(uint256)" "$1"; }

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
ST_OPEN=1 ST_ACCEPTED=2 ST_COMMITTED=3 ST_DISPUTED=4 ST_SETTLED=5 ST_SOLVER_FAILED=6 ST_CANCELLED=7 ST_VOIDED=8
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
# VIEW_OFFSET=C (default 0): K and STEP are relative to checkpoint C of the run (a market task
# t of N checkpoints: C = (t-1) x N), while STEP in "fault:STEP:OP" stays a step of the run.
FAULT_STEP=0 FAULT_OP=0 VIEW_OFFSET=0
_parse_view() {
  if [[ $1 == honest ]]; then FAULT_STEP=0; FAULT_OP=0; else IFS=: read -r _ FAULT_STEP FAULT_OP <<<"$1"; fi
}
root_of() {
  _parse_view "$1"
  local k=$(($2 + VIEW_OFFSET))
  if ((FAULT_STEP > 0 && k * STEPS >= FAULT_STEP)); then hash_of e5 "$k"; else hash_of f6 "$k"; fi
}
state_of() {
  _parse_view "$1"
  local s=$(($2 + VIEW_OFFSET * STEPS))
  if ((FAULT_STEP > 0 && s >= FAULT_STEP)); then hash_of b2 "$s"; else hash_of a1 "$s"; fi
}
ops_of() {
  _parse_view "$1"
  local s=$(($2 + VIEW_OFFSET * STEPS))
  local n=$((s * 65536 + $3))
  if ((FAULT_STEP > 0 && s == FAULT_STEP && $3 > FAULT_OP)); then hash_of d4 "$n"; else hash_of c3 "$n"; fi
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
# records each move's gas as "name gas" lines in GAME_LOG. The players are the roles GAME_SOLVER
# and GAME_CHALLENGER (default SOLVER and CHALLENGER).
play_dispute() {
  local job=$1 sview=$2 cview=$3 numops=$4 p hashes mine j pts ch
  local gsol=${GAME_SOLVER:-$SOLVER} gch=${GAME_CHALLENGER:-$CHALLENGER}
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
        tx "$gsol" "postOperators(uint256,uint32,bytes32[])" "$job" "$numops" "$(_join "${last_hashes[@]}")"
        GAME_LOG+="postOperators $TX_GAS"$'\n'
        SOLVER_COST=$(py "$SOLVER_COST + $TX_COST")
        ;;
      "$PH_STEPS" | "$PH_OPERATORS")
        mapfile -t pts < <(points "$D_lo" "$D_hi")
        if [[ $D_solverTurn == true ]]; then
          last_hashes=()
          for p in "${pts[@]}"; do last_hashes+=("$(_hash_at "$sview" "$D_phase" "$p")"); done
          tx "$gsol" "postClaims(uint256,bytes32[])" "$job" "$(_join "${last_hashes[@]}")"
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
          tx "$gch" "chooseSegment(uint256,uint256,bytes32[],bytes32)" "$job" "$j" \
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

# ---- MlcpMarket and MlcpCheckers (issue #17) ----
# A market job is described by M_* variables (market_spec builds the JobSpec tuple from them) and
# its economics by E_* variables (econ_load reads the contract's defaults; econ_tuple builds the
# Economics tuple). Commitments, samples and forced roots are computed here with cast,
# independently of the contract (whose views the tests compare against).
SPEC_SIG="(bytes32,bytes32,uint32,uint32,uint32,uint64,uint128,uint32,uint32,uint32,uint32,uint32,uint32,address)"
ECON_SIG="(uint128,uint128,uint128,uint128,uint128,uint16,uint8,uint8)"
ECON_FIELDS=(stake bond verifierFee verifierDeposit jackpot forcedRateBps maxVerifiers samplesPerVerifier)
M_TASKS=2 M_N=4 M_UNITS=1000 M_PRICE=20000000000000 M_COMMIT_TIMEOUT=3600 M_WINDOW=4000 M_MOVE=300
M_VERDICT=1000 M_PHASE=600 M_COMMITTEE=0 M_REFEREE_ROLE=4
SEED_TAG=$(cast keccak "mlcp.seed.v1")
SAMPLE_TAG=$(cast keccak "mlcp.sample.v1")
VERDICTS_TAG=$(cast keccak "mlcp.verdicts.v1")
FORCED_TAG=$(cast keccak "mlcp.forced.v1")
VERDICT_TAG=$(cast keccak "mlcp.verdict.v1")
PENDING_ROOT=0x0000000000000000000000000000000000000000000000000000000000000001

mine() { cast rpc evm_mine >/dev/null; }
block_hash() { cast block "$1" --field hash; }
# time_to T: the next block (mined now) has timestamp T; later blocks follow the clock from there.
time_to() {
  cast rpc evm_setNextBlockTimestamp "$1" >/dev/null
  mine
}
tx_block() { "$PYTHON" -c "import json,sys; print(int(json.load(open(sys.argv[1]))['blockNumber'], 16))" "$TX_RECEIPT"; }

# market_spec: the JobSpec tuple of the M_* variables (STEPS steps per checkpoint)
market_spec() {
  local referee=0x0000000000000000000000000000000000000000
  ((M_COMMITTEE == 0)) && referee=${M_REFEREE_ADDR:-$(addr_of "$M_REFEREE_ROLE")}
  echo "($(hash_of 5e 1),$(root_of honest 0),$M_TASKS,$M_N,$STEPS,$M_UNITS,$M_PRICE,$M_COMMIT_TIMEOUT,$M_WINDOW,$M_MOVE,$M_VERDICT,$M_PHASE,$M_COMMITTEE,$referee)"
}
# econ_load: E_<field> = the contract's defaultEconomics for market_spec
econ_load() {
  local out i vals
  out=$(call "defaultEconomics($SPEC_SIG)($ECON_SIG)" "$(market_spec)")
  mapfile -t vals < <("$PYTHON" -c "import re,sys
for v in re.sub(r'\[[^]]*\]', '', sys.argv[1]).strip().strip('()').split(','): print(v.strip())" "$out")
  ((${#vals[@]} == ${#ECON_FIELDS[@]})) || fail "defaultEconomics returned '$out'"
  for i in "${!ECON_FIELDS[@]}"; do printf -v "E_${ECON_FIELDS[$i]}" %s "${vals[$i]}"; done
}
econ_tuple() {
  local f v=()
  for f in "${ECON_FIELDS[@]}"; do local n=E_$f; v+=("${!n}"); done
  local IFS=,; echo "(${v[*]})"
}
# Amounts of the M_*/E_* job: P (task payment), interval price, escrow of the whole job.
task_payment() { py "$M_N * $M_UNITS * $M_PRICE"; }
market_escrow() { py "$M_TASKS * ($(task_payment) + $E_maxVerifiers * $E_verifierFee + $E_jackpot)"; }

# create_market_job: the M_*/E_* job, by SUBMITTER with the exact escrow → FIRST_TASK (task t is
# FIRST_TASK + t - 1)
create_market_job() {
  VALUE=$(market_escrow) tx "$SUBMITTER" "createMarketJob($SPEC_SIG,$ECON_SIG)" "$(market_spec)" "$(econ_tuple)"
  FIRST_TASK=$(($(call "jobCount()(uint256)") - M_TASKS + 1))
}

# Commitments (docs/bridge-protocol.md): seed_commitment TASK SOLVER_ADDR SEED;
# sample_commitment TASK VERIFIER_ADDR SECRET; verdicts_commitment FLAGS SECRET;
# sample_seed SECRET ANCHOR
seed_commitment() { cast keccak "$(cast abi-encode "f(bytes32,uint256,address,bytes32)" "$SEED_TAG" "$1" "$2" "$3")"; }
sample_commitment() { cast keccak "$(cast abi-encode "f(bytes32,uint256,address,bytes32)" "$SAMPLE_TAG" "$1" "$2" "$3")"; }
verdicts_commitment() { cast keccak "$(cast abi-encode "f(bytes32,uint8,bytes32)" "$VERDICTS_TAG" "$1" "$2")"; }
sample_seed() { cast keccak "$(cast abi-encode "f(bytes32,bytes32)" "$1" "$2")"; }
# sample_of SEED N M: the M distinct checkpoints of 1..N a sample seed picks, in order
sample_of() {
  local seed=$1 n=$2 m=$3 t=0 k picked=() x
  while ((${#picked[@]} < m)); do
    k=$("$PYTHON" -c "print(1 + int('$(cast keccak "$(cast abi-encode "f(bytes32,uint256)" "$seed" "$t")")', 16) % $n)")
    local dup=0
    for x in "${picked[@]}"; do ((x == k)) && dup=1; done
    ((dup)) || picked+=("$k")
    t=$((t + 1))
  done
  echo "${picked[*]}"
}
# forced_of SEED ANCHOR RATE_BPS N: the checkpoint the seed forces, 0 for none
forced_of() {
  local f
  f=$(cast keccak "$(cast abi-encode "f(bytes32,bytes32)" "$1" "$2")")
  "$PYTHON" -c "f = int('$f', 16); print(1 + (f // 10000) % $4 if f % 10000 < $3 else 0)"
}
# forced_root TASK K TRUE_ROOT SEED: the deliberately wrong root of a forced checkpoint
forced_root() {
  cast keccak "$(cast abi-encode "f(bytes32,uint256,address,uint256,uint256,bytes32,bytes32)" "$FORCED_TAG" \
    "$CHAIN_ID" "$CONTRACT" "$1" "$2" "$3" "$4")"
}

# commit_roots SIGNER JOB ROOT...: commit roots 1.. of JOB in order, signed and sent by SIGNER;
# costs summed in COMMIT_COST_TOTAL
commit_roots() {
  local signer=$1 job=$2 k=0 root v r s
  shift 2
  COMMIT_COST_TOTAL=0
  for root in "$@"; do
    k=$((k + 1))
    read -r v r s < <(sign_checkpoint "$signer" "$job" "$k" "$root")
    tx "$signer" "commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)" "$job" "$k" "$root" "$v" "$r" "$s"
    COMMIT_COST_TOTAL=$(py "$COMMIT_COST_TOTAL + $TX_COST")
  done
}
# task_roots VIEW TASK_INDEX: the N roots of task TASK_INDEX (1-based) of a run seen by VIEW
task_roots() {
  local k out=()
  for ((k = 1; k <= M_N; k++)); do out+=("$(VIEW_OFFSET=$((($2 - 1) * M_N)) root_of "$1" "$k")"); done
  echo "${out[*]}"
}

# phase_load TASK: PH_T1 (verdict commitments), PH_T2 (verdict reveals), PH_T3 (seed reveal): the
# task's verification deadlines; PH_END (windowEnd)
phase_load() {
  local vals
  mapfile -t vals < <(call "checkPhase(uint256)(uint8,uint256,uint256)" "$1")
  PH_T1=${vals[1]} PH_T2=${vals[2]} PH_T3=$((vals[2] + M_PHASE))
  PH_END=$(job_field "$1" windowEnd)
}

# Verifier slots (MlcpCheckers.verifiers): vslot_load TASK SLOT → V_account V_block V_status V_flags V_transcript
VS_OPEN=1 VS_REGISTERED=2 VS_ANCHORED=3 VS_COMMITTED=4 VS_REVEALED=5
vslot_load() {
  local vals
  mapfile -t vals < <(TO=$CHECKERS call "verifiers(uint256,uint256)(address,uint32,uint8,uint8,bytes32)" "$1" "$2")
  V_account=${vals[0]} V_block=${vals[1]} V_status=${vals[2]} V_flags=${vals[3]} V_transcript=${vals[4]}
}
# register_verifier ROLE TASK SECRET → V_SLOT, V_REG_BLOCK; sums the cost in V_COST
register_verifier() {
  local role=$1 task=$2 secret=$3
  V_SLOT=$(TO=$CHECKERS call "taskChecks(uint256)(uint64,uint32,uint8,uint8,uint8,uint128,uint128,uint128)" "$task" | sed -n 3p)
  VALUE=$E_verifierDeposit TO=$CHECKERS tx "$role" "registerVerifier(uint256,bytes32)" "$task" \
    "$(sample_commitment "$task" "$(addr_of "$role")" "$secret")"
  V_REG_BLOCK=$(tx_block)
}
# verifier_sample TASK REG_BLOCK SECRET N M → V_ANCHOR, V_SEED, V_SAMPLE (array); mines a block if
# the anchor block does not exist yet
verifier_sample() {
  while (($(cast block-number) <= $2 + 1)); do mine; done
  V_ANCHOR=$(block_hash $(($2 + 1)))
  V_SEED=$(sample_seed "$3" "$V_ANCHOR")
  read -r -a V_SAMPLE <<<"$(sample_of "$V_SEED" "$4" "$5")"
}
# flags_for VIEW_ROOTS_OF_CHAIN... : given the sample in V_SAMPLE, the bitmap of the samples whose
# committed root differs from the replayed one: flags_for TASK TRUE_ROOT_1 .. TRUE_ROOT_N
flags_for() {
  local task=$1 i k flags=0
  shift
  local truth=("$@")
  for i in "${!V_SAMPLE[@]}"; do
    k=${V_SAMPLE[$i]}
    [[ $(call "roots(uint256,uint256)(bytes32)" "$task" "$k") != "${truth[$((k - 1))]}" ]] && flags=$((flags | (1 << i)))
  done
  echo "$flags"
}

# accept_task ROLE TASK SEED: acceptTask with the stake and the seed's commitment → ACCEPT_BLOCK
accept_task() {
  VALUE=$(job_field "$2" stake) tx "$1" "acceptTask(uint256,bytes32)" "$2" "$(seed_commitment "$2" "$(addr_of "$1")" "$3")"
  ACCEPT_BLOCK=$(tx_block)
}
# anchor_seed TASK: anchorSeed (mining a block first if needed) → SEED_ANCHOR
anchor_seed() {
  while (($(cast block-number) <= ACCEPT_BLOCK + 1)); do mine; done
  tx "$STRANGER" "anchorSeed(uint256)" "$1"
  SEED_ANCHOR=$(block_hash $((ACCEPT_BLOCK + 1)))
}

# Referee verdict signatures: verdict_message JOB DISPUTE_ID SOLVER_CORRECT(true|false);
# sign_verdict ROLE MESSAGE → "v r s"
verdict_message() {
  cast keccak "$(cast abi-encode "f(bytes32,uint256,address,uint256,uint256,bool)" "$VERDICT_TAG" "$CHAIN_ID" \
    "$CONTRACT" "$1" "$2" "$3")"
}
sign_verdict() {
  local sig
  sig=$(cast wallet sign --private-key "${KEYS[$1]}" "$2")
  echo "$((16#${sig:130:2})) 0x${sig:2:64} 0x${sig:66:64}"
}
# sigs_of MESSAGE ROLE... → SIG_VS SIG_RS SIG_SS (array literals for resolveSigned)
sigs_of() {
  local msg=$1 role v r s vs=() rs=() ss=()
  shift
  for role in "$@"; do
    read -r v r s < <(sign_verdict "$role" "$msg")
    vs+=("$v") rs+=("$r") ss+=("$s")
  done
  SIG_VS=$(_join "${vs[@]}") SIG_RS=$(_join "${rs[@]}") SIG_SS=$(_join "${ss[@]}")
}
RESOLVE_SIGNED="resolveSigned(uint256,bool,uint8[],bytes32[],bytes32[])"
