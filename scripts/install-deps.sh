#!/usr/bin/env bash
# install-deps.sh — install every Debian package mlcp needs that is missing, and nothing else.
#
#   scripts/install-deps.sh [core|test|all]     (default: all)
#
# core: compiler, CMake, LibTorch + OpenBLAS, Open MPI + UCX, HDF5, libsodium, SentencePiece,
#       the parsers and the two real data sets (Fashion-MNIST, fortunes).
# test: core + GoogleTest, Slurm + munge (local cluster tests), Node.js + npm (solc and anvil for
#       the chain tests come from the npm registry, pinned in bridge/package.json),
#       SentencePiece's command-line tools (spm_encode: bench/bench_tokenizer's peer), and
#       PyTorch for Python (python3-torch: `mlcp export`'s file loaded by torch.load).
#
# Re-running is cheap: when every package is already installed it only asks dpkg and returns.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

what=${1:-all}

core=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtorch-dev libopenblas0-openmp
  openmpi-bin libopenmpi-dev libucx-dev ucx-utils
  libhdf5-dev hdf5-tools
  libsodium-dev libssl-dev  # libssl-dev: the volunteer record layer's cipher (volunteer/aead.h)
  libsentencepiece-dev  # mlcp data prepare: the tokenizer (data/token_vocabulary)
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libcurl4-openssl-dev libsecp256k1-dev libcrypto++-dev
  libcairo2-dev zlib1g-dev
  dataset-fashion-mnist fortunes
)
test=(
  googletest libgtest-dev libgmock-dev clang-format strace
  clang libclang-rt-14-dev  # tests/fuzz: clang with libFuzzer and the sanitizer runtimes
  libomp-14-dev  # ... and clang's OpenMP (ops/ needs OpenMP; GCC's libgomp does not serve clang)
  slurmctld slurmd slurm-client munge
  python3-h5py
  python3-torch  # tests/app/test_export: torch.load of `mlcp export`'s file
  sentencepiece  # spm_encode, spm_train: the peer bench/bench_tokenizer measures against
)
# Node.js and npm: only where there is no npm yet (some machines carry a vendor nodejs that
# bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || test+=(nodejs npm)

case $what in
  core) want=("${core[@]}") ;;
  test|all) want=("${core[@]}" "${test[@]}") ;;
  *) echo "install-deps.sh: unknown set '$what' (expected core, test or all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#want[@]} packages present"
else
  echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch is 8-18x slower on the reference BLAS that libtorch-dev pulls in: make sure the
# libblas.so.3 alternative points at OpenBLAS (see docs/operations.md).
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
alt=libblas.so.3-$arch
if update-alternatives --query "$alt" >/dev/null 2>&1; then
  cur=$(update-alternatives --query "$alt" | awk '/^Value:/{print $2}')
  if [[ $cur != *openblas* ]]; then
    best=$(update-alternatives --list "$alt" | grep openblas | head -n1 || true)
    if [[ -n $best ]]; then
      [[ $(id -u) -eq 0 ]] && update-alternatives --set "$alt" "$best" || sudo update-alternatives --set "$alt" "$best"
    fi
  fi
fi
