#!/usr/bin/env bash
# sanitize.sh — the quick unit tests built and run under sanitizers, in their own build directory:
#   scripts/sanitize.sh address   ASan + UBSan, ctest label "sanitize" (base, jobs, partition, the
#                                 collectives on 1-4 ranks, verify, the bridge's encoders)
#   scripts/sanitize.sh thread    TSan, label "tsan" (the threaded ones: the exact sum's streaming
#                                 helper on 1-4 ranks, the background worker)
# CI runs both after the suite (scripts/test.sh). Open MPI, UCX and
# hwloc are not instrumented: their own allocations are left out of leak reports
# (scripts/lsan.supp) and the thread checker reads scripts/tsan.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-address}
case $kind in address|thread) ;; *) echo "sanitize.sh: expected address or thread, got '$kind'" >&2; exit 2 ;; esac
dir=${MLCP_BUILD_DIR:-build}-$kind
if [[ ! -f $dir/build.ninja ]]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLCP_SANITIZE="$kind" \
    -DMLCP_BUILD_BENCH=OFF -DMLCP_WERROR=ON
else
  cmake -S . -B "$dir" >/dev/null
fi
target=sanitize_tests label=sanitize
[[ $kind == thread ]] && target=tsan_tests label=tsan
cmake --build "$dir" --target "$target" -j "$(nproc)"
source scripts/mpi-env.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$PWD/scripts/tsan.supp:halt_on_error=1}
if [[ $kind == thread ]]; then
  # UCX's memory hooks crash under TSan; Open MPI forwards these to the ranks.
  export UCX_MEM_EVENTS=no UCX_MEM_MALLOC_HOOKS=no UCX_MEM_MMAP_HOOK_MODE=none
fi
if [[ $kind == address ]]; then
  # Leaks are checked in every test that does not start MPI ranks. In the multi-rank ones
  # (label mpi) Open MPI's own allocations in MPI_Init (its op and PML components: not
  # instrumented, some unloaded at exit) reach LeakSanitizer with stacks that no suppression names
  # reliably; ASan's and UBSan's checks stay on there.
  rc=0
  ctest --test-dir "$dir" -L "$label" -LE mpi --output-on-failure --no-tests=error --timeout 600 \
    || rc=$?
  ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 \
    ctest --test-dir "$dir" -L "$label" -L mpi --output-on-failure --no-tests=error --timeout 600 \
    || rc=$?
  exit "$rc"
fi
ctest --test-dir "$dir" -L "$label" --output-on-failure --no-tests=error --timeout 600
