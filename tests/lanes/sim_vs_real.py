#!/usr/bin/env python3
"""Checks the lane simulator against a real `kachi lanes` run (issue 18).

  sim_vs_real.py KACHI LANES_FILE RUN_DIR LOG OUT_DIR [ARGS...]

From the run's journal (`kachi lanes --journal RUN_DIR`) and its log (lane names, in index order, from the final
table), writes OUT_DIR/curves.csv (every reported loss; a lane's last loss held to max_steps, so the simulator reads
real losses wherever it makes the real run's decisions; NaN from a stopped lane's step) and OUT_DIR/sim.pbtxt (the
lanes file plus a simulator section with the step time, checkpoint and restore costs fitted by least squares on the
real one-card chunks: duration = steps * step_s + restored * restore_s, the chunk checkpoint folded into the step
time as every chunk has about the same steps, and the serial fraction and
all-reduce beta fitted to the step time measured at each width), runs
`kachi lanes --simulate` on it (ARGS, e.g. the run's own `--set policy.promote_runners_up=true`, go to it too) and
prints the real and simulated makespan (and the error), the chosen lane of each, and the decisions per kind and per
kind and reason (e.g. "promote runner-up"). The lanes' batch units (global_batch / micro_batch) and the chunk length
(policy.min_steps, the executor's default --chunk) are read from LANES_FILE.
"""
import re
import subprocess
import sys

import math


def main():
    kachi, lanes_file, run_dir, log, out = sys.argv[1:6]
    extra = sys.argv[6:]
    text = open(lanes_file).read()
    global_batch = int(re.search(r"global_batch: *(\d+)", text).group(1))
    micro_batch = int(re.search(r"micro_batch: *(\d+)", text).group(1))
    units = global_batch // micro_batch
    chunk = int(re.search(r"min_steps: *(\d+)", text).group(1))
    journal = subprocess.run([kachi, "lanes", "--journal", run_dir], check=True, capture_output=True,
                             text=True).stdout
    names = []
    table = False
    for line in open(log):
        if re.match(r"^  lane +state", line):
            names, table = [], True
            continue
        if table:
            m = re.match(r"^  (\S+) +(waiting|running|at_rung|paused|finished|stopped) ", line)
            if m:
                names.append(m.group(1))
            else:
                table = False
    points, runs, counts, reasons, makespan, max_step = {}, [], {}, {}, 0.0, 0
    for line in journal.splitlines():
        m = re.match(r"event \d+ report (\w+) lane (\d+) step (\d+) loss (\S+)", line)
        if m:
            points.setdefault(int(m.group(2)), {})[int(m.group(3))] = float(m.group(4))
        m = re.match(r"event \d+ run lane (\d+) cards \[([\d,]*)\] steps (\d+)->(\d+) time (\S+)->(\S+) work \S+ "
                     r"restored (\d)", line)
        if m:
            runs.append((len(m.group(2).split(",")), int(m.group(4)) - int(m.group(3)),
                         float(m.group(6)) - float(m.group(5)), int(m.group(7))))
            makespan = max(makespan, float(m.group(6)))
        m = re.match(r"event \d+ decision (\w+) lane (\d+)", line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
            r = re.search(r" reason (\S+)", line)
            if m.group(1) in ("promote", "pause"):
                key = f"{m.group(1)} {r.group(1) if r else 'rank'}"
                reasons[key] = reasons.get(key, 0) + 1
        m = re.match(r"event \d+ decision finish lane \d+ rung -1 step (\d+)", line)
        if m:
            max_step = max(max_step, int(m.group(1)))
    one = [r for r in runs if r[0] == 1 and r[1] > 0]
    cards = 1 + max(int(c) for group in re.findall(r"cards \[([\d,]+)\]", journal) for c in group.split(","))
    # Nearly every chunk has the same number of steps (--chunk), so a per-chunk checkpoint cannot be told from the
    # step time: it is folded into the step time (checkpoint 0); the restore is fitted (restored is 0 or 1).
    sxx = sum(r[1] * r[1] for r in one)
    sxr = sum(r[1] * r[3] for r in one)
    srr = sum(r[3] * r[3] for r in one)
    sxy = sum(r[1] * r[2] for r in one)
    sry = sum(r[3] * r[2] for r in one)
    det = sxx * srr - sxr * sxr
    if det > 0:
        step_s, restore_s = (sxy * srr - sry * sxr) / det, (sry * sxx - sxy * sxr) / det
    else:
        step_s, restore_s = sxy / sxx, 0.0
    ckpt_s, restore_s = 0.0, max(restore_s, 0.0)
    # The step time at each width, from every chunk (its duration less the fitted checkpoint and restore), and the
    # simulator's width model fitted to it: step_s * (f + (1 - f) / w) + 2 (w - 1) / w * beta (alpha 0), f in [0, 1]
    # on a grid, beta >= 0 by least squares. (A guessed f = 0.5 made widening 1.6-3x faster than measured: on an
    # oversubscribed CPU box a wider step is slower.)
    per_width = {}
    for w, steps, dur, restored in runs:
        if steps > 0:
            acc = per_width.setdefault(w, [0.0, 0])
            acc[0] += dur - ckpt_s - restored * restore_s
            acc[1] += steps
    measured = {w: t / n for w, (t, n) in per_width.items()}
    best = None
    for i in range(101):
        f = i / 100
        c = {w: 2 * (w - 1) / w for w in measured}
        r = {w: measured[w] - step_s * (f + (1 - f) / w) for w in measured}
        den = sum(c[w] ** 2 for w in measured)
        beta = max(0.0, sum(r[w] * c[w] for w in measured) / den) if den > 0 else 0.0
        err = sum((r[w] - beta * c[w]) ** 2 for w in measured)
        if best is None or err < best[0]:
            best = (err, f, beta)
    _, serial, beta = best
    with open(f"{out}/curves.csv", "w") as f:
        f.write("lane,step,loss,batch_units\n")
        for lane, name in enumerate(names):
            pts = points.get(lane, {})
            steps = sorted(pts)
            last = pts[steps[-1]] if steps else float("nan")
            if not steps or not math.isfinite(last):
                f.write(f"{name},{chunk},nan,{units}\n")  # the executor sees a NaN at its first chunk's end
                continue
            for s in steps:
                f.write(f"{name},{s},{pts[s]},{units}\n")
            if steps[-1] < max_step:
                f.write(f"{name},{max_step},{last},{units}\n")
    with open(f"{out}/sim.pbtxt", "w") as f:
        f.write(open(lanes_file).read())
        # Times in milliseconds (the decision log prints 0.1 time units), pool as the job's ranks.
        f.write(f'simulator {{ curves_csv: "{out}/curves.csv" step_time_s: {1e3 * step_s:.4f} '
                f"checkpoint_s: {1e3 * ckpt_s:.4f} restore_s: {1e3 * restore_s:.4f} serial_fraction: {serial:.2f} "
                f"allreduce_alpha_s: 0 allreduce_beta_s: {1e3 * beta:.4f} chunk_steps: {chunk} cards: {cards} "
                f"print_decisions: true }}\n")
    sim = subprocess.run([kachi, "lanes", "--simulate", f"{out}/sim.pbtxt"] + extra, capture_output=True, text=True)
    open(f"{out}/sim.txt", "w").write(sim.stdout + sim.stderr)
    times = [float(t) / 1e3 for t in re.findall(r"t=([0-9.]+)s", sim.stdout)]
    sim_counts, sim_reasons = {}, {}
    for line in sim.stdout.splitlines():
        m = re.match(r"^\s*t=[0-9.]+s\s+(\w+)", line)
        if not m:
            continue
        sim_counts[m.group(1)] = sim_counts.get(m.group(1), 0) + 1
        r = re.search(r" reason (\S+)$", line)
        if m.group(1) in ("promote", "pause"):
            key = f"{m.group(1)} {r.group(1) if r else 'rank'}"
            sim_reasons[key] = sim_reasons.get(key, 0) + 1
    print(f"fitted on {len(one)} one-card chunks: step {step_s:.4f} s, checkpoint {ckpt_s:.4f} s, "
          f"restore {restore_s:.4f} s")
    print("measured s/step by width: " + ", ".join(f"{w}: {measured[w]:.4f}" for w in sorted(measured)) +
          f"; fitted serial fraction {serial:.2f}, all-reduce beta {beta:.4f} s")
    print(f"real makespan {makespan:.3f} s, decisions {dict(sorted(counts.items()))}")
    simulated = max(times) if times else float("nan")
    print(f"simulated makespan {simulated:.3f} s, decisions {dict(sorted(sim_counts.items()))}")
    print(f"makespan error (simulated - real) / real: {100 * (simulated - makespan) / makespan:+.1f}%")
    print(f"promotions and pauses by reason (rank: by rank at the rung): real {dict(sorted(reasons.items()))}, "
          f"simulated {dict(sorted(sim_reasons.items()))}")
    row = next((l for l in sim.stdout.splitlines() if l.startswith(("kachi ", "asha+widen "))), "?")
    print("simulator configured-policy row:", row)
    real_best = re.search(r"^best_lane (\d+)", journal, re.M)
    sim_best = re.match(r"^asha\+widen +(\d+):", row)
    print(f"chosen lane: real {real_best.group(1) if real_best else '-'}, simulated "
          f"{sim_best.group(1) if sim_best else '-'}")


if __name__ == "__main__":
    main()
