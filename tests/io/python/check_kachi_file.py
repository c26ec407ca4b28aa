#!/usr/bin/env python3
"""Loads a safetensors file written by kachi with Python's safetensors (numpy) and checks its names, dtypes,
shapes, values and metadata against a text file of expectations. BF16 tensors, which numpy cannot hold, are
checked from the raw bytes. Prints OK and exits 0, or prints every mismatch and exits 1.

Usage: check_kachi_file.py FILE.safetensors EXPECTED.txt   (expected-file format: see write_with_safetensors.py)
"""
import json
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
         "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def main():
    path, expected_path = sys.argv[1], sys.argv[2]
    expected, expected_meta = {}, {}
    with open(expected_path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "@meta":
                expected_meta[fields[1]] = fields[2]
                continue
            name, dtype, dims, values = fields
            shape = tuple(int(d) for d in dims.split(",")) if dims else ()
            expected[name] = (dtype, shape, values.split(" ") if values else [])

    errors = []
    with open(path, "rb") as f:
        raw = f.read()
    header_size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + header_size])
    data = raw[8 + header_size:]
    arrays = {}
    with safe_open(path, framework="numpy") as handle:
        if (handle.metadata() or {}) != expected_meta:
            errors.append(f"metadata {handle.metadata()} != expected {expected_meta}")
        for name in handle.keys():
            if name in expected and expected[name][0] != "BF16":
                arrays[name] = handle.get_tensor(name)
    if not any(v[0] == "BF16" for v in expected.values()):
        whole = load_file(path)
        if set(whole) != set(arrays) or any(not np.array_equal(whole[k], arrays[k]) for k in whole):
            errors.append("load_file and safe_open disagree")
    names = set(k for k in header if k != "__metadata__")
    if names != set(expected):
        errors.append(f"names {sorted(names)} != expected {sorted(expected)}")
    for name, (dtype, shape, values) in expected.items():
        entry = header.get(name)
        if entry is None:
            continue
        if entry["dtype"] != dtype or tuple(entry["shape"]) != shape:
            errors.append(f"{name}: header {entry['dtype']} {entry['shape']} != expected {dtype} {list(shape)}")
            continue
        begin, end = entry["data_offsets"]
        if dtype == "BF16":
            bits = np.frombuffer(data[begin:end], dtype="<u2").astype("<u4") << 16
            actual = bits.view("<f4").reshape(shape)
            want = np.array([float(v) for v in values], dtype=np.float32).reshape(shape)
        else:
            actual = arrays[name]
            if actual.dtype != NUMPY[dtype]:
                errors.append(f"{name}: numpy dtype {actual.dtype} != {NUMPY[dtype]}")
                continue
            actual = actual.reshape(shape)
            if np.issubdtype(NUMPY[dtype], np.floating):
                want = np.array([float(v) for v in values], dtype=np.float64).astype(NUMPY[dtype]).reshape(shape)
            else:
                want = np.array([int(v) for v in values], dtype=NUMPY[dtype]).reshape(shape)
        if actual.shape != shape or not np.array_equal(actual, want):
            errors.append(f"{name}: values differ (first actual {actual.reshape(-1)[:3]}, "
                          f"expected {want.reshape(-1)[:3]})")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"OK {len(expected)} tensors ({len(arrays)} through safetensors.numpy)")


if __name__ == "__main__":
    main()
