#!/usr/bin/env bash
# build_and_run.sh — build the volunteer fuzz harnesses with clang (libFuzzer + ASan + UBSan) the
# way tests/fuzz builds the project's, make their seed corpus, and run them.
#
#   volunteer/fuzz/build_and_run.sh [--out DIR] [--runs N] [--time S] [--jobs J] [build | run NAME... | all]
#     NAME: wire, handshake. Defaults: --out <repo>/build-volunteer-fuzz, --runs 10000000,
#     --time 0 (no time limit), all.
#
# The harnesses compile the few sources they need directly (base, verify/node_key, the volunteer
# library without its UCX session), so no CMake build folder is needed. Exit status 0 when every
# run finished without a finding; a finding leaves its input in <out>/runs/NAME/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$src/build-volunteer-fuzz
runs=10000000
max_time=0
jobs=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time) max_time=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) break ;;
  esac
done
what=${1:-all}
[[ $# -gt 0 ]] && shift

sources=(
  "$src/base/error.cc" "$src/base/hex.cc" "$src/base/sodium.cc" "$src/base/digest.cc"
  "$src/base/durable_file.cc" "$src/verify/node_key.cc"
  "$src/volunteer/wire_io.cc" "$src/volunteer/wire.cc" "$src/volunteer/secure_channel.cc"
  "$src/volunteer/handshake.cc" "$src/volunteer/contribution.cc"
)
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -I"$src" -I"$(pkg-config --variable=includedir ucx)")
libs=($(pkg-config --libs libsodium) -lfmt)

do_build() {
  mkdir -p "$out/obj"
  # Library sources once, with coverage for libFuzzer; then each harness and the seed maker.
  local objs=() newest_header
  newest_header=$(ls -t "$src"/base/*.h "$src"/verify/*.h "$src"/volunteer/*.h \
    "$src"/collectives/ucx/*.h | head -n 1)
  for s in "${sources[@]}"; do
    local o="$out/obj/$(basename "${s%.cc}").o"
    if [[ ! -f $o || $s -nt $o || $newest_header -nt $o ]]; then
      clang++ "${flags[@]}" -fsanitize=fuzzer-no-link -c "$s" -o "$o"
    fi
    objs+=("$o")
  done
  for name in wire handshake; do
    clang++ "${flags[@]}" -fsanitize=fuzzer "$here/fuzz_volunteer_$name.cc" "${objs[@]}" \
      "${libs[@]}" -o "$out/fuzz_volunteer_$name"
  done
  clang++ "${flags[@]}" "$here/make_volunteer_corpus.cc" "${objs[@]}" "${libs[@]}" \
    -o "$out/make_volunteer_corpus"
  rm -rf "$out/corpus"
  mkdir -p "$out/corpus/wire" "$out/corpus/handshake"
  "$out/make_volunteer_corpus" "$out/corpus/wire" "$out/corpus/handshake"
  printf 'magic="MLCV"\nversion="\\x01\\x00"\nsealed="\\x10\\x00"\n' >"$out/volunteer.dict"
}

do_run() {
  local name=$1 exe=$out/fuzz_volunteer_$1 run=$out/runs/$1
  [[ -x $exe ]] || { echo "build_and_run.sh: $exe is not built" >&2; exit 1; }
  rm -rf "$run"
  mkdir -p "$run/new"
  local limits=(-runs="$runs")
  [[ $max_time != 0 ]] && limits+=(-max_total_time="$max_time")
  local parallel=()
  [[ $jobs -gt 1 ]] && parallel=(-fork="$jobs")
  echo "fuzz_volunteer_$name: ${limits[*]} ${parallel[*]}"
  # No allocation stacks and a small quarantine: a third faster on the exception-heavy decoders.
  # To read a finding's allocation stack, rerun its input with ASAN_OPTIONS= (ASan's defaults).
  ASAN_OPTIONS=${ASAN_OPTIONS-malloc_context_size=0:quarantine_size_mb=16} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$exe" -dict="$out/volunteer.dict" "${limits[@]}" "${parallel[@]}" -timeout=10 \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$run/" \
    "$run/new" "$out/corpus/$name" >"$run/log" 2>&1 || {
    tail -n 60 "$run/log" >&2
    echo "build_and_run.sh: fuzz_volunteer_$name found a problem; input and log in $run/" >&2
    exit 1
  }
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)' \
    "$run/log" || true
  grep -E '#[0-9]+ +(DONE|pulse)' "$run/log" | tail -n 1 || true
}

case $what in
  build) do_build ;;
  run) for n in "$@"; do do_run "$n"; done ;;
  all)
    do_build
    do_run wire
    do_run handshake
    ;;
  *) echo "usage: build_and_run.sh [--out DIR] [--runs N] [--time S] [--jobs J] build | run NAME... | all" >&2; exit 2 ;;
esac
