#!/usr/bin/env bash
# anvil-start.sh — start a local EVM node (the pinned anvil) on 127.0.0.1 at a port the OS picks.
#   bridge/scripts/anvil-start.sh DIR [extra anvil arguments...]
#   line=$(bridge/scripts/anvil-start.sh DIR) && eval "$line"   # sets MLCP_ANVIL_URL, MLCP_ANVIL_PID
#   (not `eval "$(anvil-start.sh ...)"`: eval of an empty string succeeds, hiding a failed start)
# Contract:
#   - Creates DIR if needed; anvil logs to DIR/anvil.log, its pid goes to DIR/anvil.pid and its
#     URL to DIR/anvil.url.
#   - Waits, polling eth_chainId against a deadline (MLCP_ANVIL_START_TIMEOUT seconds, default
#     20), until the node answers; then the only line on stdout is
#     `MLCP_ANVIL_URL=http://127.0.0.1:PORT MLCP_ANVIL_PID=PID`.
#   - If an anvil of DIR is already running and answering, prints its line and starts nothing.
#   - Fails (exit 1) with one sentence naming the log if anvil dies or does not answer in time;
#     it then stops what it started, keeping the log.
#   - MLCP_ANVIL_OWNER_PID=PID (optional): a detached watchdog runs anvil-stop.sh DIR when that
#     process exits, however it exits (a test killed by a ctest timeout leaks no anvil).
#   - Chain: anvil's defaults (chain id 31337, 10 accounts of 10000 ETH from the mnemonic
#     "test test test test test test test test test test test junk"; account 0 is
#     0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 with key
#     0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80), blocks mined per
#     transaction. Extra arguments are passed to anvil unchanged.
# Stop it with anvil-stop.sh DIR.
set -euo pipefail
prog=anvil-start.sh
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
(($# >= 1)) || die "usage: $prog DIR [extra anvil arguments...]"
mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
shift
timeout=${MLCP_ANVIL_START_TIMEOUT:-20}
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "MLCP_ANVIL_START_TIMEOUT wants a positive integer, got '$timeout'"
source "$here/chain-tools.sh" || exit 1
source "$here/anvil-common.sh"

# ---- already up? ----
if pid=$(anvil_pid "$dir") && [[ -f $dir/anvil.url ]]; then
  url=$(<"$dir/anvil.url")
  if anvil_answers "$url"; then
    echo "MLCP_ANVIL_URL=$url MLCP_ANVIL_PID=$pid"
    exit 0
  fi
  echo "$prog: anvil $pid of $dir does not answer at $url; restarting it" >&2
  "$here/anvil-stop.sh" "$dir" >&2
fi

log=$dir/anvil.log
rm -f "$dir/anvil.pid" "$dir/anvil.url"
# Port 0: the OS picks a free port, so parallel tests never race for one; anvil prints it.
setsid "$MLCP_ANVIL" --host 127.0.0.1 --port 0 "$@" </dev/null >"$log" 2>&1 &
pid=$!
echo "$pid" >"$dir/anvil.pid"

fail() {
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/anvil.pid" "$dir/anvil.url"
  die "$* (log: $log)"
}
t0=$EPOCHREALTIME
deadline=$((${t0/./} + timeout * 1000000))
url=""
while :; do
  kill -0 "$pid" 2>/dev/null || fail "anvil exited during start-up"
  # The child may not have opened the log yet right after the fork.
  if [[ -z $url && -f $log ]]; then
    port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n1) || true
    [[ -n $port ]] && url=http://127.0.0.1:$port
  fi
  if [[ -n $url ]] && anvil_answers "$url"; then break; fi
  ((${EPOCHREALTIME/./} < deadline)) || fail "anvil did not answer eth_chainId within ${timeout}s"
  sleep 0.02   # poll interval, not a synchronisation
done
echo "$url" >"$dir/anvil.url"
if [[ -n ${MLCP_ANVIL_OWNER_PID:-} ]]; then
  [[ $MLCP_ANVIL_OWNER_PID =~ ^[0-9]+$ ]] || fail "MLCP_ANVIL_OWNER_PID wants a pid, got '$MLCP_ANVIL_OWNER_PID'"
  # Orphaned at once (the subshell exits), so a kill of the owner's process tree misses it.
  ( setsid bash -c 'tail --pid="$1" -f /dev/null; exec "$2" "$3"' _ "$MLCP_ANVIL_OWNER_PID" \
      "$here/anvil-stop.sh" "$dir" </dev/null >/dev/null 2>&1 & )
fi
echo "MLCP_ANVIL_URL=$url MLCP_ANVIL_PID=$pid"
