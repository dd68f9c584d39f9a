#!/usr/bin/python3
"""Recompute an mlcp checkpoint's tensor hashes and Merkle root from docs/checkpoint-format.md,
independently of the C++ code: h5py reads the shard files, hashlib computes BLAKE2b-256.

usage: recompute_root.py CHECKPOINT_DIR
Prints "tensor NAME HASH" per tensor (hash recomputed from the file) and "root HEX"; exits 1
when a recomputed hash or the root differs from manifest.json. Does not check the signature.
"""
import hashlib
import json
import struct
import sys

import h5py
import numpy as np

DTYPES = {"float32": "<f4", "float64": "<f8", "int64": "<i8", "int32": "<i4", "uint8": "|u1"}


def blake(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def tensor_hash(dtype_name, shape, element_bytes):
    header = bytes([len(dtype_name)]) + dtype_name.encode("ascii")
    header += struct.pack("<q", len(shape)) + b"".join(struct.pack("<q", d) for d in shape)
    return blake(header + element_bytes)


def merkle_root(named_hashes):
    if not named_hashes:
        return blake(b"\x02")
    level = []
    for name, h in sorted(named_hashes, key=lambda nh: nh[0].encode("utf-8")):
        n = name.encode("utf-8")
        level.append(blake(b"\x00" + struct.pack("<Q", len(n)) + n + h))
    while len(level) > 1:
        nxt = [blake(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # odd node promoted unchanged
        level = nxt
    return level[0]


def main(ckpt):
    with open(f"{ckpt}/manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    ok = True
    leaves = []
    for t in manifest["tensors"]:
        with h5py.File(f"{ckpt}/{t['file']}", "r") as f:
            ds = f[t["dataset"]]
            dtype_name = {np.dtype(v): k for k, v in DTYPES.items()}[ds.dtype]
            arr = np.ascontiguousarray(np.asarray(ds[()]), dtype=np.dtype(DTYPES[dtype_name]))
            h = tensor_hash(dtype_name, list(ds.shape), arr.tobytes())
        print(f"tensor {t['name']} {h.hex()}")
        if h.hex() != t["hash"] or dtype_name != t["dtype"] or list(ds.shape) != t["shape"]:
            print(f"MISMATCH {t['name']}: file gives {dtype_name} {list(ds.shape)} {h.hex()}, "
                  f"manifest says {t['dtype']} {t['shape']} {t['hash']}", file=sys.stderr)
            ok = False
        leaves.append((t["name"], h))
    root = merkle_root(leaves)
    print(f"root {root.hex()}")
    if root.hex() != manifest["root"]:
        print(f"MISMATCH root: {root.hex()}, manifest says {manifest['root']}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
