#!/usr/bin/env bash
# demo.sh — the README's main command: install what is missing, build, and run the main job:
# a 2-rank data-parallel training of the Fashion-MNIST MLP, then a verification replay of the
# same job on 1 process, on the portable scalar path with other CPUs' library kernels forced (what
# a verifier's different CPU would run), that must reproduce the parameters bit for bit, then the
# curves.
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
echo "== verification: replaying the same logical job on 1 process, as another CPU would run it"
echo "   (MLCP_ISA=scalar OPENBLAS_CORETYPE=Prescott ATEN_CPU_CAPABILITY=default)"
MLCP_ISA=scalar OPENBLAS_CORETYPE=Prescott ATEN_CPU_CAPABILITY=default \
  build/mlcp run "$job" --output runs/demo-replay --no-progress | grep '^summary: parameters'
if cmp -s runs/demo/final_state.bin runs/demo-replay/final_state.bin; then
  echo "verified: the 1-process replay on the portable scalar path reproduces the $ranks-rank"
  echo "parameters bit for bit; it would on any x86-64 CPU (docs/determinism.md, tested by"
  echo "tests/runtime/test_cross_hardware.cc)"
else
  echo "VERIFICATION FAILED: runs/demo/final_state.bin and runs/demo-replay/final_state.bin differ" >&2
  exit 1
fi
build/mlcp plot runs/demo
