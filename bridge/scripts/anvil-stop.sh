#!/usr/bin/env bash
# anvil-stop.sh — stop the anvil that anvil-start.sh DIR started, by its pid file.
#   bridge/scripts/anvil-stop.sh DIR
# Contract: SIGTERM, then up to 5 s for it to exit, then SIGKILL; removes DIR/anvil.pid and
# DIR/anvil.url and keeps the log. Nothing running is not an error (exit 0, says so on stderr
# only when a stale pid file is found). Only the pid in DIR/anvil.pid is signalled, and only if
# that process is an anvil.
set -euo pipefail
prog=anvil-stop.sh
die() { echo "$prog: $*" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
(($# == 1)) || die "usage: $prog DIR"
dir=$1
[[ -d $dir ]] || exit 0
source "$here/anvil-common.sh"
if ! pid=$(anvil_pid "$dir"); then
  [[ -f $dir/anvil.pid ]] && echo "$prog: no anvil running for $dir; removing the stale pid file" >&2
  rm -f "$dir/anvil.pid" "$dir/anvil.url"
  exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
deadline=$((${EPOCHREALTIME/./} + 5000000))
while kill -0 "$pid" 2>/dev/null; do
  if ((${EPOCHREALTIME/./} >= deadline)); then
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.02   # poll interval
done
rm -f "$dir/anvil.pid" "$dir/anvil.url"
