#!/usr/bin/env bash
# bench_memory.sh — the memory layouts of issue 18, measured on the real `mlcp run`:
#   (a) peak RSS per rank against the plan's estimate (target <= 1.3x),
#   (b) optimizer-state bytes per rank at dp = 4 with [parallel] shard_optimizer against without
#       (target <= 0.3x),
#   (c) the step-time cost of sharding on 2 ranks (target <= 1.05x) and of [runtime] recompute on
#       1 rank (target <= 1.4x), from paired, alternated runs (median of the paired ratios).
#   bench/bench_memory.sh [JOB] [STEPS] [REPEATS] [PARTS]
#   (default bench/jobs/memory_gpt.toml, 6, 3, "abc"; PARTS "c" runs only the step-time costs)
# Each run's figures come from its metrics (the "memory" and "summary" records of every rank).
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-bench/jobs/memory_gpt.toml}
steps=${2:-6}
repeats=${3:-3}
parts=${4:-abc}
source scripts/mpi-env.sh
work=$(mktemp -d /tmp/mlcp-bench-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run NAME RANKS EXTRA_TOML: trains $job with EXTRA_TOML appended, prints nothing.
run() {
  local name=$1 ranks=$2 extra=$3
  { cat "$job"; printf '%b' "$extra"; } >"$work/$name.toml"
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" \
    build/mlcp run "$work/$name.toml" --output "$work/$name" --no-progress --max-steps "$steps" \
    >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
}

# field NAME KIND KEY: KEY of every rank's KIND record, one per line.
field() {
  python3 - "$work/$1/metrics" "$2" "$3" <<'EOF'
import json, sys, glob
for path in sorted(glob.glob(sys.argv[1] + "/rank-*.jsonl")):
    for line in open(path):
        r = json.loads(line)
        if r.get("kind") == sys.argv[2]:
            print(r[sys.argv[3]])
EOF
}

median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { python3 -c "print($1 / $2)"; }

echo "bench_memory: $job, $steps steps per run, $repeats paired repeats"
if [[ $parts == *a* || $parts == *b* ]]; then
echo
echo "(a)+(b) 4 ranks (dp = 4), without and with shard_optimizer"
run plain4 4 ""
run shard4 4 "\n[parallel]\nshard_optimizer = true\n"
plain_opt=$(field plain4 memory optimizer_state_bytes | sort -n | tail -1)
shard_opt=$(field shard4 memory optimizer_state_bytes | sort -n | tail -1)
printf '  optimizer state per rank: %d bytes without, %d with (largest rank): %.3fx (target <= 0.3x)\n' \
  "$plain_opt" "$shard_opt" "$(ratio "$shard_opt" "$plain_opt")"
for name in plain4 shard4; do
  paste <(field $name memory peak_rss_bytes) <(field $name memory estimate_bytes) |
    python3 -c '
import sys
rows = [tuple(map(int, l.split())) for l in sys.stdin]
worst = max(p / e for p, e in rows)
print("  %-7s peak RSS / estimate per rank: %s (worst %.3fx, target <= 1.3x)" % (
    sys.argv[1], " ".join("%.2f" % (p / e) for p, e in rows), worst))' "$name"
done
fi
if [[ $parts == *c* ]]; then
echo
echo "(c) step time: shard_optimizer on 2 ranks, recompute on 1 rank (paired, alternated)"
shard=() recompute=()
for ((r = 0; r < repeats; ++r)); do
  run p2 2 ""
  run s2 2 "\n[parallel]\nshard_optimizer = true\n"
  shard+=("$(ratio "$(field p2 summary samples_per_s | sed -n 1p)" "$(field s2 summary samples_per_s | sed -n 1p)")")
  run p1 1 ""
  run r1 1 "\n[runtime]\nrecompute = true\n"
  recompute+=("$(ratio "$(field p1 summary samples_per_s | sed -n 1p)" "$(field r1 summary samples_per_s | sed -n 1p)")")
done
printf '  shard_optimizer step time: %.3fx (paired: %s; target <= 1.05x)\n' "$(median "${shard[@]}")" "${shard[*]}"
printf '  recompute step time:       %.3fx (paired: %s; target <= 1.4x)\n' "$(median "${recompute[@]}")" "${recompute[*]}"
fi
