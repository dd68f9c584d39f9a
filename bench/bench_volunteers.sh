#!/usr/bin/env bash
# bench_volunteers.sh — volunteers on the real `mlcp run` + `mlcp volunteer`, on loopback (issue 16):
#   (a) utilisation: the share of the units assigned to volunteers that were accepted into the
#       result, under a churn schedule (one volunteer killed with SIGKILL and restarted, one
#       leaving on SIGTERM and rejoining) (target >= 90%);
#   (c) the audit's cost at the default settings (audit_rate 0.05 after 8 fully audited units):
#       units recomputed on rank 0 / volunteer units, and the probability of catching a volunteer
#       that corrupts k of its units once trusted;
#   (d) the step time with 2 volunteers connected but idle (too slow to be given units) against
#       none, from paired, alternated runs (median of the paired ratios of median step times)
#       (target <= 1.02x);
#   (e) what volunteers buy: the step time of 2 ranks on slow devices (a devices file with
#       slowdown 20: each rank's micro-batch takes 20x as long, the rest of the time asleep) with 2
#       volunteers against none, micro-batches of 256 samples, from paired, alternated runs. Every rank gives up a share, so
#       every rank's step shortens; were only rank 0's units offered, rank 1 would keep the step
#       as long as without volunteers.
#   bench/bench_volunteers.sh [STEPS] [REPEATS]   (default 400, 3)
#   bench/bench_volunteers.sh --count              (d) in instructions, under callgrind (30 min)
# (b), the transport's throughput, is bench_volunteer_transport (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
count=0
if [[ ${1:-} == --count ]]; then
  count=1
  shift
fi
steps=${1:-400}
repeats=${2:-3}
source scripts/mpi-env.sh
work=$(mktemp -d /tmp/mlcp-bench-volunteers.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mlcp=build/mlcp
for k in a b c; do $mlcp keys new --out "$work/$k.key" >/dev/null; done
hex() { $mlcp keys show "$work/$1.key" | awk '/public key/{print $3}'; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# job NAME PORT EXTRA: writes $work/NAME.toml (MLP on Fashion-MNIST, 8 micro-batches).
job() {
  cat >"$work/$1.toml" <<TOML
[job]
name = "vbench"
seed = 7
[model]
kind = "mlp"
hidden = [256, 128]
[data]
kind = "fashion-mnist"
path = "/usr/share/datasets/fashion-mnist"
train_limit = 8192
eval_limit = 200
[optimizer]
kind = "adamw"
lr = 0.002
[train]
global_batch = 256
micro_batches = 8
steps = $steps
log_every = 100
[volunteers]
enabled = true
listen = "127.0.0.1:$2"
allow = ["$(hex a)", "$(hex b)", "$(hex c)"]
deadline_s = 10
$3
TOML
}

volunteer() {  # volunteer KEY PORT LOG FLAGS...: starts one in the background, prints its pid
  local key=$1 p=$2 log=$3
  shift 3
  $mlcp volunteer --connect "127.0.0.1:$p" --job vbench --key "$work/$key.key" \
    --connect-timeout "${connect_timeout:-60}" "$@" >"$log" 2>&1 &
  echo $!
}

runjob() {  # runjob NAME: 2 ranks, waits
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 $mlcp run "$work/$1.toml" \
    --output "$work/$1" --progress lines >"$work/$1.log" 2>&1 || { tail -20 "$work/$1.log" >&2; exit 1; }
}

wait_for() {  # wait_for FILE TEXT COUNT: until FILE holds TEXT COUNT times (120 s at most)
  for _ in $(seq 1 1200); do
    [[ -f $1 ]] && (($(grep -c "$2" "$1" || true) >= $3)) && return 0
    sleep 0.1
  done
  echo "bench_volunteers: timed out waiting for '$2' in $1" >&2
  exit 1
}

# (d) counted: instructions instead of seconds, which this machine's clock scatters by more than
# the 2% the target allows. `valgrind --tool=callgrind` of the job on 1 rank (no other rank to
# wait for) for SHORT and LONG steps, with an idle volunteer and without; a step's instructions
# are the difference over LONG - SHORT steps, so start-up, the end and the volunteer's first
# units cancel. One volunteer, so that those are the same in both runs: before its speed is
# known a volunteer counts as fast as rank 0, and its first two shares are then exactly half
# the step's 8 units each (with two, how many each is given depends on when each joined).
# Open MPI's waits spin for as long as they wait (ucp_worker_progress, the PMIx fence),
# whatever the job does, so they are counted apart; the coordinator's own UCX progress is
# printed (WorkerCore::progress, inclusive). Under valgrind rank 0 computes a unit in about a
# second, so the volunteer sleeps 25 s a unit to stay idle, and the run checks that it was
# given nothing after step SHORT.
count_instructions() {
  local short=10 long=40 mode n
  # Under valgrind the job takes minutes to start listening: the volunteer waits for it.
  local connect_timeout=900
  command -v valgrind >/dev/null ||
    { echo "bench_volunteers: --count needs valgrind (apt-get install valgrind)" >&2; exit 1; }
  # valgrind's virtual CPU claims RDTSCP, which some hosts (this AMD EPYC VM) lack, and libhwy
  # (loaded under LibTorch by OpenCV) calls it in a static initialiser: a preloaded stand-in for
  # the one function that does (libhwy's timer, which nothing here uses).
  printf '#include <cstdint>\nnamespace hwy::platform { uint64_t TimerResolution() { return 1; } }\n' \
    >"$work/hwy_timer.cc"
  g++ -O2 -shared -fPIC -o "$work/hwy_timer.so" "$work/hwy_timer.cc"
  for mode in none idle; do
    for n in $short $long; do
      p=$(port)
      job "$mode$n" "$p" ""
      sed -i "s/^steps = .*/steps = $n/; s/^deadline_s = .*/deadline_s = 60/" "$work/$mode$n.toml"
      if [[ $mode == none ]]; then
        sed -i '/^\[volunteers\]/,$d' "$work/$mode$n.toml"
      else
        pids+=("$(volunteer a "$p" "$work/$mode$n.a.log" --slow-ms 25000)")
      fi
      echo "  $mode, $n steps: $(date +%T)"
      mpirun --allow-run-as-root --oversubscribe --bind-to none -np 1 \
        env LD_PRELOAD="$work/hwy_timer.so" valgrind --tool=callgrind \
        --callgrind-out-file="$work/cg-$mode$n" $mlcp run "$work/$mode$n.toml" \
        --output "$work/$mode$n" --progress lines >"$work/$mode$n.log" 2>&1 \
        || { tail -20 "$work/$mode$n.log" >&2; exit 1; }
    done
  done
  python3 - "$work" "$short" "$long" <<'PY'
import collections, glob, json, re, subprocess, sys
work, short, long_ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spin = ("ucp_worker_progress", "opal_common_ucx_mca_pmix_fence")
def functions(path, inclusive):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", f"--inclusive={inclusive}", path],
                         capture_output=True, text=True, check=True).stdout
    cost, listed = collections.Counter(), False
    for line in out.splitlines():
        if "file:function" in line:
            listed = True
        elif listed and (m := re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)", line)):
            cost[m.group(2)] += int(m.group(1).replace(",", ""))
    return cost
def per_step(mode, inclusive="no"):
    a = functions(f"{work}/cg-{mode}{short}", inclusive)
    b = functions(f"{work}/cg-{mode}{long_}", inclusive)
    return {k: (b[k] - a[k]) / (long_ - short) for k in set(a) | set(b)}
for path in glob.glob(f"{work}/idle{long_}/volunteers/*.jsonl"):
    for e in map(json.loads, open(path)):
        if e["event"] == "assigned" and e["step"] > short:
            sys.exit(f"bench_volunteers: a volunteer was given units at step {e['step']}: not idle")
cost = {m: per_step(m) for m in ("none", "idle")}
own = sum(v for k, v in per_step("idle", "yes").items() if "WorkerCore::progress()" in k)
for m in cost:
    waits = sum(v for k, v in cost[m].items() if any(s in k for s in spin))
    total = sum(cost[m].values())
    print(f"  {m}: {total / 1e6:.3f} M instructions a step, of which Open MPI's spinning waits "
          f"{waits / 1e6:.3f} M")
    cost[m] = total - waits
print(f"  of which the volunteer coordinator's UCX progress (inclusive): {own / 1e3:.1f} K")
print(f"(d) counted: instructions a step with an idle volunteer / without, MPI's spinning waits apart: "
      f"{cost['none'] / 1e6:.3f} M and {cost['idle'] / 1e6:.3f} M, "
      f"{cost['idle'] / cost['none']:.4f}x (target <= 1.02x)")
PY
}
if ((count)); then
  echo "== (d) counted: callgrind of 1 rank, 10 and 40 steps, an idle volunteer vs none =="
  count_instructions
  exit 0
fi

echo "== (a) utilisation under churn, (c) audit cost: $steps steps, 3 volunteers =="
p=$(port)
job churn "$p" "min_units = 1"
pids+=("$(volunteer a "$p" "$work/a.log")")
pids+=("$(volunteer b "$p" "$work/b.log")")
runjob churn &
jobpid=$!
wait_for "$work/a.log" "computing step" 20
vc=$(volunteer c "$p" "$work/c.log" --slow-ms 200)
pids+=("$vc")
wait_for "$work/c.log" "computing step" 2
kill -9 "$vc"
pids+=("$(volunteer c "$p" "$work/c2.log")")
wait_for "$work/b.log" "computing step" 40
kill -TERM "${pids[1]}"
wait_for "$work/b.log" "left the job" 1
pids+=("$(volunteer b "$p" "$work/b2.log")")
wait "$jobpid"
python3 - "$work/churn/volunteers" <<'PY'
import json, sys, glob
from math import pow
assigned = accepted = audited = late = ignored = 0
for path in glob.glob(sys.argv[1] + "/*.jsonl"):
    for line in open(path):
        e = json.loads(line)
        ev = e["event"]
        if ev == "assigned": assigned += len(e["units"])
        elif ev == "unit":
            accepted += 1
            audited += 1 if e.get("audited") else 0
        elif ev == "late": late += 1
        elif ev == "ignored": ignored += 1
print(f"(a) units assigned to volunteers {assigned}, accepted {accepted} ({100*accepted/assigned:.1f}%), "
      f"late or lost {assigned-accepted} (target >= 90% accepted)")
print(f"(c) audited {audited} of {accepted} volunteer units = {100*audited/accepted:.1f}% of volunteer "
      f"compute recomputed on rank 0 (default audit_rate 0.05 after 8 fully audited units per key; "
      f"target <= 10%, stretch 5%)")
for k in (1, 5, 10, 20, 50, 100):
    print(f"    P(catch | a trusted volunteer corrupts {k:3d} units) = {1 - pow(0.95, k):.3f}")
PY

echo "== (d) step time: 2 idle volunteers connected vs none, $repeats paired runs =="
median_step() {
  python3 - "$work/$1/metrics/rank-00000.jsonl" <<'PY'
import json, sys, statistics
t = [json.loads(l)["step_time_s"] for l in open(sys.argv[1]) if '"kind":"step"' in l]
print(statistics.median(t[20:]))
PY
}
# pair WITH WITHOUT WHAT: run $r's line; appends the ratio of the two runs' median step times.
pair() {
  grep -q "volunteers 2" "$work/$1.log" || { echo "bench_volunteers: the volunteers were not connected" >&2; exit 1; }
  local a b
  a=$(median_step "$1")
  b=$(median_step "$2")
  ratios+=("$(python3 -c "print($a / $b)")")
  echo "  run $r: median step $(python3 -c "print(f'{1000*$a:.2f}')") ms $3, $(python3 -c "print(f'{1000*$b:.2f}')") ms without: $(python3 -c "print(f'{$a/$b:.3f}')")x"
}
median_ratio() {  # median_ratio TITLE NOTE
  python3 -c 'import sys,statistics; print(f"{sys.argv[1]}: {statistics.median(float(x) for x in sys.argv[3:]):.3f}x (median of paired ratios{sys.argv[2]})")' "$1" "$2" "${ratios[@]}"
}
# job_pair WITH WITHOUT: the job WITH volunteers listening on port $p (set here), and the same
# job WITHOUT a [volunteers] table.
job_pair() {
  p=$(port)
  job "$1" "$p" ""
  job "$2" "$(port)" ""
  sed -i '/^\[volunteers\]/,$d' "$work/$2.toml"
}
ratios=()
for r in $(seq 1 "$repeats"); do
  job_pair "idle$r" "none$r"
  # Volunteers 1000x slower than rank 0: after their first units they get none, but stay.
  v1=$(volunteer a "$p" "$work/ia$r.log" --slow-ms 400)
  v2=$(volunteer b "$p" "$work/ib$r.log" --slow-ms 400)
  pids+=("$v1" "$v2")
  if ((r % 2)); then runjob "none$r"; runjob "idle$r"; else runjob "idle$r"; runjob "none$r"; fi
  pair "idle$r" "none$r" "with idle volunteers"
done
median_ratio "(d) step time with idle volunteers / without" "; target <= 1.02x"

echo "== (e) step time on 2 slow ranks (slowdown 20) with 2 volunteers / none, $repeats paired runs =="
cat >"$work/devices.toml" <<TOML
[[device]]
name = "slow"
ranks = [0, 1]
gflops = 40.0
memory_gb = 8
slowdown = 20.0
TOML
ratios=()
for r in $(seq 1 "$repeats"); do
  job_pair "help$r" "alone$r"
  for n in help alone; do
    # Micro-batches of 256: a unit's compute, not the parameters it moves, dominates; a quarter
    # of the steps (each is 20x as long).
    sed -i "s/^global_batch = .*/global_batch = 2048/; s/^steps = .*/steps = $((steps / 4))/" \
      "$work/$n$r.toml"
    printf '[runtime]\ndevices_file = "%s"\n' "$work/devices.toml" >>"$work/$n$r.toml"
  done
  helped() {  # the volunteers dial until the job listens
    pids+=("$(volunteer a "$p" "$work/ea$r.log")" "$(volunteer b "$p" "$work/eb$r.log")")
    runjob "help$r"
  }
  if ((r % 2)); then runjob "alone$r"; helped; else helped; runjob "alone$r"; fi
  pair "help$r" "alone$r" "with 2 volunteers"
done
median_ratio "(e) step time of slow ranks with 2 volunteers / without" ""
