#!/usr/bin/env bash
# start.sh — start a single-node Slurm cluster on loopback (munged + slurmctld + slurmd) for
# tests and demos, with every pid, log, socket, key and state file inside STATE_DIR.
#   slurm/local-cluster/start.sh STATE_DIR [--cpus N]
#   line=$(slurm/local-cluster/start.sh STATE_DIR) && eval "$line"   # sets SLURM_CONF here
#   (not `eval "$(start.sh ...)"`: eval of an empty string succeeds, hiding a failed start)
# Contract:
#   - Creates STATE_DIR if needed; must run as root (slurmd needs it).
#   - On success the node is up and idle in partition `debug`, and the only line on stdout is
#     `export SLURM_CONF=<absolute STATE_DIR>/slurm.conf`; progress goes to stderr.
#   - Idempotent: if all three daemons of STATE_DIR are alive it says so and exits 0 without
#     touching anything (a different --cpus then needs stop.sh first). If only some are alive,
#     those are stopped (stop.sh) and the cluster is started afresh.
#   - A fresh start forgets earlier jobs and node states (slurmctld -c), so every run of the
#     tests sees the same empty cluster.
#   - Fails (exit 1) with one sentence naming the log to read if a daemon dies or the node is
#     not idle within MLCP_SLURM_START_TIMEOUT seconds (default 30); it then stops what it
#     started, keeping the logs.
#   - Ports: MLCP_SLURMCTLD_PORT (default 6817) and MLCP_SLURMD_PORT (default 6818); only one
#     cluster per pair of ports can run on the machine.
# Stop it with stop.sh STATE_DIR. Gotcha numbers below refer to ../shared/notes/slurm.md (beside the repository).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
prog=start.sh
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }   # stdout is reserved for the export line

usage="usage: $prog STATE_DIR [--cpus N]"
(($# >= 1)) || die "$usage"
state_arg=$1; shift
cpus=8   # more than this machine's 2 cores, so `srun -n 4` never waits for free CPUs (6)
while (($#)); do
  case $1 in
    --cpus) (($# >= 2)) || die "$usage"; cpus=$2; shift 2 ;;
    --cpus=*) cpus=${1#--cpus=}; shift ;;
    *) die "$usage" ;;
  esac
done
[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "--cpus wants a positive integer, got '$cpus'"
ctld_port=${MLCP_SLURMCTLD_PORT:-6817}
slurmd_port=${MLCP_SLURMD_PORT:-6818}
timeout=${MLCP_SLURM_START_TIMEOUT:-30}
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "MLCP_SLURM_START_TIMEOUT wants a positive integer"
(($(id -u) == 0)) || die "must run as root (slurmd and the private munged run as root)"

for bin in munged mungekey munge unmunge slurmctld slurmd sinfo; do
  command -v "$bin" >/dev/null ||
    die "$bin not found; install with: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
done

mkdir -p "$state_arg"
source "$here/common.sh"
cluster_layout "$(cd "$state_arg" && pwd -P)"
# slurm.conf has no quoting: a path with spaces or odd characters would be cut or misread.
[[ $STATE =~ ^[A-Za-z0-9._/+-]+$ ]] || die "STATE_DIR '$STATE' must contain only [A-Za-z0-9._/+-]"
# Clients without a config fall back to a DNS SRV lookup of the controller (1): export the
# config before any Slurm command runs, here and in the daemons' environment.
export SLURM_CONF=$CONF

# ---- already up? ----
declare -A alive=()
for d in munged slurmctld slurmd; do
  if pid=$(daemon_pid "$d"); then alive[$d]=$pid; fi
done
if ((${#alive[@]} == 3)); then
  say "cluster in $STATE is already up (munged ${alive[munged]}, slurmctld ${alive[slurmctld]}, slurmd ${alive[slurmd]})"
  echo "export SLURM_CONF=$CONF"
  exit 0
elif ((${#alive[@]} > 0)); then
  # A half-running cluster cannot be trusted (its config may differ from the one we would
  # write now); restart it whole rather than patching it daemon by daemon.
  say "cluster in $STATE is only partly up (${!alive[*]}); stopping it for a clean start"
  "$here/stop.sh" "$STATE" >&2
fi

t0=$EPOCHREALTIME
# In microseconds: bash's SECONDS only counts whole seconds, which would cut the wait short.
deadline=$((${t0/./} + timeout * 1000000))
before_deadline() { ((${EPOCHREALTIME/./} < deadline)); }
# abort DAEMON WHAT: stop whatever this run started (a half-up cluster would only make the next
# start or the caller's tests fail in stranger ways), then fail with one sentence naming the
# log that explains it. Logs and state stay for reading.
abort() {
  "$here/stop.sh" "$STATE" >/dev/null 2>&1 || true
  die "$2 (daemons stopped again); read ${LOGFILE[$1]}"
}
not_up() { abort "$1" "the cluster in $STATE did not come up within ${timeout}s"; }

# A port held by something else (often another state dir's cluster) makes the daemon exit
# right after forking; say so now instead of after the timeout.
for p in "$ctld_port" "$slurmd_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p on 127.0.0.1 is in use (another cluster? stop it or set MLCP_SLURMCTLD_PORT/MLCP_SLURMD_PORT)"
  fi
done

mkdir -p "$MUNGE_DIR" "$RUN_DIR" "$LOG_DIR" "$STATE/ctld-state" "$STATE/slurmd-spool"
# munged refuses a socket unless every directory above it is o+x (2); mktemp -d gives 0700.
# The munge dir must not be group/other-writable either (it holds the key).
chmod go+x "$STATE"
chmod 0711 "$MUNGE_DIR"
dir=$STATE
while [[ $dir != / ]]; do
  dir=$(dirname "$dir")
  [[ $(stat -c %a "$dir") == *[1357] ]] ||
    die "munged needs o+x on $dir (run: chmod o+x $dir, or use a STATE_DIR elsewhere)"
done

# ---- config ----
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
sed -e "s|@STATE_DIR@|$STATE|g" -e "s|@HOST@|$(hostname -s)|g" -e "s|@CPUS@|$cpus|g" \
    -e "s|@MEM_MB@|$mem_mb|g" -e "s|@CTLD_PORT@|$ctld_port|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" \
    "$here/slurm.conf.in" >"$CONF.tmp"
! grep -q '@[A-Z_]*@' "$CONF.tmp" || die "slurm.conf.in has a placeholder start.sh does not know: $(grep -o '@[A-Z_]*@' "$CONF.tmp" | head -n1)"
mv "$CONF.tmp" "$CONF"
chmod 0644 "$CONF"
# Slurm reads mpi.conf next to slurm.conf. Without it the PMIx plugin puts its per-step client
# dirs (spmix_appdir_*) in /tmp, where steps killed by stop.sh leave them behind.
mkdir -p "$STATE/pmix"
echo "PMIxCliTmpDirBase=$STATE/pmix" >"$STATE/mpi.conf"

# ---- munged: own key, socket, pid and log in the state dir (2) ----
[[ -s $MUNGE_KEY ]] || mungekey --create --keyfile="$MUNGE_KEY"
chmod 0400 "$MUNGE_KEY"
# Leftovers of a crashed munged would make it refuse to start.
rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock" "${PIDFILE[munged]}"
munged --key-file="$MUNGE_KEY" --socket="$MUNGE_SOCKET" --pid-file="${PIDFILE[munged]}" \
  --log-file="${LOGFILE[munged]}" --seed-file="$MUNGE_DIR/munged.seed" ||
  abort munged "munged did not start"
# slurmctld authenticates through munged at once: wait until a credential round-trips.
until munge --socket="$MUNGE_SOCKET" --no-input 2>/dev/null |
      unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; do
  before_deadline || not_up munged
  sleep 0.1
done

# ---- slurmctld, then slurmd; both fork into the background and write their pid files ----
rm -f "${PIDFILE[slurmctld]}" "${PIDFILE[slurmd]}"
# -c: forget jobs and DOWN/DRAIN node states of an earlier run (reproducible test cluster).
# The marker variable is set for the slurm daemons only (not for this script, which may call
# stop.sh): slurmd hands it on to every slurmstepd, so stop.sh can find step daemons that a
# crashed slurmd left behind.
env "$MARKER_VAR=$STATE" slurmctld -c -f "$CONF" ||
  abort slurmctld "slurmctld did not start"
env "$MARKER_VAR=$STATE" slurmd -c -f "$CONF" -N "$(hostname -s)" ||
  abort slurmd "slurmd did not start"

# ---- wait until the node is idle ----
node_state=
while :; do
  # A daemon that hits a fatal error (bad config, port taken) exits after it has forked and
  # written its pid file: report that at once instead of waiting out the timeout.
  for d in munged slurmctld slurmd; do
    if [[ -s ${PIDFILE[$d]} ]] && ! daemon_pid "$d" >/dev/null; then
      abort "$d" "$d exited during startup"
    fi
  done
  # Ask sinfo only once slurmctld accepts connections: before that (or if it dies meanwhile)
  # sinfo keeps retrying for about 10 s. timeout: even a hanging sinfo must not stretch the
  # bounded wait.
  if (exec 3<>"/dev/tcp/127.0.0.1/$ctld_port") 2>/dev/null; then
    node_state=$(timeout "$(((deadline - ${EPOCHREALTIME/./}) / 1000000 + 1))" \
                   sinfo --noheader --partition=debug --format=%t 2>/dev/null | head -n1) || node_state=
  fi
  [[ $node_state == idle ]] && break
  if ! before_deadline; then
    # Name the log most likely to explain it: slurmd's if the controller knows the node but it
    # is not idle (it never registered), else slurmctld's (a controller that does not answer).
    [[ -z $node_state ]] || not_up slurmd
    not_up slurmctld
  fi
  sleep 0.1
done

say "cluster up in $(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $t0 }")s: node $(hostname -s) idle with $cpus CPUs in partition debug," \
    "slurmctld 127.0.0.1:$ctld_port (pids munged $(daemon_pid munged)," \
    "slurmctld $(daemon_pid slurmctld), slurmd $(daemon_pid slurmd)); logs in $LOG_DIR"
echo "export SLURM_CONF=$CONF"
