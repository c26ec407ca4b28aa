#!/usr/bin/env python3
"""Checks that `ctest -L gpu` selects exactly the tests that need a GPU.

A test needs a GPU when a source of its gtest binary (or a tests/ header that source includes) calls
KACHI_SKIP_WITHOUT_GPU / KACHI_SKIP_WITHOUT_GPUS, or when a shell script it runs calls kachi_skip_without_gpu (tests/gpu_skip.sh). Sources
come from the Ninja build file (which objects each executable links, which source each object compiles), labels from
`ctest --show-only=json-v1`. Rules: needs a GPU <=> label `gpu`; `multigpu` only beside `gpu`; no other label contains
"gpu"; every `gpu` test has SKIP_RETURN_CODE 77; every built test source that uses the macro runs in some registered test.
In a CPU-only build (CMakeCache: KACHI_WITH_CUDA OFF) a macro inside `#ifdef KACHI_WITH_CUDA` is not compiled and
does not count.

Usage: gpu_label_audit.py BUILD_DIR SOURCE_DIR     (Ninja builds only; exit 77 for others)
       gpu_label_audit.py --self-test              (the rules on canned tests: each must catch its planted error)
"""
import json
import os
import re
import subprocess
import sys

MACRO = re.compile(r"\bKACHI_SKIP_WITHOUT_GPUS?\(")
SHELL_CALL = re.compile(r"^\s*kachi_skip_without_gpu(\s|$)", re.M)  # a call at a line start, from gpu_skip.sh
# Files that define the macro rather than use it.
DEFINERS = {"tests/test_util.h", "tests/gpu_skip.h"}
# `#ifdef KACHI_WITH_CUDA` / `#if defined(KACHI_WITH_CUDA)` (alone or with &&): false in a CPU-only build; and
# `#ifndef KACHI_WITH_CUDA` / `#if !defined(KACHI_WITH_CUDA)` (alone): true there, so its #else part is left out.
CUDA_IF = re.compile(r"^\s*#\s*(ifdef\s+KACHI_WITH_CUDA\b|if\s+defined\s*\(?\s*KACHI_WITH_CUDA\b(?!.*\|\|))")
CUDA_IFNOT = re.compile(r"^\s*#\s*(ifndef\s+KACHI_WITH_CUDA\b|if\s+!\s*defined\s*\(?\s*KACHI_WITH_CUDA\s*\)?\s*(//.*)?$)")
# Whether the audited build compiles CUDA (main sets it from CMakeCache.txt); False drops the blocks CUDA_IF opens.
CUDA_BUILD = True


def without_cuda_blocks(text):
    """text without the lines a CPU-only build leaves out: those under CUDA_IF up to its #else / #elif / #endif, and
    the #else part of CUDA_IFNOT."""
    kept, stack = [], []  # stack: per open #if, [lines left out now?, flips at #else?]
    for line in text.splitlines(keepends=True):
        directive = re.match(r"\s*#\s*(\w+)", line)
        word = directive.group(1) if directive else ""
        if word in ("if", "ifdef", "ifndef"):
            cuda, not_cuda = bool(CUDA_IF.match(line)), bool(CUDA_IFNOT.match(line))
            stack.append([cuda, cuda or not_cuda])
        elif word in ("else", "elif") and stack:
            if stack[-1][1]:
                stack[-1][0] = not stack[-1][0]
        elif word == "endif" and stack:
            stack.pop()
        elif not any(left_out for left_out, _ in stack):
            kept.append(line)
    return "".join(kept)


def ctest_tests(build):
    """[(name, command list, labels list, SKIP_RETURN_CODE or None)] of every registered test."""
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, check=True, capture_output=True, text=True)
    tests = []
    for t in json.loads(out.stdout)["tests"]:
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        tests.append((t["name"], t.get("command", []), props.get("LABELS", []), props.get("SKIP_RETURN_CODE")))
    return tests


def ninja_sources(build):
    """{absolute executable path: [absolute source paths]} from build.ninja."""
    obj_src, exe_objs = {}, {}
    with open(os.path.join(build, "build.ninja")) as f:
        for line in f:
            m = re.match(r"build (\S+): (\w+) (.*)", line)
            if not m:
                continue
            out, rule, rest = m.groups()
            inputs = rest.split(" | ")[0].split(" || ")[0].split()
            if "_COMPILER__" in rule and inputs:
                obj_src[out] = inputs[0]
            elif "_EXECUTABLE_LINKER__" in rule:
                exe_objs[os.path.join(build, out)] = inputs
    return {exe: [obj_src[o] for o in objs if o in obj_src] for exe, objs in exe_objs.items()}


def uses_macro(path, source_dir, seen=None):
    """True when `path` (or a tests/ header it includes, transitively) calls the GPU skip macro."""
    seen = set() if seen is None else seen
    rel = os.path.relpath(path, source_dir)
    if rel in seen or not os.path.exists(path):
        return False
    seen.add(rel)
    text = open(path, errors="replace").read()
    if not CUDA_BUILD:
        text = without_cuda_blocks(text)
    if rel not in DEFINERS and MACRO.search(text):
        return True
    for inc in re.findall(r'#include "(tests/[^"]+)"', text):
        if uses_macro(os.path.join(source_dir, inc), source_dir, seen):
            return True
    return False


def needs_gpu(command, exe_sources, source_dir):
    """(needs a GPU?, why) for one test command line."""
    for arg in command:
        if arg in exe_sources:
            for src in exe_sources[arg]:
                if uses_macro(src, source_dir):
                    return True, os.path.relpath(src, source_dir) + " uses KACHI_SKIP_WITHOUT_GPU"
        elif arg.endswith(".sh") and os.path.exists(arg) and SHELL_CALL.search(open(arg, errors="replace").read()):
            return True, os.path.relpath(arg, source_dir) + " calls kachi_skip_without_gpu (gpu_skip.sh)"
    return False, ""


def audit(tests, verdicts, macro_sources, run_exes, exe_sources):
    """Problems found. tests: [(name, command, labels, skip code)]; verdicts: {name: (needs, why)}; macro_sources: built test
    sources using the macro; run_exes: executables some test runs."""
    problems = []
    for name, _, labels, skip_code in tests:
        need, why = verdicts[name]
        has = "gpu" in labels
        if has and skip_code != 77:
            problems.append(f"{name}: labelled `gpu` without SKIP_RETURN_CODE 77 (its skip would read Passed or Failed)")
        if need and not has:
            problems.append(f"{name}: needs a GPU ({why}) but has no `gpu` label (labels: {', '.join(labels)})")
        if has and not need:
            problems.append(f"{name}: labelled `gpu` but nothing in it needs a GPU (no KACHI_SKIP_WITHOUT_GPU, no "
                            f"kachi_skip_without_gpu)")
        for label in labels:
            if "gpu" in label and label not in ("gpu", "multigpu"):
                problems.append(f"{name}: label `{label}` contains 'gpu' (only `gpu` and `multigpu` may)")
        if "multigpu" in labels and not has:
            problems.append(f"{name}: `multigpu` without `gpu`")
    for src in sorted(macro_sources):
        if not any(src in exe_sources.get(exe, []) for exe in run_exes):
            problems.append(f"{src}: uses KACHI_SKIP_WITHOUT_GPU but no registered test runs its binary")
    return problems


def self_test():
    """Each planted error is caught, and a correct set passes."""
    exe_sources = {"/b/ok": ["/s/a.cc"], "/b/cpu": ["/s/c.cc"], "/b/orphan": ["/s/o.cc"]}
    good = [("a", ["/b/ok"], ["unit", "gpu"], 77), ("c", ["/b/cpu"], ["unit"], 77)]
    verdicts = {"a": (True, "a.cc"), "c": (False, ""), "x": (True, "x.cc")}
    cases = {
        "correct": (good, set(), 0),
        "missing label": ([("x", ["/b/ok"], ["unit"], 77)], set(), 1),
        "label without need": ([("c", ["/b/cpu"], ["unit", "gpu"], 77)], set(), 1),
        "stray gpu label": ([("a", ["/b/ok"], ["gpu", "gpu_slow"], 77)], set(), 1),
        "multigpu alone": ([("c", ["/b/cpu"], ["multigpu"], 77)], set(), 1),
        "no skip code": ([("a", ["/b/ok"], ["gpu"], None)], set(), 1),
        "unregistered source": (good, {"/s/o.cc"}, 1),
    }
    failed = 0
    code = ("#ifdef KACHI_WITH_CUDA\nA();\n#if X\nB();\n#endif\n#else\nC();\n#endif\n"
            "#if defined(KACHI_WITH_CUDA) || Y\nD();\n#endif\n#ifndef KACHI_WITH_CUDA  // why\nE();\n#else\nF();\n"
            "#endif\n#if !defined(KACHI_WITH_CUDA)\nG();\n#else\nH();\n#endif\n")
    got = without_cuda_blocks(code)
    ok = got == "C();\nD();\nE();\nG();\n"
    failed += not ok
    print(f"self-test CPU-only build drops #ifdef KACHI_WITH_CUDA blocks: {'ok' if ok else 'WRONG: ' + repr(got)}")
    for what, (tests, macro_sources, want) in cases.items():
        run_exes = {a for _, cmd, _, _ in tests for a in cmd}
        got = audit(tests, verdicts, macro_sources, run_exes, exe_sources)
        ok = len(got) == want
        failed += not ok
        print(f"self-test {what}: {len(got)} problem(s), expected {want}: {'ok' if ok else 'WRONG'}")
        for p in got:
            print("   ", p)
    return failed


def main(argv):
    if argv[1:] == ["--self-test"]:
        return 1 if self_test() else 0
    if len(argv) != 3:
        print(__doc__)
        return 2
    build, source_dir = (os.path.abspath(a) for a in argv[1:])
    if not os.path.exists(os.path.join(build, "build.ninja")):
        print(f"SKIPPED: {build} is not a Ninja build (no build.ninja), and the audit reads Ninja's file")
        return 77
    global CUDA_BUILD
    with open(os.path.join(build, "CMakeCache.txt"), errors="replace") as f:
        CUDA_BUILD = "KACHI_WITH_CUDA:BOOL=ON" in f.read()
    tests = ctest_tests(build)
    exe_sources = ninja_sources(build)
    verdicts = {name: needs_gpu(cmd, exe_sources, source_dir) for name, cmd, _, _ in tests}
    test_dir = os.path.join(source_dir, "tests") + os.sep
    macro_sources = {s for srcs in exe_sources.values() for s in srcs
                     if s.startswith(test_dir) and uses_macro(s, source_dir)}
    run_exes = {a for _, cmd, _, _ in tests for a in cmd if a in exe_sources}
    problems = audit(tests, verdicts, macro_sources, run_exes, exe_sources)
    gpu = sorted(name for name, _, labels, _ in tests if "gpu" in labels)
    print(f"{len(tests)} tests, {len(gpu)} labelled gpu:")
    for name in gpu:
        print(f"  {name}: {verdicts[name][1]}")
    for p in problems:
        print("FAIL:", p)
    if not problems:
        print("PASS: `ctest -L gpu` selects exactly the tests that need a GPU")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
