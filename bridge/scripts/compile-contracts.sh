#!/usr/bin/env bash
# compile-contracts.sh — compile bridge/contracts/*.sol with the pinned solc (solcjs, see
# bridge/package.json) into bridge/contracts/build/, which is committed so that a C++ build needs
# no node. For every deployable contract (MlcpJobs, MlcpMarket, MlcpCheckers; the abstract
# MlcpGame has no bytecode):
#   <Contract>.abi.json   the ABI, one entry per line (stable, diffable)
#   <Contract>.bin        creation bytecode, lowercase hex without 0x, one line
#   <Contract>.bin-runtime  deployed bytecode (for an eth_getCode comparison; an immutable's
#                         bytes are zeros there)
# A contract whose deployed bytecode exceeds 24,576 bytes (EIP-170: no chain would accept it)
# fails the script.
#   bridge/scripts/compile-contracts.sh           # regenerate build/
#   bridge/scripts/compile-contracts.sh --check   # compile into a temporary directory and fail
#                                                 # if build/ differs from the sources (exit 77
#                                                 # when the chain tools are not installed)
# Settings are fixed here and nowhere else (the C++ client and tests rely on them): optimizer on
# with 200 runs, via-IR (the dispute functions need it: "stack too deep" otherwise), EVM version
# cancun, no metadata hash and no CBOR trailer (the bytecode depends on the code only, not on file
# paths or comments), one source unit per file named by its file name. About 10 s per run.
set -euo pipefail
prog=compile-contracts.sh
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(dirname "$here")
src=$root/contracts
check=0
case ${1:-} in
  "") ;;
  --check) check=1 ;;
  *) die "usage: $prog [--check]" ;;
esac
# --check under ctest: missing tools are a skip (77), not a failure; otherwise an error.
if ! source "$here/chain-tools.sh"; then
  ((check)) && { echo "$prog: SKIP: chain tools not installed" >&2; exit 77; }
  exit 1
fi
shopt -s nullglob
sources=("$src"/*.sol)
((${#sources[@]})) || die "no .sol files in $src"

if ((check)); then
  out=$(mktemp -d "${TMPDIR:-/tmp}/mlcp-contracts.XXXXXX")
  trap 'rm -rf "$out"' EXIT
else
  out=$src/build
  mkdir -p "$out"
fi

# solc's JS module (the same code as the solcjs command) with a standard-JSON input, so every
# setting is explicit. Errors (not warnings) fail the script with solc's own messages.
MLCP_SOLC_DIR=$(dirname "$MLCP_SOLCJS") node - "$out" "${sources[@]}" <<'JS'
const fs = require('fs');
const path = require('path');
const solc = require(path.join(process.env.MLCP_SOLC_DIR, 'index.js'));
const [out, ...files] = process.argv.slice(2);
const sources = {};
for (const f of files) sources[path.basename(f)] = { content: fs.readFileSync(f, 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none', appendCBOR: false },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const res = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (res.errors || []).filter(e => e.severity === 'error');
for (const e of res.errors || []) process.stderr.write(e.formattedMessage);
if (errors.length) process.exit(1);
let n = 0;
for (const file of Object.keys(res.contracts || {}).sort()) {
  for (const [name, c] of Object.entries(res.contracts[file])) {
    const bin = c.evm.bytecode.object;
    if (!bin) continue;  // interfaces and abstract contracts have no bytecode
    const size = c.evm.deployedBytecode.object.length / 2;
    if (size > 24576) {
      process.stderr.write(`${name}: ${size} bytes of deployed code, over the 24576 of EIP-170\n`);
      process.exit(1);
    }
    const abi = '[\n' + c.abi.map(e => JSON.stringify(e)).join(',\n') + '\n]\n';
    fs.writeFileSync(path.join(out, name + '.abi.json'), abi);
    fs.writeFileSync(path.join(out, name + '.bin'), bin + '\n');
    fs.writeFileSync(path.join(out, name + '.bin-runtime'), c.evm.deployedBytecode.object + '\n');
    n++;
  }
}
if (!n) { process.stderr.write('no deployable contract in the sources\n'); process.exit(1); }
JS
echo "solc $(node "$MLCP_SOLCJS" --version) optimizer=200 via-ir evm=cancun" >"$out/COMPILER"

if ((check)); then
  if ! diff -r -q "$src/build" "$out" >/dev/null 2>&1; then
    diff -r -q "$src/build" "$out" >&2 || true
    die "bridge/contracts/build does not match the sources; run bridge/scripts/compile-contracts.sh and commit bridge/contracts/build"
  fi
fi
