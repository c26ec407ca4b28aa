#!/usr/bin/env python3
"""Checks a `--timeline` file loads as a Chrome trace: valid JSON with a traceEvents list; every event has the
trace-event fields name/ph/ts/dur/pid/tid of the right types (X events: a category and a non-negative duration);
one process per expected rank; events of every required category (compute, comm, optimizer, data, and any given
with --category) on every rank; comm events carry their payload bytes and communicator; the events of a rank
nest inside its steps. Usage: scaling_trace_check.py TRACE RANKS [--category NAME ...]; exit 0 when it passes."""
import json
import sys


def main():
    path, ranks = sys.argv[1], int(sys.argv[2])
    required = {"compute", "comm", "optimizer", "data", "step"}
    args = sys.argv[3:]
    while args:
        if args[0] == "--category" and len(args) > 1:
            required.add(args[1])
            args = args[2:]
        else:
            print(f"unknown argument {args[0]}")
            return 2
    with open(path) as f:
        doc = json.load(f)
    events = doc.get("traceEvents")
    if not isinstance(events, list) or not events:
        print("FAIL: no traceEvents list")
        return 1
    ok = True
    seen = {}  # pid -> set of categories
    steps = {}  # pid -> list of (ts, end)
    for i, e in enumerate(events):
        for field, kind in (("name", str), ("ph", str), ("pid", int), ("tid", int)):
            if not isinstance(e.get(field), kind):
                print(f"FAIL: event {i} has no {kind.__name__} field '{field}': {e}")
                return 1
        for field in ("ts", "dur"):
            if not isinstance(e.get(field), (int, float)):
                print(f"FAIL: event {i} has no numeric '{field}': {e}")
                return 1
        if e["ph"] == "M":
            continue
        if e["ph"] != "X" or not isinstance(e.get("cat"), str) or e["dur"] < 0 or e["ts"] < 0:
            print(f"FAIL: event {i} is not a complete ('X') event with a category and ts, dur >= 0: {e}")
            return 1
        seen.setdefault(e["pid"], set()).add(e["cat"])
        if e["cat"] == "comm" and e["name"] not in ("grad_sync_wait", "comm_synchronize"):
            a = e.get("args", {})
            if not isinstance(a.get("bytes"), int) or a["bytes"] < 0 or not a.get("comm"):
                print(f"FAIL: collective event {i} without bytes and communicator: {e}")
                return 1
        if e["cat"] == "step":
            steps.setdefault(e["pid"], []).append((e["ts"], e["ts"] + e["dur"]))
    if sorted(seen) != list(range(ranks)):
        print(f"FAIL: processes {sorted(seen)}, expected ranks 0..{ranks - 1}")
        ok = False
    for pid, cats in sorted(seen.items()):
        missing = required - cats
        print(f"rank {pid}: categories {sorted(cats)}")
        if missing:
            print(f"FAIL: rank {pid} has no events of {sorted(missing)}")
            ok = False
    # Every phase and collective lies inside one of its rank's steps (1 us of rounding allowed).
    outside = 0
    for e in events:
        if e["ph"] != "X" or e["cat"] == "step":
            continue
        if not any(b - 1 <= e["ts"] and e["ts"] + e["dur"] <= end + 1 for b, end in steps.get(e["pid"], [])):
            outside += 1
    if outside:
        print(f"FAIL: {outside} events lie outside every step of their rank")
        ok = False
    print(f"{path}: {len(events)} events, {'loads as a Chrome trace' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
