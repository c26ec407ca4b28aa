#!/usr/bin/env python3
"""Reads a run's TensorBoard event files with the `tensorboard` package and compares them to its JSON-lines metrics.

Every key of the JSON lines (loss, lr, grad_norm, ms, tokens_per_s, val_loss, ...) must be a scalar tag with the same
steps, and each value equal to the JSON value within the JSON text's rounding (half a unit of its last printed digit)
plus float32 rounding (2^-24 relative: TensorBoard's simple_value is a float). Exactly one event file must exist (only
rank 0 writes). Exit 0 = pass, 1 = fail, 77 = the interpreter lacks the tensorboard package (test Skipped).

Usage: tensorboard_check.py METRICS.jsonl TENSORBOARD_DIR
"""
import glob
import json
import os
import re
import sys

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError as e:
    print(f"SKIPPED: {sys.executable} has no tensorboard package ({e}); scripts/setup.sh installs it into "
          "build/pyenv (KACHI_PYTHON)")
    sys.exit(77)


def half_unit(text):
    """Half a unit of the last digit printed in the number `text` (e.g. '0.123456' -> 5e-7, '6.0e-04' -> 5e-6)."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def main():
    metrics_path, tb_dir = sys.argv[1], sys.argv[2]
    files = glob.glob(os.path.join(tb_dir, "events.out.tfevents.*"))
    if len(files) != 1:
        print(f"FAIL: expected one event file in {tb_dir} (rank 0 only), found {files}")
        return 1
    expected = {}  # tag -> [(step, value, tolerance)]
    for line in open(metrics_path):
        record = json.loads(line)
        texts = dict(re.findall(r'"(\w+)": ([-+0-9.eE]+)', line))
        for key, value in record.items():
            if key == "step":
                continue
            tol = half_unit(texts[key]) + abs(value) * 2.0 ** -24 * 1.01
            expected.setdefault(key, []).append((record["step"], value, tol))
    acc = EventAccumulator(tb_dir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    failures = 0
    if not expected:
        print("FAIL: the JSON-lines metrics are empty")
        return 1
    for key, rows in sorted(expected.items()):
        if key not in tags:
            print(f"FAIL: tag '{key}' missing from the event file (tags: {sorted(tags)})")
            failures += 1
            continue
        events = acc.Scalars(key)
        got = [(e.step, e.value) for e in events]
        if [s for s, _ in got] != [s for s, _, _ in rows]:
            print(f"FAIL: '{key}': steps {[s for s, _ in got]} != JSON steps {[s for s, _, _ in rows]}")
            failures += 1
            continue
        worst = 0.0
        for (step, value), (_, want, tol) in zip(got, rows):
            if abs(value - want) > tol:
                print(f"FAIL: '{key}' at step {step}: event file {value!r}, JSON {want!r} (tolerance {tol:.3g})")
                failures += 1
            worst = max(worst, abs(value - want) / tol if tol else 0.0)
        print(f"{key}: {len(rows)} values equal (worst |diff| / tolerance = {worst:.3f})")
    extra = tags - set(expected)
    if extra:
        print(f"FAIL: tags not in the JSON lines: {sorted(extra)}")
        failures += 1
    if failures:
        return 1
    print(f"PASS: {os.path.basename(files[0])} read by tensorboard equals {metrics_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
