#!/usr/bin/env bash
# build.sh — configure (once) and build mlcp into build/. Re-running only rebuilds what changed.
#   scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MLCP_BUILD_DIR:-build}
# Configure every time (about 2 s): packages installed since the last run (GoogleTest after
# the demo's smaller install) are found, and options given here take effect.
if [[ ! -f $build/build.ninja ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${MLCP_BUILD_TYPE:-Release} "$@"
else
  cmake -S . -B "$build" "$@" >/dev/null
fi
# LibTorch translation units need about 1.5 GiB each: one job per 3 GiB of memory, at most nproc.
mem_gib=$(awk '/MemTotal/{print int($2/1048576)}' /proc/meminfo)
jobs=$(( mem_gib / 3 )); cores=$(nproc)
(( jobs < 1 )) && jobs=1; (( jobs > cores )) && jobs=$cores
cmake --build "$build" -j "$jobs"
