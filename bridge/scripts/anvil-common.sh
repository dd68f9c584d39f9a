# shellcheck shell=bash
# anvil-common.sh — helpers shared by anvil-start.sh and anvil-stop.sh (sourced, not run).

# anvil_pid DIR: print the pid from DIR/anvil.pid if that process is alive and is anvil.
anvil_pid() {
  local f=$1/anvil.pid p
  [[ -f $f ]] || return 1
  p=$(<"$f")
  [[ $p =~ ^[0-9]+$ ]] || return 1
  kill -0 "$p" 2>/dev/null || return 1
  # A recycled pid must not be taken for our anvil.
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q anvil || return 1
  echo "$p"
}

# anvil_answers URL: true if eth_chainId gets a result.
anvil_answers() {
  local body='{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
  if command -v curl >/dev/null; then
    curl -s -m 2 -H 'Content-Type: application/json' -d "$body" "$1" 2>/dev/null | grep -q '"result"'
  else
    "$MLCP_CAST" chain-id --rpc-url "$1" >/dev/null 2>&1
  fi
}
