#!/usr/bin/env bash
# run_fuzzers.sh — build the libFuzzer harnesses with clang and run them (tests/fuzz/README.md).
#
#   run_fuzzers.sh [options] build            configure (once) and build every harness
#   run_fuzzers.sh [options] run NAME...      run fuzz_NAME briefly on tests/fuzz/corpus/NAME
#   run_fuzzers.sh [options] all              build, then run every harness
# options:
#   --source-dir DIR   the mlcp source tree (default: two folders above this script)
#   --build-dir DIR    the clang build folder (default: <source>/build-fuzz)
#   --fuzzer-dir DIR   where the fuzz_* executables are (default: <build>/fuzz)
#   --runs N           stop each fuzzer after N inputs (default 20000) ...
#   --time S           ... or after S seconds (default 5), whichever comes first
#
# Exit status 0 when every run finished without a finding; a finding leaves its input in
# <fuzzer-dir>/runs/NAME/ (crash-*, leak-*, timeout-*) and fails. New inputs a run discovers
# go to that folder too, never into the committed corpus.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=""
fuzzer_dir=""
runs=20000
max_time=5

while [[ $# -gt 0 ]]; do
  case $1 in
    --source-dir) src=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --fuzzer-dir) fuzzer_dir=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time) max_time=$2; shift 2 ;;
    *) break ;;
  esac
done
build=${build:-$src/build-fuzz}
fuzzer_dir=${fuzzer_dir:-$build/fuzz}
what=${1:-}
[[ $# -gt 0 ]] && shift

harnesses=(job_spec manifest final_state outbox json_rpc rlp transaction abi contract volunteer_wire
  volunteer_handshake)

need_clang() {
  local probe
  probe=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$probe'" RETURN
  if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
    echo "run_fuzzers.sh: clang is not installed: install the Debian packages clang and" \
      "libclang-rt-14-dev (scripts/install-deps.sh test)" >&2
    exit 1
  fi
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
    >"$probe/probe.cc"
  if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" \
    >"$probe/log" 2>&1; then
    echo "run_fuzzers.sh: clang cannot link a libFuzzer program: install the Debian package" \
      "libclang-rt-14-dev (scripts/install-deps.sh test); clang said: $(head -c 300 "$probe/log")" >&2
    exit 1
  fi
  printf 'int main() { return 0; }\n' >"$probe/omp.cc"
  if ! clang++ -fopenmp "$probe/omp.cc" -o "$probe/omp" >"$probe/log" 2>&1; then
    echo "run_fuzzers.sh: clang cannot build with OpenMP (ops/ needs it): install the Debian" \
      "package libomp-14-dev (scripts/install-deps.sh test); clang said: $(head -c 300 "$probe/log")" >&2
    exit 1
  fi
}

do_build() {
  if [[ ! -f $build/CMakeCache.txt ]]; then
    need_clang
    # Only the libraries the harnesses link are built (by target name), so the LibTorch-using
    # ones never compile here; no launcher (ccache) and no tests or benchmarks.
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_C_COMPILER_LAUNCHER= -DCMAKE_CXX_COMPILER_LAUNCHER= \
      -DMLCP_FUZZ=ON -DMLCP_BUILD_TESTS=OFF -DMLCP_BUILD_BENCH=OFF -DMLCP_WITH_NCCL=OFF >/dev/null
  fi
  cmake --build "$build" --target mlcp_fuzzers -j "${MLCP_FUZZ_JOBS:-2}"
}

do_run() {
  local name=$1
  local exe=$fuzzer_dir/fuzz_$name
  local corpus=$src/tests/fuzz/corpus/$name
  local out=$fuzzer_dir/runs/$name
  if [[ ! -x $exe ]]; then
    echo "run_fuzzers.sh: $exe is not built (run: run_fuzzers.sh build)" >&2
    exit 1
  fi
  if [[ ! -d $corpus ]]; then
    echo "run_fuzzers.sh: no seed corpus $corpus" >&2
    exit 1
  fi
  rm -rf "$out"
  mkdir -p "$out/new"
  local dict=()
  [[ -f $here/dict/$name.dict ]] && dict=(-dict="$here/dict/$name.dict")
  echo "fuzz_$name: up to $runs inputs or $max_time s on $corpus"
  # The first corpus folder receives new inputs: a scratch one, not the committed seeds.
  # A 32 MB ASan quarantine (default 256): freed memory is still poisoned for a while, and
  # small parsers run 2-3x faster than when every allocation walks fresh pages.
  ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$exe" "${dict[@]}" -runs="$runs" -max_total_time="$max_time" -timeout=10 \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/new" "$corpus" >"$out/log" 2>&1 || {
    tail -n 60 "$out/log" >&2
    echo "run_fuzzers.sh: fuzz_$name found a problem; the input is in $out/ (log: $out/log)" >&2
    exit 1
  }
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
    "$out/log" || true
  grep -E '#[0-9]+ +DONE' "$out/log" | tail -n 1 || true
}

case $what in
  build) do_build ;;
  run)
    [[ $# -gt 0 ]] || { echo "run_fuzzers.sh: run needs harness names: ${harnesses[*]}" >&2; exit 2; }
    for n in "$@"; do do_run "$n"; done
    ;;
  all)
    do_build
    for n in "${harnesses[@]}"; do do_run "$n"; done
    ;;
  *)
    echo "usage: run_fuzzers.sh [--source-dir D] [--build-dir D] [--fuzzer-dir D] [--runs N]" \
      "[--time S] build | run NAME... | all   (harnesses: ${harnesses[*]})" >&2
    exit 2
    ;;
esac
