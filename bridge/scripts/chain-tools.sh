#!/usr/bin/env bash
# chain-tools.sh — locate the pinned chain tools that install-chain-tools.sh put in
# bridge/node_modules and export their absolute paths:
#   MLCP_ANVIL    the native anvil binary (local EVM node)
#   MLCP_CAST     the native cast binary (independent RPC/ABI/signing cross-checks)
#   MLCP_SOLCJS   solcjs (the pinned Solidity compiler, run by node)
# Two ways to use it:
#   source bridge/scripts/chain-tools.sh          # sets the three variables in this shell
#   eval "$(bridge/scripts/chain-tools.sh)"       # prints `export NAME=PATH` lines (for C++ tests)
# A variable already set to an executable file is kept (point it at another build on purpose).
# Fails (return/exit 1) with one sentence when a tool is missing; it never installs anything.

_mlcp_chain_tools() {
  local here root nm os arch f tool var
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P) || return 1
  root=$(dirname "$here")
  nm=$root/node_modules
  case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unknown ;; esac
  case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unknown ;; esac
  for tool in anvil cast; do
    var=MLCP_${tool^^}
    if [[ -n ${!var:-} && -x ${!var} && ! -d ${!var} ]]; then continue; fi
    # The foundry wrapper's postinstall may not have run; the native binary sits in the
    # platform package either way. Prefer this platform's package, then any that executes.
    f=""
    for cand in "$nm/@foundry-rs/$tool-$os-$arch/bin/$tool" "$nm"/@foundry-rs/"$tool"-*/bin/"$tool"; do
      if [[ -x $cand && ! -d $cand ]] && "$cand" --version >/dev/null 2>&1; then f=$cand; break; fi
    done
    if [[ -z $f ]]; then
      echo "chain-tools.sh: $tool not found under $nm/@foundry-rs; run bridge/scripts/install-chain-tools.sh" >&2
      return 1
    fi
    printf -v "$var" %s "$f"
    export "${var?}"
  done
  if ! [[ -n ${MLCP_SOLCJS:-} && -x $MLCP_SOLCJS ]]; then
    f=$nm/solc/solc.js
    if [[ ! -f $f ]]; then
      echo "chain-tools.sh: solcjs not found at $f; run bridge/scripts/install-chain-tools.sh" >&2
      return 1
    fi
    MLCP_SOLCJS=$f
    export MLCP_SOLCJS
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  _mlcp_chain_tools || exit 1
  printf 'export MLCP_ANVIL=%q\nexport MLCP_CAST=%q\nexport MLCP_SOLCJS=%q\n' "$MLCP_ANVIL" "$MLCP_CAST" "$MLCP_SOLCJS"
else
  _mlcp_chain_tools
fi
