#!/usr/bin/env python3
"""Syne Tune's ASHA on the curves of kachi's policy-quality table: the outside check of issue 18, item 2.

For each family and seed, `kachi_lanes_curves FAMILY SEED` writes the 64 lanes' curves (the same draw the table's
`kachi_lanes_quality` simulates) as CSV; this script makes them a Syne Tune tabular blackbox (fidelity = hundreds of
steps, 1..81; elapsed time = steps x --step_seconds) and runs Syne Tune's own stopping-based ASHA (syne_tune.optimizer
.baselines.ASHA: grace period 1 = 100 steps, reduction factor 3, max_t 81 = 8100 steps, so the rungs are kachi's
100 * 3^k) on its simulated backend with 16 workers, the 64 lanes started in order, each once. It prints, per family,
the same columns as the table: P(true best), mean regret, GPU-h to chosen (workers x simulated time the chosen trial
finished), pool GPU-h (workers x makespan) and held GPU-h (worker-hours trials ran). The chosen lane is the lowest
finite loss reported at 8100 steps (none: scored as the worst finite final, as the table does). True best and regret as in the table: the lowest loss at 8100 steps over all lanes.

A diverged lane reports loss 1e3 from its divergence on (the tabular blackbox cannot end a curve early), so Syne Tune
stops it at its next rung, where kachi's own stop-asha stops it at the divergence step: Syne Tune pays up to one rung
interval more per diverging lane.

Not in CI (needs PyPI `syne-tune`): python3 -m venv /tmp/st && /tmp/st/bin/pip install syne-tune, then
  /tmp/st/bin/python bench/lanes/syne_tune_asha.py --curves_tool build-cpu/launcher/lanes/kachi_lanes_curves --seeds 40
and compare with `build-cpu/launcher/lanes/kachi_lanes_quality 40` (its stop-asha rows are kachi's implementation of
the same algorithm on the same curves).
"""
import argparse
import contextlib
import csv
import io
import logging
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

DIVERGED_LOSS = 1e3


def load_curves(tool, family, seed, max_steps, every):
    """{lane: [loss at every, 2*every, ..., max_steps]} from kachi_lanes_curves (NaN-padded after divergence)."""
    text = subprocess.run([tool, family, str(seed), "64", str(max_steps), str(every)], check=True,
                          capture_output=True, text=True).stdout
    points = max_steps // every
    curves = {}
    for row in csv.DictReader(io.StringIO(text)):
        losses = curves.setdefault(row["lane"], [math.nan] * points)
        losses[int(row["step"]) // every - 1] = float(row["loss"])
    return curves


def run_syne_tune(curves, workers, step_seconds, every, eta, seed):
    """Runs Syne Tune's ASHA on the curves; returns its results dataframe and the lane names in trial order."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.config_space import choice, randint
    from syne_tune.optimizer.baselines import ASHA

    names = list(curves)
    points = len(next(iter(curves.values())))
    evaluations = np.zeros((len(names), 1, points, 2))
    for i, name in enumerate(names):
        losses = np.array(curves[name])
        losses[~np.isfinite(losses)] = DIVERGED_LOSS
        evaluations[i, 0, :, 0] = losses
        evaluations[i, 0, :, 1] = np.arange(1, points + 1) * every * step_seconds
    config_space = {"lane": choice(list(range(len(names))))}
    class LaneTable(BlackboxTabular):
        """The tabular blackbox looked up by lane index (pandas 3 cannot index a one-column table by a tuple)."""

        def _objective_function(self, configuration, fidelity=None, seed=None):
            if isinstance(configuration, dict):
                configuration = int(configuration["lane"])
            return super()._objective_function(configuration, fidelity, seed)

    blackbox = LaneTable(hyperparameters=pd.DataFrame({"lane": list(range(len(names)))}),
                               configuration_space=config_space, fidelity_space={"hundreds": randint(1, points)},
                               objectives_evaluations=evaluations, objectives_names=["loss", "elapsed_time"])
    backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr="elapsed_time", seed=0)

    class EachLaneOnce(ASHA):
        """ASHA whose searcher proposes the lanes in order, each once, then nothing (the tuner then waits)."""

        def __init__(self, *args, lanes, **kwargs):
            super().__init__(*args, **kwargs)
            self._lanes, self._next = lanes, 0

        def suggest(self):
            if self._next >= self._lanes:
                return None
            self._next += 1
            return super().suggest()

    scheduler = EachLaneOnce(config_space, metric="loss", time_attr="hundreds", max_t=points, grace_period=1,
                             reduction_factor=eta, random_seed=seed, lanes=len(names),
                             points_to_evaluate=[{"lane": i} for i in range(len(names))])
    callback = SimulatorCallback()
    tuner = Tuner(trial_backend=backend, scheduler=scheduler, n_workers=workers, sleep_time=0,
                  stop_criterion=StoppingCriterion(max_num_trials_started=10 * len(names)), callbacks=[callback],
                  results_update_interval=1e9, print_update_interval=1e9, save_tuner=False,
                  tuner_name=f"kachi-st-{seed}", suffix_tuner_name=True)
    with contextlib.redirect_stdout(io.StringIO()):  # the tuner's progress tables
        tuner.run()
    return callback.dataframe(), names


def score(df, names, curves, points, workers):
    """(chose the true best, regret, GPU-h to chosen, pool GPU-h, held GPU-h) of one run."""
    finals = {n: (c[-1] if math.isfinite(c[-1]) else math.inf) for n, c in curves.items()}
    finite = [v for v in finals.values() if math.isfinite(v)]
    best, worst = min(finite), max(finite)
    lane_col = "config_lane" if "config_lane" in df.columns else "lane"
    done = df[(df["hundreds"] >= points) & (df["loss"] < DIVERGED_LOSS)]  # diverged at the end: not a choice
    if len(done):
        row = done.loc[done["loss"].idxmin()]
        chosen = names[int(row[lane_col])]
        chosen_final, to_chosen = finals[chosen], row["st_tuner_time"] * workers / 3600
    else:
        chosen_final, to_chosen = worst, df["st_tuner_time"].max() * workers / 3600
    held = df.groupby("trial_id")["elapsed_time"].max().sum() / 3600
    pool = df["st_tuner_time"].max() * workers / 3600
    return chosen_final == best, chosen_final - best, to_chosen, pool, held


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curves_tool", required=True, help="path of kachi_lanes_curves")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--families", nargs="*",
                        default=["powerlaw", "crossing", "late-bloomers", "warmup-heavy", "divergers"])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--step_seconds", type=float, default=1.0)
    parser.add_argument("--max_steps", type=int, default=8100)
    parser.add_argument("--every", type=int, default=100, help="steps per fidelity unit = the first rung")
    parser.add_argument("--eta", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    scratch = tempfile.TemporaryDirectory(prefix="kachi_syne_tune_")
    os.environ["SYNETUNE_FOLDER"] = scratch.name  # the tuner's result files, deleted at exit
    import syne_tune
    print(f"Syne Tune {syne_tune.__version__} ASHA (stopping), {args.seeds} seeds x 64 lanes per family, "
          f"{args.workers} workers, rungs {args.every} * {args.eta}^k to {args.max_steps} steps, step "
          f"{args.step_seconds:.2f} s\n")
    print("| family | policy | P(true best) | mean regret | GPU-h to chosen | pool GPU-h | held GPU-h |")
    print("|---|---|---|---|---|---|---|")
    points = args.max_steps // args.every
    for family in args.families:
        rows = []
        for seed in range(1, args.seeds + 1):
            curves = load_curves(args.curves_tool, family, seed, args.max_steps, args.every)
            df, names = run_syne_tune(curves, args.workers, args.step_seconds, args.every, args.eta, seed)
            rows.append(score(df, names, curves, points, args.workers))
        m = np.mean(np.array(rows, dtype=float), axis=0)
        print(f"| {family} | syne-tune-asha | {m[0]:.2f} | {m[1]:.4f} | {m[2]:.1f} | {m[3]:.1f} | {m[4]:.1f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
