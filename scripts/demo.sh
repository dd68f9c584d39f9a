#!/usr/bin/env bash
# demo.sh — the README's main command: install what is missing, build, and run the main job:
# a 2-rank data-parallel training of the Fashion-MNIST MLP, then a verification replay of the
# same job on 1 process that must reproduce the parameters bit for bit, then the curves.
#   scripts/demo.sh [RANKS]      (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${1:-2}
scripts/install-deps.sh core
scripts/build.sh
source scripts/mpi-env.sh

job=jobs/fashion_mnist_mlp.toml
echo "== training $job on $ranks ranks"
mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" \
  build/mlcp run "$job" --output runs/demo
echo
echo "== verification: replaying the same logical job on 1 process"
build/mlcp run "$job" --output runs/demo-replay --no-progress | grep '^summary: parameters'
if cmp -s runs/demo/final_state.bin runs/demo-replay/final_state.bin; then
  echo "verified: the 1-process replay reproduces the $ranks-rank parameters bit for bit"
else
  echo "VERIFICATION FAILED: runs/demo/final_state.bin and runs/demo-replay/final_state.bin differ" >&2
  exit 1
fi
build/mlcp plot runs/demo
