#!/usr/bin/env python3
"""Checks that a `kachi lanes --checkpoint_budget B` run's chunk lengths follow the budget rule
(launcher/lanes/chunk_length.h), from the text of `kachi lanes --journal DIR` ("run" and "timing" lines).

  chunk_budget_check.py JOURNAL_TEXT BUDGET DEFAULT_STEPS MIN_STEPS RUNGS

RUNGS: comma-separated targets (rungs and max_steps), e.g. 4,12,36,108. For every chunk of every lane, in journal
order, the expected length is the rule's (NextChunkSteps) applied to the lane's newest measurement at the chunk's
width among its earlier chunks (a lane has one chunk in flight at a time, so that is what the coordinator had;
on --resume the journaled measurements are replayed) and the steps left to the lane's next target above the
chunk's start. The printed measurements are rounded (6 decimals), so the rule is also evaluated at them +-1e-5
relative; the chunk must match one of those. Failed chunks (no timing line) must end at or before the expected
step. Prints one line per chunk and a summary "chunks N budget_chunks M longest L measured_share_max S
resumed_budget_chunks R checkpoint_share C"; budget_chunks: chunks whose expected length used a measurement and
is longer than without one; resumed_budget_chunks: those in a later session that used a measurement journaled in
an earlier one; checkpoint_share: checkpoint seconds over train + checkpoint seconds of all measured chunks (the
first card's); measured_share_max: the largest such share of one chunk.
Exit 1 with a message when a chunk does not follow the rule.
"""
import math
import re
import sys

EVENT = re.compile(r"^event (\d+) at ([0-9.]+) session (\d+)$")
RUN = re.compile(r"^event (\d+) run lane (\d+) cards \[([0-9,]*)\] steps (\d+)->(\d+) ")
TIMING = re.compile(r"^event (\d+) timing lane (\d+) cards (\d+) steps (\d+)->(\d+) train ([0-9.eE+-]+) "
                    r"checkpoint ([0-9.eE+-]+)$")


def budget_steps(budget, default, minimum, measured):
    """chunk_length.cc BudgetChunkSteps."""
    if budget <= 0 or measured is None or not measured[0] > 0:
        return max(1, default)
    step_s, checkpoint_s = measured
    wanted = max(0.0, checkpoint_s) * (1 - budget) / (budget * step_s)
    return max(1, minimum, math.ceil(min(wanted - 1e-9, 1e15)))


def next_chunk(budget, default, minimum, measured, start, target):
    """chunk_length.cc NextChunkSteps."""
    left = target - start
    if left <= 0:
        return 0
    steps = budget_steps(budget, default, minimum, measured)
    if budget <= 0:
        return min(steps, left)
    chunks = max(1, left // steps)
    return (left + chunks - 1) // chunks


def main():
    path, budget, default, minimum, rungs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
        sorted(int(r) for r in sys.argv[5].split(","))
    sessions, runs, timings = {}, [], {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if m := EVENT.match(line):
                sessions[int(m[1])] = int(m[3])
            elif m := RUN.match(line):
                runs.append(dict(event=int(m[1]), lane=int(m[2]), cards=len([c for c in m[3].split(",") if c]),
                                 start=int(m[4]), end=int(m[5])))
            elif m := TIMING.match(line):
                timings[(int(m[1]), int(m[2]))] = (int(m[5]) - int(m[4]), float(m[6]), float(m[7]))
    if not runs:
        sys.exit(f"{path}: no chunks")
    measured = {}  # (lane, cards) -> (step_s, checkpoint_s, session it was journaled in)
    count = budget_chunks = resumed = longest = 0
    share_max = 0.0
    totals = [0.0, 0.0]  # checkpoint seconds, chunk seconds (train + checkpoint) over the measured chunks
    bad = []
    for run in sorted(runs, key=lambda r: r["event"]):
        key = (run["lane"], run["cards"])
        target = next((r for r in rungs if r > run["start"]), None)
        if target is None:
            bad.append(f"lane {run['lane']} chunk {run['start']}->{run['end']}: no target above its start")
            continue
        m = measured.get(key)
        candidates = set()
        for scale in ((1, 1), (1 + 1e-5, 1 - 1e-5), (1 - 1e-5, 1 + 1e-5)):
            mm = None if m is None else (m[0] * scale[0], m[1] * scale[1])
            candidates.add(next_chunk(budget, default, minimum, mm, run["start"], target))
        length = run["end"] - run["start"]
        timing = timings.get((run["event"], run["lane"]))
        ok = length in candidates if timing else length <= max(candidates)
        print(f"lane {run['lane']} cards {run['cards']} steps {run['start']}->{run['end']} target {target} "
              f"expected {sorted(candidates)} measured {None if m is None else (round(m[0], 6), round(m[1], 6))}"
              f"{'' if ok else '  <-- not the rule'}")
        if not ok:
            bad.append(f"lane {run['lane']} chunk {run['start']}->{run['end']} on {run['cards']} card(s): "
                       f"expected {sorted(candidates)} steps from measurement {m}")
        count += 1
        longest = max(longest, length)
        unmeasured = next_chunk(budget, default, minimum, None, run["start"], target)
        if m is not None and budget > 0 and min(candidates) > unmeasured:
            budget_chunks += 1
            if m[2] < sessions.get(run["event"], 0):
                resumed += 1
        if timing:
            steps, train_s, checkpoint_s = timing
            if train_s + checkpoint_s > 0:
                share_max = max(share_max, checkpoint_s / (train_s + checkpoint_s))
            totals[0] += checkpoint_s
            totals[1] += train_s + checkpoint_s
            if steps > 0 and train_s > 0:
                measured[key] = (train_s / steps, checkpoint_s, sessions.get(run["event"], 0))
    print(f"chunks {count} budget_chunks {budget_chunks} longest {longest} measured_share_max {share_max:.3f} "
          f"resumed_budget_chunks {resumed} checkpoint_share {totals[0] / max(totals[1], 1e-12):.3f}")
    if bad:
        sys.exit("chunks not following the checkpoint budget:\n  " + "\n  ".join(bad))


if __name__ == "__main__":
    main()
