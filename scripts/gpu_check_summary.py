#!/usr/bin/env python3
"""One-page SUMMARY.md of a scripts/gpu_check.sh call, from the logs it left in OUT.

Each check gets PASS / FAIL / NOT RUN, and each figure stands beside its peer or goal (issue 12): kachi / torch.compile
tokens/s >= 1.15x with peak memory <= torch's; flash attention fwd+bwd >= 1.0x SDPA; each memory-bound kernel >= 80%
of the measured copy bandwidth; checkpoint save >= 0.70x dd; async stall <= 10% of a step.

Never a silent pass: a phase that failed, was cut by the time budget or was not reached (an earlier configure or build
failed), a figure missing from its log, and a GPU test that skipped although gpu_check.sh sets KACHI_REQUIRE_GPU=1
are each a FAIL. The one exception: a test that needs more GPUs than the machine has (MULTI_GPU_TESTS; the count
comes from env.log's `gpus=N` line) is reported NOT RUN, named, never PASS.

Usage: gpu_check_summary.py OUT [CALL]   (prints Markdown; CALL is call1 or call2: its phases are expected; exit 1
                                          when a check FAILs)
"""
import os
import re
import sys

# The phases of each gpu_check.sh call, in order (phases_call1 / phases_call2 there).
CALL_PHASES = {
    "call1": ["env", "configure", "build", "reference", "ctest_gpu", "bench_kernels"],
    "call2": ["env", "configure", "build", "bench_train", "bench_ckpt", "lanes_gpu", "train_1558m_recompute"],
}

# GPU tests that need more than one GPU: one GPU per rank (tests/launcher/bootstrap_test.cc,
# KACHI_SKIP_WITHOUT_GPUS(MpiSize())). On a machine with fewer they skip even under KACHI_REQUIRE_GPU=1.
MULTI_GPU_TESTS = {"launcher_bootstrap_test_np2": 2, "launcher_bootstrap_test_np4": 4}


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


def check_ctest(text, rows, gpus):
    """Every selected GPU test must pass: a skip under KACHI_REQUIRE_GPU=1 is a FAIL, except a test needing more
    GPUs than the machine's `gpus` (NOT RUN, its own row)."""
    title = "`KACHI_REQUIRE_GPU=1 ctest -L gpu`"
    results = ctest_results(text)
    if not results:
        rows.append((title, "FAIL", "no test results in ctest_gpu.log", ""))
        return
    total = re.search(r"tests (?:passed|failed), \d+ tests failed out of (\d+)", text or "")
    not_run = sorted(t for t, r in results.items() if r == "Skipped" and MULTI_GPU_TESTS.get(t, 0) > gpus)
    passed = sorted(t for t, r in results.items() if r == "Passed")
    bad = sorted(t for t in results if t not in passed and t not in not_run)
    figure = f"{len(passed)} passed, {len(bad)} failed or skipped of {len(results)}"
    notes = ["failed: " + ", ".join(f"{t} ({results[t]})" for t in bad)] if bad else []
    if total is None:
        bad.append("(ctest did not finish)")
        notes.append("no 'out of N' line: ctest did not finish (time limit?)")
    elif int(total.group(1)) != len(results):
        bad.append("(missing results)")
        notes.append(f"ctest ran {total.group(1)} tests, {len(results)} results read")
    rows.append((title, verdict(not bad), figure, "; ".join(notes) or "goal: every GPU test passes"))
    if not_run:
        rows.append(("GPU tests needing more GPUs than here", "NOT RUN", ", ".join(not_run),
                     f"{gpus} GPU(s) here; " + ", ".join(f"{t} needs {MULTI_GPU_TESTS[t]}" for t in not_run)))


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
    if re.search(r"kachi lanes: done after .*chosen lane \(none finished\)", text or ""):
        rows.append(("lanes on the GPU (configs/lanes_gpu.pbtxt)", "FAIL", "no lane finished",
                     "see lanes_gpu.log (every lane stopped)"))
        return
    m = re.search(r"kachi lanes: done after (\d+) events in ([\d.]+) s; chosen lane (\S+).*?card utilization ([\d.]+)%",
                  text or "")
    if m:
        util = float(m.group(4))
        rows.append(("lanes on the GPU (configs/lanes_gpu.pbtxt)", verdict(util >= 90.0),
                     f"{m.group(1)} events in {m.group(2)} s, lane {m.group(3)}, utilization {util:.1f}%",
                     "goal >= 90% (as on CPU)"))
    else:
        rows.append(("lanes on the GPU", "FAIL", "no 'kachi lanes: done' line in lanes_gpu.log", ""))


def gpu_count(env):
    m = re.search(r"^gpus=(\d+)", env, re.M)
    return int(m.group(1)) if m else 0


def summarize(out, call):
    """(Markdown text, number of FAIL rows)."""
    ph = phases(out)
    env = read(out, "env.log") or ""
    rows = []
    expected = CALL_PHASES.get(call, [])
    for name in expected + [n for n in ph if n not in expected]:
        if name not in ph:
            rows.append((f"phase {name}", "FAIL", "not reached", "an earlier phase failed or the call stopped"))
            continue
        code, seconds = ph[name]
        if code == "skipped":
            rows.append((f"phase {name}", "FAIL", "cut by the time budget", "its figures are missing"))
        else:
            rows.append((f"phase {name}", verdict(code == "0"), f"exit {code}, {seconds} s", ""))
    if "env" in ph and ph["env"][0] != "skipped":
        gpus = gpu_count(env)
        rows.append(("GPU visible to the check", verdict(gpus >= 1), f"{gpus} GPU(s)", "goal: the lent GPU (nvidia-smi -L)"))
    ran = {name for name, (code, _) in ph.items() if code != "skipped"}
    logs = {name: read(out, name + ".log") for name in ph}
    if "ctest_gpu" in ran:
        check_ctest(logs["ctest_gpu"], rows, gpu_count(env))
    if "reference" in ran:
        check_reference(logs["reference"], rows)
    if "bench_kernels" in ran:
        check_kernels(logs["bench_kernels"] or "", rows)
    if "bench_train" in ran:
        check_train(logs["bench_train"], rows, "`kachi bench train` GPT-2 124M bf16 B=32 T=1024", 1.15)
    if "bench_ckpt" in ran:
        check_ckpt(logs["bench_ckpt"], rows)
    if "lanes_gpu" in ran:
        check_lanes(logs["lanes_gpu"], rows)
    if "train_1558m_recompute" in ran:
        check_train(logs["train_1558m_recompute"], rows, "GPT-2 1.5B, activation recompute, B=16", None)

    gpu = next((l for l in env.splitlines() if l.startswith("gpu: ") and l[5:].strip()), None) or next(
        (l for l in env.splitlines() if "H100" in l or "H200" in l), "gpu: not recorded")
    date = env.splitlines()[0] if env else "date not recorded"
    failed = sum(r[1] == "FAIL" for r in rows)
    not_run = sum(r[1] == "NOT RUN" for r in rows)
    if not rows:
        failed, state = 1, "FAIL: nothing ran (no phases.tsv)"
    else:
        state = "all checks pass" if failed == 0 else f"{failed} check(s) FAIL"
        if not_run:
            state += f", {not_run} NOT RUN (need more GPUs)"
    lines = [f"# GPU check {call}: {state}", "",
             f"{date}; {gpu.strip()}", "",
             "| check | result | figure | peer / goal |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    ratio = next((r[2] for r in rows if r[0] == "kachi / torch compile (tokens/s)"), None)
    if ratio:  # the line issue 12 asks bench/RESULTS.md to carry, with the date and device above
        lines += ["", f"For bench/RESULTS.md: `kachi / torch compile: {ratio} tokens/s` ({date.strip()}; {gpu.strip()})"]
    lines += ["", "Logs beside this file: <phase>.log; phases.tsv has each phase's exit code and seconds."]
    return "\n".join(lines) + "\n", failed


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    text, failed = summarize(argv[1], argv[2] if len(argv) == 3 else "")
    sys.stdout.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
