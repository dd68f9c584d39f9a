#!/usr/bin/env bash
# install-chain-tools.sh — install the pinned chain tools (solc, anvil, cast; versions in
# bridge/package.json, exact tarballs in bridge/package-lock.json) into bridge/node_modules.
#   bridge/scripts/install-chain-tools.sh [--force]
# Contract:
#   - Runs `npm ci` only when node_modules is missing or was installed from another lock file
#     (a stamp holds the lock file's SHA-256) or a tool no longer runs; otherwise it does nothing
#     and prints nothing, in well under a second, and needs no network.
#   - Quiet: npm's output goes to bridge/node_modules/.mlcp-npm.log; on failure the last lines
#     are shown with one sentence saying what failed.
#   - --ignore-scripts: no package code runs at install (anvil's and cast's postinstall would only
#     fetch a binary that their platform package already carries; chain-tools.sh finds it).
#   - Concurrent runs serialise on a lock file in ${TMPDIR:-/tmp}.
#   - Writes nothing outside bridge/node_modules (and the lock file).
set -euo pipefail
prog=install-chain-tools.sh
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(dirname "$here")
force=0
case ${1:-} in
  "") ;;
  --force) force=1 ;;
  *) die "usage: $prog [--force]" ;;
esac

command -v npm >/dev/null || die "npm not found; install it with: apt-get install -y nodejs npm (scripts/install-deps.sh test does)"
command -v node >/dev/null || die "node not found; install it with: apt-get install -y nodejs"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

stamp=$root/node_modules/.mlcp-installed
want=$(cat "$root/package.json" "$root/package-lock.json" | sha256sum | cut -d' ' -f1)

up_to_date() {
  [[ -f $stamp && $(<"$stamp") == "$want" ]] || return 1
  # The stamp is not enough: a half-deleted tree must be reinstalled.
  (unset MLCP_ANVIL MLCP_CAST MLCP_SOLCJS; source "$here/chain-tools.sh" 2>/dev/null)
}

((force)) || ! up_to_date || exit 0

lock=${TMPDIR:-/tmp}/mlcp-chain-tools.$(printf %s "$root" | sha256sum | cut -c1-16).lock
exec 9>"$lock"
flock 9
# Another run may have installed while we waited for the lock.
((force)) || ! up_to_date || exit 0

log=$(mktemp "${TMPDIR:-/tmp}/mlcp-npm.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn) >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  die "npm ci in $root failed (output above); the registry must be reachable for the first install"
fi
# npm 9 (Debian 12's) leaves out the optional platform packages that carry anvil's and cast's
# native binaries when it installs from the lock file; ask for this platform's by name.
case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="" ;; esac
if [[ -n $arch ]]; then
  missing=()
  for tool in anvil cast; do
    [[ -x $root/node_modules/@foundry-rs/$tool-linux-$arch/bin/$tool ]] ||
      missing+=("@foundry-rs/$tool-linux-$arch@$(node -p "require('$root/package.json').dependencies['@foundry-rs/$tool']")")
  done
  if ((${#missing[@]})); then
    if ! (cd "$root" && npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=warn "${missing[@]}") >>"$log" 2>&1; then
      tail -n 20 "$log" >&2
      die "npm could not install ${missing[*]} (output above)"
    fi
  fi
fi
cp "$log" "$root/node_modules/.mlcp-npm.log"
# Verify the tools run before stamping, so a broken install is retried next time.
(unset MLCP_ANVIL MLCP_CAST MLCP_SOLCJS; source "$here/chain-tools.sh") ||
  die "npm ci finished but a chain tool is missing or does not run (see above)"
echo "$want" >"$stamp"
