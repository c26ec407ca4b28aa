#!/usr/bin/env python3
"""One-page SUMMARY.md of a scripts/gpu_check.sh call, from the logs it left in OUT.

Each check gets PASS / FAIL / NOT RUN, and each figure stands beside its peer or goal (issue 12): kachi / torch.compile
tokens/s >= 1.15x with peak memory <= torch's; flash attention fwd+bwd >= 1.0x SDPA; each memory-bound kernel >= 80%
of the measured copy bandwidth; checkpoint save >= 0.70x dd; async stall <= 10% of a step.

Usage: gpu_check_summary.py OUT [CALL]      (prints Markdown; CALL is call1 or call2, for the title)
"""
import os
import re
import sys


def read(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        return f.read()


def phases(out):
    """{phase: (exit code string, seconds)} from phases.tsv."""
    result = {}
    for line in (read(out, "phases.tsv") or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            result[parts[0]] = (parts[1], parts[2])
    return result


def verdict(ok):
    return "PASS" if ok else "FAIL"


def machine_lines(text, prefix):
    """[{key: value}] of the `prefix key=value ...` lines in text."""
    rows = []
    for line in (text or "").splitlines():
        if line.startswith(prefix + " "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv))
    return rows


def ctest_results(text):
    """{test: Passed|Skipped|Failed|Timeout|...} from ctest's progress lines."""
    pattern = re.compile(r"Test +#\d+: (\S+) [ .]*\**(Passed|Skipped|Failed|Timeout|Exception|Not Run)")
    return {m.group(1): m.group(2) for m in pattern.finditer(text or "")}


def check_ctest(text, rows):
    results = ctest_results(text)
    if not results:
        rows.append(("`KACHI_REQUIRE_GPU=1 ctest -L gpu`", "FAIL", "no test results in ctest_gpu.log", ""))
        return
    bad = sorted(t for t, r in results.items() if r not in ("Passed", "Skipped"))
    skipped = sorted(t for t, r in results.items() if r == "Skipped")
    passed = len(results) - len(bad) - len(skipped)
    figure = f"{passed} passed, {len(skipped)} skipped, {len(bad)} failed of {len(results)}"
    note = "skipped (need more GPUs than here): " + ", ".join(skipped) if skipped else ""
    rows.append(("`KACHI_REQUIRE_GPU=1 ctest -L gpu`", verdict(not bad), figure,
                 ("failed: " + ", ".join(bad) + ("; " if note else "") if bad else "") + note))


def check_reference(text, rows):
    refs = machine_lines(text, "kachi_reference")
    for r in refs:
        diff = float(r.get("max_abs_diff", "nan"))
        rows.append((f"torch reference {r.get('name', '?')}", verdict(diff <= 1e-4),
                     f"max abs diff {diff:g} vs committed", "goal <= 1e-4 (float32, another machine)"))
    if not refs:
        rows.append(("torch reference regeneration", "FAIL", "no comparison line in reference.log", ""))


def check_kernels(text, rows):
    m = re.search(r"# ceilings: copy ([\d.]+) GB/s.*?bf16 GEMM ([\d.]+) TFLOP/s", text or "")
    if not m:
        rows.append(("`kachi bench kernels`", "FAIL", "no ceilings line in bench_kernels.log", ""))
        return
    copy, gemm = float(m.group(1)), float(m.group(2))
    rows.append(("ceilings (measured)", "PASS", f"copy {copy:.0f} GB/s, bf16 GEMM {gemm:.0f} TFLOP/s",
                 "H200 leads: ~4300 GB/s, ~790 TFLOP/s (KINDS.md)"))
    # Memory-bound table rows (after "# cuda_memory kernels", up to the next "# " line):
    # kernel shape MB median_us GB/s %copy note
    row = re.compile(r"^(\S+)\s+(.*?)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+([\d.]+)%\s*(.*)$")
    slow = []
    count = 0
    in_memory = False
    for line in text.splitlines():
        if line.startswith("# "):
            in_memory = line.startswith("# cuda_memory kernels")
            continue
        r = row.match(line) if in_memory else None
        if r:
            count += 1
            share = float(r.group(4))
            if share < 80.0:
                slow.append(f"{r.group(1)} {r.group(2)} {share:.0f}%" + (f" ({r.group(5).strip()})" if r.group(5).strip()
                                                                          else ""))
    if count:
        rows.append(("memory-bound kernels", verdict(not slow), f"{count - len(slow)} of {count} >= 80% of copy",
                     "below: " + "; ".join(slow) if slow else "goal >= 80% of copy each"))
    fb = re.search(r"^forward\+backward\s+([\d.]+)\s+([\d.]+)\s+[\d.]+%\s+([\d.]+)\s+([\d.]+)x", text, re.M)
    if fb:
        ratio = float(fb.group(4))
        rows.append(("flash attention fwd+bwd (B=32 H=12 T=1024 D=64)", verdict(ratio >= 1.0),
                     f"kachi {fb.group(1)} ms vs SDPA {fb.group(3)} ms: {ratio:.2f}x", "goal >= 1.00x SDPA flash"))
    else:
        rows.append(("flash attention fwd+bwd vs SDPA", "FAIL", "no forward+backward row with SDPA", ""))


def check_train(text, rows, title, goal_ratio):
    lines = machine_lines(text, "kachi_bench_train")
    kachi = next((r for r in lines if r.get("runner") == "kachi"), None)
    if kachi is None:
        rows.append((title, "FAIL", "no kachi result line", ""))
        return
    tps = float(kachi["tokens_per_s"])
    mem = int(kachi.get("peak_mem_bytes", "-1"))
    figure = f"kachi {tps:,.0f} tokens/s, peak {mem / 2**30:.1f} GiB" if mem > 0 else f"kachi {tps:,.0f} tokens/s"
    if goal_ratio is None:
        rows.append((title, "PASS", figure + f", loss {kachi['first_loss']} -> {kachi['last_loss']}", "no peer"))
        return
    peers = {r["runner"]: r for r in lines if r.get("runner", "").startswith("torch")}
    compile_ = peers.get("torch_compile")
    eager = peers.get("torch_eager")
    if eager:
        rows.append(("kachi / torch eager (tokens/s)", "INFO", f"{tps / float(eager['tokens_per_s']):.2f}x",
                     f"torch eager {float(eager['tokens_per_s']):,.0f} tokens/s"))
    if not compile_:
        rows.append((title, "FAIL", figure, "no torch.compile result (see bench_train.log)"))
        return
    ratio = tps / float(compile_["tokens_per_s"])
    tmem = int(compile_.get("peak_mem_bytes", "-1"))
    mem_ok = mem > 0 and tmem > 0 and mem <= tmem
    rows.append(("kachi / torch compile (tokens/s)", verdict(ratio >= goal_ratio), f"{ratio:.2f}x",
                 f"goal >= {goal_ratio:.2f}x; torch.compile {float(compile_['tokens_per_s']):,.0f} tokens/s"))
    rows.append(("peak memory kachi / torch compile", verdict(mem_ok),
                 f"{mem / tmem:.2f}x" if mem > 0 and tmem > 0 else "not measured",
                 f"goal <= 1.00x; kachi {mem / 2**30:.1f} GiB, torch {tmem / 2**30:.1f} GiB" if tmem > 0 else ""))


def check_ckpt(text, rows):
    save = re.search(r"save / dd throughput: ([\d.]+)", text or "")
    stall = re.search(r"median stall ([\d.]+) ms = ([\d.]+)% of a step", text or "")
    if save:
        rows.append(("checkpoint save / dd (same bytes)", verdict(float(save.group(1)) >= 0.70), f"{save.group(1)}x",
                     "goal >= 0.70x"))
    else:
        rows.append(("checkpoint save / dd", "FAIL", "no save / dd line in bench_ckpt.log", ""))
    if stall:
        rows.append(("async save stall", verdict(float(stall.group(2)) <= 10.0),
                     f"{stall.group(1)} ms = {stall.group(2)}% of a step", "goal <= 10%"))
    else:
        rows.append(("async save stall", "FAIL", "no stall line in bench_ckpt.log", ""))


def check_lanes(text, rows):
    m = re.search(r"kachi lanes: done after (\d+) events in ([\d.]+) s; chosen lane (\S+).*?card utilization ([\d.]+)%",
                  text or "")
    if m:
        util = float(m.group(4))
        rows.append(("lanes on the GPU (configs/lanes_gpu.pbtxt)", verdict(util >= 90.0),
                     f"{m.group(1)} events in {m.group(2)} s, lane {m.group(3)}, utilization {util:.1f}%",
                     "goal >= 90% (as on CPU)"))
    else:
        rows.append(("lanes on the GPU", "FAIL", "no 'kachi lanes: done' line in lanes_gpu.log", ""))


def summarize(out, call):
    ph = phases(out)
    rows = []
    for name, (code, seconds) in ph.items():
        rows.append((f"phase {name}", "PASS" if code == "0" else ("NOT RUN" if code == "skipped" else "FAIL"),
                     f"exit {code}, {seconds} s", ""))
    logs = {name: read(out, name + ".log") for name in ph}
    if "ctest_gpu" in ph and ph["ctest_gpu"][0] != "skipped":
        check_ctest(logs["ctest_gpu"], rows)
    if "reference" in ph and ph["reference"][0] != "skipped":
        check_reference(logs["reference"], rows)
    if "bench_kernels" in ph and ph["bench_kernels"][0] != "skipped":
        check_kernels(logs["bench_kernels"] or "", rows)
    if "bench_train" in ph and ph["bench_train"][0] != "skipped":
        check_train(logs["bench_train"], rows, "`kachi bench train` GPT-2 124M bf16 B=32 T=1024", 1.15)
    if "bench_ckpt" in ph and ph["bench_ckpt"][0] != "skipped":
        check_ckpt(logs["bench_ckpt"], rows)
    if "lanes_gpu" in ph and ph["lanes_gpu"][0] != "skipped":
        check_lanes(logs["lanes_gpu"], rows)
    if "train_1558m_recompute" in ph and ph["train_1558m_recompute"][0] != "skipped":
        check_train(logs["train_1558m_recompute"], rows, "GPT-2 1.5B, activation recompute, B=16", None)

    env = read(out, "env.log") or ""
    gpu = next((l for l in env.splitlines() if "H100" in l or "H200" in l or "NVIDIA" in l), "GPU: not recorded")
    date = env.splitlines()[0] if env else "date not recorded"
    failed = sum(r[1] == "FAIL" for r in rows)
    state = "nothing ran" if not rows else "all checks pass" if failed == 0 else f"{failed} check(s) FAIL"
    lines = [f"# GPU check {call}: {state}", "",
             f"{date}; {gpu.strip()}", "",
             "| check | result | figure | peer / goal |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "Logs beside this file: <phase>.log; phases.tsv has each phase's exit code and seconds."]
    return "\n".join(lines) + "\n", failed


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    text, _ = summarize(argv[1], argv[2] if len(argv) == 3 else "")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
