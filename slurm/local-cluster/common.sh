# shellcheck shell=bash disable=SC2034  # the variables set here are used by the sourcing scripts
# common.sh — sourced by start.sh and stop.sh: the state-dir layout and how a daemon of this
# cluster is recognised. Not meant to be run.
#   source common.sh; cluster_layout ABS_STATE_DIR

# The layout of STATE_DIR. Paths must agree with slurm.conf.in.
cluster_layout() {
  STATE=$1
  CONF=$STATE/slurm.conf
  MUNGE_DIR=$STATE/munge
  MUNGE_KEY=$MUNGE_DIR/munge.key
  MUNGE_SOCKET=$MUNGE_DIR/munge.socket
  RUN_DIR=$STATE/run
  LOG_DIR=$STATE/log
  # daemon -> pid file; munged writes its own (--pid-file), slurm daemons the ones in slurm.conf.
  declare -gA PIDFILE=(
    [munged]=$RUN_DIR/munged.pid
    [slurmctld]=$RUN_DIR/slurmctld.pid
    [slurmd]=$RUN_DIR/slurmd.pid
  )
  declare -gA LOGFILE=(
    [munged]=$LOG_DIR/munged.log
    [slurmctld]=$LOG_DIR/slurmctld.log
    [slurmd]=$LOG_DIR/slurmd.log
  )
}

# slurmctld and slurmd are started with MARKER_VAR=STATE in their environment; slurmd passes it
# on to the slurmstepd processes it spawns, which is how stop.sh finds step daemons left behind
# by a killed slurmd without matching anything by name.
MARKER_VAR=MLCP_SLURM_STATE_DIR

# daemon_pid NAME: print the pid of NAME if its pid file names a live process that really is
# that daemon of this state dir. A pid file alone is not trusted: after a crash or reboot the
# number can belong to an unrelated process, and signalling it would be a disaster.
daemon_pid() {
  local name=$1 pid exe cmdline
  pid=$(cat "${PIDFILE[$name]}" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}   # the binary was replaced by a package upgrade; still our daemon
  exe=${exe##*/}
  # Debian's slurmctld and slurmd are alternatives links to slurmctld-wlm and slurmd-wlm.
  [[ $exe == "$name" || $exe == "$name"-wlm ]] || return 1
  # Each daemon gets a path inside the state dir on its command line (-f CONF, --key-file=...).
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$STATE/"* ]] || return 1
  echo "$pid"
}
