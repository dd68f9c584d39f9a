#!/usr/bin/env bash
# stop.sh — stop the loopback Slurm cluster that start.sh started in STATE_DIR.
#   slurm/local-cluster/stop.sh STATE_DIR
# Contract:
#   - Cancels the jobs still queued or running first, so that their steps end in order.
#   - Signals only processes of this STATE_DIR: the daemons named by its pid files (each
#     checked to really be that daemon of this state dir, see common.sh), and step daemons
#     carrying its marker variable with their job tasks. Never matches by process name (no
#     pkill/killall): other clusters and unrelated processes on the machine are left alone.
#   - Each gets SIGTERM, a bounded wait, then SIGKILL; munged goes last because the slurm
#     daemons authenticate through it until they exit. When stop.sh exits 0 none of them runs.
#   - Removes the pid files; keeps logs, key, config and state for post-mortems (delete
#     STATE_DIR yourself to purge).
#   - Idempotent: exits 0, saying so, when nothing runs (or STATE_DIR does not exist).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
prog=stop.sh
say() { echo "$prog: $*"; }

(($# == 1)) || { echo "usage: $prog STATE_DIR" >&2; exit 2; }
if [[ ! -d $1 ]]; then say "$1 does not exist: nothing to stop"; exit 0; fi
source "$here/common.sh"
cluster_layout "$(cd "$1" && pwd -P)"
# Never let a Slurm client fall back to a DNS SRV lookup (1).
export SLURM_CONF=$CONF

t0=$EPOCHREALTIME
# proc_field PID N: field N of /proc/PID/stat counted after the "(comm)" field, which may hold
# spaces (1 = state, 2 = ppid). Fails if the process does not exist.
proc_field() {
  local line fields
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  read -ra fields <<<"${line##*) }"
  echo "${fields[$2 - 1]}"
}
# gone PID: the process has exited. A zombie counts as gone: it runs nothing any more, and
# here PID 1 reaps orphans only now and then, so zombies of our daemons linger a while.
gone() {
  local st
  st=$(proc_field "$1" 1) || return 0
  [[ $st == Z ]]
}
# wait_gone SECONDS PID...: true once every PID is gone, false if some outlive SECONDS.
wait_gone() {
  local end=$((SECONDS + $1)) p running; shift
  while :; do
    running=0
    for p in "$@"; do gone "$p" || running=1; done
    ((running)) || return 0
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}
# terminate WHAT GRACE PID...: SIGTERM, up to GRACE seconds to exit, then SIGKILL (5 s more).
terminate() {
  local what=$1 grace=$2 p; shift 2
  (($#)) || return 0
  say "SIGTERM $what (pid $*)"
  kill -TERM "$@" 2>/dev/null || true
  wait_gone "$grace" "$@" && return 0
  local left=(); for p in "$@"; do gone "$p" || left+=("$p"); done
  say "SIGKILL $what (pid ${left[*]}): still running ${grace} s after SIGTERM"
  kill -KILL "${left[@]}" 2>/dev/null || true
  wait_gone 5 "${left[@]}" || { echo "$prog: pid ${left[*]} survived SIGKILL" >&2; return 1; }
}
# marked_pids: processes started by this cluster's slurm daemons (see MARKER_VAR in common.sh).
marked_pids() {
  local env_file proc
  for env_file in /proc/[0-9]*/environ; do
    proc=${env_file#/proc/}; proc=${proc%/environ}
    ((proc != $$)) || continue
    # Unreadable or vanished entries are not ours to worry about.
    grep -qzx "$MARKER_VAR=$STATE" "$env_file" 2>/dev/null && ! gone "$proc" && echo "$proc"
  done
  return 0
}
# descendants PID...: every live process below the given ones. Job tasks do not carry the
# marker (their environment comes from srun/sbatch), but they are children of a slurmstepd.
descendants() {
  local stat_file proc ppid child
  local -A children=()
  for stat_file in /proc/[0-9]*/stat; do
    proc=${stat_file#/proc/}; proc=${proc%/stat}
    ppid=$(proc_field "$proc" 2) || continue
    children[$ppid]+=" $proc"
  done
  local -a queue=("$@")
  while ((${#queue[@]})); do
    proc=${queue[0]}; queue=("${queue[@]:1}")
    for child in ${children[$proc]:-}; do
      gone "$child" || echo "$child"
      queue+=("$child")
    done
  done
}

# daemon -> pid, for the daemons of this state dir that run; the others simply drop out.
declare -A pid=()
for d in munged slurmctld slurmd; do
  if p=$(daemon_pid "$d"); then pid[$d]=$p; fi
done

# Cancel jobs while the whole cluster still answers: slurmd then ends their steps in order,
# instead of leaving slurmstepd processes behind when it exits. Without slurmd a cancelled job
# only hangs in COMPLETING, so that case is left to the step-daemon sweep below.
if ((${#pid[@]} == 3)); then
  mapfile -t jobs < <(squeue --noheader --format=%i 2>/dev/null || true)
  if ((${#jobs[@]})); then
    say "cancelling jobs: ${jobs[*]}"
    scancel "${jobs[@]}" 2>/dev/null || true
    end=$((SECONDS + 10))   # KillWait=5 in slurm.conf bounds how long a step resists
    while [[ -n $(squeue --noheader --format=%i 2>/dev/null) ]] && ((SECONDS < end)); do
      sleep 0.1
    done
  fi
fi

# slurmctld saves its state on SIGTERM; both need munged until they are gone, so it goes last.
status=0
slurm_pids=()
for d in slurmctld slurmd; do
  if [[ -n ${pid[$d]:-} ]]; then slurm_pids+=("${pid[$d]}"); fi
done
terminate "slurmctld and slurmd" 10 "${slurm_pids[@]}" || status=1
# Step daemons (and their job tasks) that outlived slurmd, e.g. because it had crashed.
# slurmstepd ignores SIGTERM (measured), so it gets only a short grace; its tasks are signalled
# directly and normally end at once.
mapfile -t stepds < <(marked_pids)
leftovers=()
if ((${#stepds[@]})); then mapfile -t leftovers < <(descendants "${stepds[@]}"; printf '%s\n' "${stepds[@]}"); fi
terminate "step daemons and job tasks left behind" 3 "${leftovers[@]}" || status=1
if [[ -n ${pid[munged]:-} ]]; then terminate munged 10 "${pid[munged]}" || status=1; fi

if ((status != 0)); then
  echo "$prog: some processes of $STATE did not exit; pid files kept" >&2
  exit 1
fi
rm -f "${PIDFILE[@]}"
if ((${#pid[@]} + ${#leftovers[@]} == 0)); then
  say "nothing was running in $STATE"
else
  say "stopped in $(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $t0 }")s; logs kept in $LOG_DIR"
fi
