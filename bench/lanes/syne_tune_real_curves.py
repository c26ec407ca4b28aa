#!/usr/bin/env python3
"""Syne Tune's ASHA on recorded real curves: the outside check of kachi's stop-asha row in
`kachi_lanes_quality --csv` (issue 18, item 2).

Reads a curves CSV (lane,step,loss[,batch_units[,warmup_steps]], e.g. bench/lanes/real_curves_cpu.csv), draws the
same subsets of lanes in the same order as kachi_lanes_quality --csv (draw d: seed first_seed + d, std::mt19937_64
Fisher-Yates, reimplemented here) and runs Syne Tune's own stopping-based ASHA on each draw through
bench/lanes/syne_tune_asha.py's tabular blackbox (fidelity unit = min_steps steps, grace period 1, reduction factor
eta, max_t = max_steps / min_steps; --workers workers; each lane started once, in the draw's order). Prints the
table's columns for Syne Tune beside nothing else: compare with the stop-asha row of
  kachi_lanes_quality --csv CSV draws=D lanes=K cards=W min_steps=M step_s=S ...
(kachi's stop-asha never checkpoints and trains each trial on one card, as Syne Tune's simulated workers do).
Not in CI (needs PyPI `syne-tune`):
  /tmp/st/bin/python bench/lanes/syne_tune_real_curves.py bench/lanes/real_curves_cpu.csv --draws 40 --lanes 12
"""
import argparse
import csv
import logging
import math
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import syne_tune_asha  # noqa: E402  (run_syne_tune, score)

MASK64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64 with its default single-value seeding (the C++ standard's parameters)."""

    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        upper, lower = 0xFFFFFFFF80000000, 0x7FFFFFFF
        for i in range(312):
            x = (self.mt[i] & upper) | (self.mt[(i + 1) % 312] & lower)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            self.mt[i] = self.mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def draw_lanes(n, k, seed):
    """kachi_lanes_quality --csv's draw: k of 0..n-1 in a seeded random order (launcher/lanes/quality_csv.cc)."""
    order = list(range(n))
    gen = MT19937_64(seed)
    for i in range(n - 1, 0, -1):
        j = gen() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order[:k]


def load_csv(path, max_steps, every):
    """[(lane, [loss at every, 2 every, ..., max_steps])] in order of first appearance (NaN from a divergence)."""
    points = {}
    for row in csv.DictReader(open(path)):
        points.setdefault(row["lane"], {})[int(row["step"])] = float(row["loss"])
    curves = []
    for lane, by_step in points.items():
        steps = sorted(by_step)
        diverged = next((s for s in steps if not math.isfinite(by_step[s])), None)
        losses = []
        for t in range(every, max_steps + 1, every):
            if diverged is not None and t >= diverged:
                losses.append(math.nan)
            else:
                losses.append(float(np.interp(t, steps, [by_step[s] for s in steps])))
        curves.append((lane, losses))
    return curves


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv")
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--lanes", type=int, default=12)
    parser.add_argument("--first_seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--step_seconds", type=float, default=1.0)
    parser.add_argument("--max_steps", type=int, default=540)
    parser.add_argument("--min_steps", type=int, default=20, help="the first rung = steps per fidelity unit")
    parser.add_argument("--eta", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    scratch = tempfile.TemporaryDirectory(prefix="kachi_syne_tune_")
    os.environ["SYNETUNE_FOLDER"] = scratch.name
    import syne_tune
    curves = load_csv(args.csv, args.max_steps, args.min_steps)
    points = args.max_steps // args.min_steps
    rows = []
    for d in range(args.draws):
        seed = args.first_seed + d
        drawn = dict(curves[i] for i in draw_lanes(len(curves), args.lanes, seed))
        df, names = syne_tune_asha.run_syne_tune(drawn, args.workers, args.step_seconds, args.min_steps, args.eta,
                                                 seed)
        rows.append(syne_tune_asha.score(df, names, drawn, points, args.workers))
    m = np.mean(np.array(rows, dtype=float), axis=0)
    print(f"Syne Tune {syne_tune.__version__} ASHA (stopping) on {args.csv}: {args.draws} draws (seeds from "
          f"{args.first_seed}) of {args.lanes} of its {len(curves)} lanes, {args.workers} workers, rungs "
          f"{args.min_steps} * {args.eta}^k to {args.max_steps} steps, step {args.step_seconds:.2f} s\n")
    print("| family | policy | P(true best) | mean regret | GPU-h to chosen | pool GPU-h | held GPU-h |")
    print("|---|---|---|---|---|---|---|")
    print(f"| real | syne-tune-asha | {m[0]:.2f} | {m[1]:.4f} | {m[2]:.2f} | {m[3]:.2f} | {m[4]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
