#!/usr/bin/env bash
# bench_scaling.sh — data-parallel throughput of the same job on 1 and on N ranks, measured
# back to back in one run (samples/s of the step loop, from rank 0's summary line).
#   bench/bench_scaling.sh [JOB.toml ...]        (default: bench/jobs/step_mlp.toml step_gpt.toml)
#   RANKS=4 bench/bench_scaling.sh               (default RANKS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh
ranks=${RANKS:-2}
jobs=("$@")
[[ ${#jobs[@]} -gt 0 ]] || jobs=(bench/jobs/step_mlp.toml bench/jobs/step_gpt.toml)
out=$(mktemp -d /tmp/mlcp-bench-scaling-XXXXXX)
trap 'rm -rf "$out"' EXIT
rate() {  # rate RANKS JOB -> samples/s
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$1" \
    build/mlcp run "$2" --output "$out/run-$1" --no-progress |
    sed -n 's/^summary: .* (\([0-9.]*\) samples\/s) on .*/\1/p'
}
printf '%-28s %14s %14s %8s\n' job "1 rank" "$ranks ranks" ratio
for job in "${jobs[@]}"; do
  one=$(rate 1 "$job"); many=$(rate "$ranks" "$job")
  printf '%-28s %14s %14s %7.2fx\n' "$(basename "$job" .toml)" "$one" "$many" \
    "$(awk -v a="$many" -v b="$one" 'BEGIN{print a/b}')"
done
