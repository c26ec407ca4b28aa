#!/usr/bin/env python3
"""`kachi --help` covers every subcommand main.cc dispatches (issue 16 item 5).

The subcommand names come from the dispatch table itself (kSubcommands in launcher/main.cc, parsed from the source),
so a command added there without help makes this test fail: each name must appear in --help as a subcommand line
("  NAME  summary") followed by at least one usage form ("      ... kachi NAME ..."). Exit 0 = pass, 1 = fail.

Usage: help_test.py KACHI_BINARY MAIN_CC
       help_test.py --self-test   (the checker on canned help texts: each planted error must be caught)
"""
import re
import subprocess
import sys


def dispatched_names(main_cc_text):
    """Names of the entries of kSubcommands[] in main.cc's source, in order."""
    start = main_cc_text.index("kSubcommands[] = {")
    end = main_cc_text.index("\n};", start)
    return re.findall(r'^\s*\{"([a-z_]+)",', main_cc_text[start:end], re.M)


def problems(names, help_text):
    """What is missing from help_text for the subcommands `names` (empty list: all covered)."""
    found = []
    lines = help_text.splitlines()
    try:
        first = lines.index("subcommands:") + 1
    except ValueError:
        return ["no 'subcommands:' section"]
    blocks = {}  # name -> usage form lines under it
    current = None
    for line in lines[first:]:
        if not line.strip():
            break
        head = re.match(r"^  ([a-z_]+)\s+\S", line)
        if head:
            current = head.group(1)
            blocks[current] = []
        elif current is not None and line.startswith("      "):
            blocks[current].append(line.strip())
    if not names:
        found.append("no subcommand found in the dispatch table")
    for name in names:
        if name not in blocks:
            found.append(f"subcommand '{name}' is dispatched but not listed by --help")
            continue
        if not any(re.search(rf"(^|\s)kachi {name}(\s|$)", form) for form in blocks[name]):
            found.append(f"subcommand '{name}' has no usage form ('kachi {name} ...') in --help")
    return found


def self_test():
    good = "usage: kachi\n\nsubcommands:\n  train     trains\n      mpirun -np N kachi train CONFIG\n\ncommon flags:\n"
    cases = [
        (["train"], good, 0),
        (["train", "eval"], good, 1),  # dispatched, not listed
        (["train"], good.replace("kachi train", "kachi trai"), 1),  # listed without a form
        ([], good, 1),  # empty dispatch table parse
        (["train"], "usage: kachi\n", 1),  # no section
    ]
    for names, text, want in cases:
        if len(problems(names, text)) != want:
            print(f"self-test FAILED on {names}: {problems(names, text)}")
            return 1
    table = ('constexpr Subcommand kSubcommands[] = {\n    {"a", "x", A},\n#ifdef X\n    {"b_c", "y",\n     B},\n'
             '#endif\n};\n')
    if dispatched_names(table) != ["a", "b_c"]:
        print("self-test FAILED: dispatch table parse", dispatched_names(table))
        return 1
    print("self-test passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if self_test() != 0:
        return 1
    kachi, main_cc = sys.argv[1], sys.argv[2]
    names = dispatched_names(open(main_cc).read())
    result = subprocess.run([kachi, "--help"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        print(f"kachi --help exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return 1
    found = problems(names, result.stdout)
    print(f"dispatched subcommands: {', '.join(names)}")
    for p in found:
        print("FAIL:", p)
    if found:
        print(result.stdout)
        return 1
    print("every dispatched subcommand is listed with a usage form")
    return 0


if __name__ == "__main__":
    sys.exit(main())
