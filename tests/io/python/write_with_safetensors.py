#!/usr/bin/env python3
"""Writes a safetensors file with Python's safetensors.numpy (seeded random tensors of several dtypes plus
metadata) and a text file of what it holds, for kachi's interop test to compare against its own reader.

Usage: write_with_safetensors.py OUT.safetensors EXPECTED.txt SEED
Expected-file lines: name<TAB>DTYPE<TAB>d0,d1,...<TAB>v0 v1 ...   and   @meta<TAB>key<TAB>value
"""
import sys

import numpy as np
from safetensors.numpy import save_file

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def main():
    out_path, expected_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(seed)
    tensors = {}
    shapes = {"F64": (3,), "F32": (4, 5), "F16": (2, 3, 2), "I64": (6,), "I32": (2, 2), "I16": (3,), "I8": (5,),
              "U8": (7,), "BOOL": (4,)}
    for name, dtype in DTYPES.items():
        shape = shapes[name]
        if np.issubdtype(dtype, np.floating):
            values = rng.uniform(-50, 50, size=shape).astype(dtype)
        elif dtype == np.bool_:
            values = np.array([True, False, True, True], dtype=np.bool_)
        else:
            info = np.iinfo(dtype)
            values = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        tensors[f"python.{name.lower()}"] = values
    tensors["python.scalar"] = np.array(rng.uniform(1, 2), dtype=np.float32)
    metadata = {"written_by": "safetensors.numpy", "seed": str(seed), "quote": 'say "hi" \\ ok'}
    save_file(tensors, out_path, metadata=metadata)
    names = {v: k for k, v in DTYPES.items()}
    with open(expected_path, "w") as f:
        for key, value in metadata.items():
            f.write(f"@meta\t{key}\t{value}\n")
        for name, values in tensors.items():
            dtype_name = names[values.dtype.type]
            flat = values.reshape(-1)
            if np.issubdtype(values.dtype, np.floating):
                text = " ".join(repr(float(v)) for v in flat)
            else:
                text = " ".join(str(int(v)) for v in flat)
            f.write(f"{name}\t{dtype_name}\t{','.join(str(d) for d in values.shape)}\t{text}\n")


if __name__ == "__main__":
    main()
