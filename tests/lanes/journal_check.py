#!/usr/bin/env python3
"""Checks on the text of `kachi lanes --journal DIR` (launcher/lanes/journal.h: FormatJournal) for the lanes tests.

  journal_check.py chain FILE        each lane's chunks chain step to step (sorted by time, across sessions), no
                                     lane runs two chunks at once, no card is in two chunks at once
  journal_check.py states FILE       one line per lane: "lane L STATE" (finished / stopped / paused / running)
  journal_check.py idle FILE         "idle_while_runnable F": the fraction of card-seconds during which a card
                                     was idle while some lane was runnable but not running (promoted or never
                                     started, its next chunk not begun)
  journal_check.py overlap FILE L    for lane L's longest chunk: "chunk B E others_inside N targets_inside T
                                     cards_busy_fraction F" (other lanes' chunks that began and ended inside it,
                                     other lanes' rung reports inside it, and how busy the other cards were from
                                     B until the other lanes' last chunk inside it ended, or E)
  journal_check.py cut FILE          one line per lane paused by predict_cut: "cut lane L event E step S loss X
                                     resumed R"; fails unless each cut is at a chunk's end (the lane reported a
                                     TICK at step S with its checkpoint at S in the same event) and the lane, unless
                                     promoted back (R = 1, "resumed"), held no cards afterwards (no chunk of it
                                     ended and no decision gave it cards after E); no cut at all fails too
  journal_check.py runners_up FILE   one line per promotion of a paused runner-up (policy.promote_runners_up):
                                     "runner-up lane L event E rung K step S"; fails unless each promoted lane was
                                     paused at rung K (step S) when promoted, and its next chunk (if any) starts at
                                     step S; no runner-up promotion at all fails too
Exit status 1 with a message on stderr when a check fails (chain) or the journal cannot be read.
"""
import re
import sys
from collections import defaultdict

EVENT = re.compile(r"^event (\d+) at ([0-9.]+) session (\d+)$")
RUN = re.compile(r"^event (\d+) run lane (\d+) cards \[([0-9,]*)\] steps (\d+)->(\d+) time ([0-9.]+)->([0-9.]+) "
                 r"work ([0-9.]+) restored ([01])$")
REPORT = re.compile(r"^event (\d+) report (\w+) lane (\d+) step (\d+) loss (\S+) checkpoint (\d+)")
DECISION = re.compile(r"^event (\d+) decision (\w+) lane (\d+) rung (-?\d+) step (\d+) cards \[([0-9,]*)\]"
                      r"(?: loss (\S+))?(?: reason (.*))?$")


def parse(path):
    events, runs, reports, decisions = {}, [], [], []
    cards = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if m := EVENT.match(line):
                events[int(m[1])] = (float(m[2]), int(m[3]))
            elif m := RUN.match(line):
                runs.append(dict(event=int(m[1]), lane=int(m[2]),
                                 cards=[int(c) for c in m[3].split(",") if c], start=int(m[4]), end=int(m[5]),
                                 begin=float(m[6]), finish=float(m[7]), restored=m[9] == "1"))
            elif m := REPORT.match(line):
                reports.append(dict(event=int(m[1]), kind=m[2], lane=int(m[3]), step=int(m[4]),
                                    checkpoint=int(m[6])))
            elif m := DECISION.match(line):
                decisions.append(dict(event=int(m[1]), kind=m[2], lane=int(m[3]), rung=int(m[4]), step=int(m[5]),
                                      cards=[int(c) for c in m[6].split(",") if c], loss=m[7], reason=m[8] or ""))
    if not events:
        sys.exit(f"{path}: no events")
    for r in runs + reports + decisions:
        r["time"] = events[r["event"]][0]
    for r in runs:
        cards = max(cards or 0, max(r["cards"]) + 1)
    return events, runs, reports, decisions, cards or 0


def chain(path):
    _, runs, _, _, _ = parse(path)
    bad = []
    by_lane = defaultdict(list)
    for r in runs:
        by_lane[r["lane"]].append(r)
    for lane, rs in by_lane.items():
        rs.sort(key=lambda r: r["begin"])
        for a, b in zip(rs, rs[1:]):
            if b["start"] != a["end"]:
                bad.append(f"lane {lane}: a chunk starts at step {b['start']} after one that ended at {a['end']}")
            if b["begin"] < a["finish"]:
                bad.append(f"lane {lane}: two chunks at once ({a['begin']}->{a['finish']}, {b['begin']}->...)")
        for r in rs:
            if r["end"] < r["start"]:
                bad.append(f"lane {lane}: a chunk goes back from {r['start']} to {r['end']}")
        if rs and rs[0]["start"] != 0:
            bad.append(f"lane {lane}: its first chunk starts at step {rs[0]['start']}")
    by_card = defaultdict(list)
    for r in runs:
        for c in r["cards"]:
            by_card[c].append(r)
    for card, rs in by_card.items():
        rs.sort(key=lambda r: r["begin"])
        for a, b in zip(rs, rs[1:]):
            if b["begin"] < a["finish"]:
                bad.append(f"card {card}: lanes {a['lane']} and {b['lane']} at once")
    if bad:
        sys.exit("\n".join(bad))
    print(f"chains ok: {len(runs)} chunks of {len(by_lane)} lanes")


def states(path):
    _, _, _, decisions, _ = parse(path)
    state = {}
    for d in decisions:
        k = d["kind"]
        state[d["lane"]] = {"start": "running", "widen": "running", "shrink": "running", "promote": "runnable",
                            "pause": "paused", "finish": "finished", "stop": "stopped"}[k]
    for lane in sorted(state):
        print(f"lane {lane} {state[lane]}")


def idle(path):
    events, runs, _, decisions, cards = parse(path)
    end = max(t for t, _ in events.values())
    # Runnable-not-running intervals: from a lane's promotion (or time 0, or its start decision) to its next
    # chunk's begin.
    waits = []
    starts = sorted(runs, key=lambda r: r["begin"])
    for d in sorted(decisions, key=lambda d: (d["time"], d["event"])):
        if d["kind"] in ("promote", "start"):
            # waiting until the lane's next chunk begins
            nxt = [r["begin"] for r in starts if r["lane"] == d["lane"] and r["begin"] >= d["time"] - 1e-9]
            waits.append((d["time"], nxt[0] if nxt else end))
    # Integrate idle cards over time where some lane waits.
    points = sorted({0.0, end} | {t for w in waits for t in w} | {r["begin"] for r in runs} |
                    {r["finish"] for r in runs})
    idle_wait = 0.0
    for a, b in zip(points, points[1:]):
        if b <= a:
            continue
        mid = (a + b) / 2
        if not any(w0 <= mid < w1 for w0, w1 in waits):
            continue
        busy = set()
        for r in runs:
            if r["begin"] <= mid < r["finish"]:
                busy.update(r["cards"])
        idle_wait += (cards - len(busy)) * (b - a)
    total = cards * end
    print(f"idle_while_runnable {idle_wait / total if total else 0:.4f}")


def overlap(path, lane):
    _, runs, reports, _, cards = parse(path)
    mine = [r for r in runs if r["lane"] == lane]
    if not mine:
        sys.exit(f"lane {lane} ran no chunk")
    slow = max(mine, key=lambda r: r["finish"] - r["begin"])
    b, e = slow["begin"], slow["finish"]
    inside = [r for r in runs if r["lane"] != lane and r["begin"] >= b and r["finish"] <= e]
    targets = [r for r in reports if r["lane"] != lane and r["kind"] == "TARGET" and b <= r["time"] <= e]
    # Once the other lanes have nothing left to run, their cards idle legitimately: measure up to then.
    horizon = min(e, max((r["finish"] for r in runs if r["lane"] != lane and r["begin"] < e), default=b))
    busy = 0.0
    for r in runs:
        if r is slow:
            continue
        lo, hi = max(b, r["begin"]), min(horizon, r["finish"])
        if hi > lo:
            busy += len(r["cards"]) * (hi - lo)
    others = (cards - len(slow["cards"])) * (horizon - b)
    print(f"chunk {b:.3f} {e:.3f} others_inside {len(inside)} targets_inside {len(targets)} "
          f"cards_busy_fraction {busy / others if others else 0:.4f}")


def cut(path):
    _, runs, reports, decisions, _ = parse(path)
    cuts = [d for d in decisions if d["kind"] == "pause" and d["reason"] == "cut"]
    if not cuts:
        sys.exit(f"{path}: no lane was cut (no 'decision pause ... reason cut')")
    bad = []
    for c in cuts:
        lane, e, step = c["lane"], c["event"], c["step"]
        if not any(r["event"] == e and r["lane"] == lane and r["kind"] == "TICK" and r["step"] == step and
                   r["checkpoint"] == step for r in reports):
            bad.append(f"lane {lane}: cut at event {e} step {step}, not at a chunk's end (no TICK with its "
                       f"checkpoint at step {step} in that event)")
        back = [d for d in decisions if d["lane"] == lane and d["event"] > e and d["kind"] == "promote" and
                d["reason"] == "resumed"]
        until = back[0]["event"] if back else float("inf")
        held = [f"chunk ending at event {r['event']}" for r in runs if r["lane"] == lane and e < r["event"] <= until]
        held += [f"{d['kind']} at event {d['event']}" for d in decisions
                 if d["lane"] == lane and e < d["event"] <= until and d["cards"]]
        if held:
            bad.append(f"lane {lane}: cut at event {e} but held cards afterwards: {', '.join(held)}")
        print(f"cut lane {lane} event {e} step {step} loss {c['loss']} resumed {1 if back else 0}")
    if bad:
        sys.exit("\n".join(bad))


def runners_up(path):
    _, runs, _, decisions, _ = parse(path)
    promoted = [d for d in decisions if d["kind"] == "promote" and d["reason"] == "runner-up"]
    if not promoted:
        sys.exit(f"{path}: no runner-up was promoted (no 'decision promote ... reason runner-up')")
    bad = []
    for p in promoted:
        lane, e, step, k = p["lane"], p["event"], p["step"], p["rung"]
        # The lane's decision before this one (in journal order) must be its pause at rung k, at step `step`.
        prior = [d for d in decisions[:decisions.index(p)] if d["lane"] == lane]
        last = prior[-1] if prior else None
        if not last or last["kind"] != "pause" or last["rung"] != k or last["step"] != step:
            bad.append(f"lane {lane}: promoted as runner-up at event {e} from rung {k} (step {step}) but its "
                       f"previous decision was " +
                       (f"{last['kind']} at rung {last['rung']} step {last['step']}" if last else "none"))
        nxt = sorted((r for r in runs if r["lane"] == lane and r["event"] > e), key=lambda r: r["begin"])
        if nxt and nxt[0]["start"] != step:
            bad.append(f"lane {lane}: promoted as runner-up at step {step} (event {e}) but its next chunk starts at "
                       f"step {nxt[0]['start']}")
        print(f"runner-up lane {lane} event {e} rung {k} step {step}")
    if bad:
        sys.exit("\n".join(bad))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "chain":
        chain(path)
    elif cmd == "states":
        states(path)
    elif cmd == "idle":
        idle(path)
    elif cmd == "overlap":
        overlap(path, int(sys.argv[3]))
    elif cmd == "cut":
        cut(path)
    elif cmd == "runners_up":
        runners_up(path)
    else:
        sys.exit(__doc__)
