#!/usr/bin/env python3
"""Layer check: every #include and every CMake target link in the source tree points down the layer order
base < kernels < comm < runtime < bench < launcher (tests/ may use any layer). Prints each violation as
`file:line: <from layer> -> <to layer>: text` and exits 1 when there is one, 0 otherwise.

Also refuses the build patterns the architecture issue removed: file(GLOB ...), include(... OPTIONAL), an
if(EXISTS ...) guard on a folder of the tree, and a CMakeLists.txt that edits (target_sources /
target_link_libraries / target_compile_definitions) a target defined in another layer's folder.

kernels/base/ is the foundation (layer "base"): it includes no other kachi folder. tests/ is not a layer.

Usage: layer_check.py [REPO_ROOT]   (default: the folder above this script)
       layer_check.py --self-test    (checks that a planted violation of each kind is found)
"""
import os
import re
import sys

LAYERS = ["base", "kernels", "comm", "runtime", "bench", "launcher"]
RANK = {name: i for i, name in enumerate(LAYERS)}
SOURCE_EXT = (".h", ".cc", ".cu", ".cuh", ".cpp", ".hpp")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Target names that carry a layer in their name: kachi_<something> defined under a layer folder.
ADD_TARGET_RE = re.compile(r'^\s*add_(?:library|executable)\(\s*([A-Za-z0-9_]+)', re.M)
EDIT_TARGET_RE = re.compile(
    r'^\s*(target_sources|target_link_libraries|target_compile_definitions|target_include_directories|'
    r'set_target_properties)\(\s*([A-Za-z0-9_]+)', re.M)
LINK_RE = re.compile(r'target_link_libraries\(\s*([A-Za-z0-9_]+)([^)]*)\)', re.S)


def layer_of(path):
    if path.startswith("kernels/base/"):
        return "base"
    top = path.split("/", 1)[0]
    return top if top in RANK else None


def walk(root, exts=None, names=None):
    for d, subdirs, files in os.walk(root):
        subdirs[:] = [s for s in subdirs if not s.startswith(".") and not s.startswith("build")]
        for f in files:
            if (exts and f.endswith(exts)) or (names and (f in names or f.endswith(".cmake"))):
                full = os.path.join(d, f)
                yield os.path.relpath(full, root).replace(os.sep, "/")


def check_includes(root, problems):
    for rel in walk(root, exts=SOURCE_EXT):
        src = layer_of(rel)
        if src is None:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                dst = layer_of(m.group(1))
                if dst is not None and RANK[dst] > RANK[src]:
                    problems.append(f"{rel}:{n}: {src} -> {dst}: {line.strip()}")


def check_cmake(root, problems):
    cmake_files = list(walk(root, names={"CMakeLists.txt"}))
    defined = {}  # target -> layer folder that defines it
    texts = {}
    for rel in cmake_files:
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            texts[rel] = fh.read()
        for m in ADD_TARGET_RE.finditer(texts[rel]):
            defined[m.group(1)] = layer_of(rel)
    for rel, text in texts.items():
        src = layer_of(rel)
        if src is None and rel != "CMakeLists.txt":
            continue  # tests/ and scripts/ are not layers
        code = re.sub(r'#[^\n]*', '', text)

        def where(pos):
            return f"{rel}:{code.count(chr(10), 0, pos) + 1}"

        for m in re.finditer(r'file\(\s*GLOB', code):
            problems.append(f"{where(m.start())}: file(GLOB) finds sources by pattern; list them")
        for m in re.finditer(r'include\([^)]*\bOPTIONAL\b', code):
            problems.append(f"{where(m.start())}: include(OPTIONAL) guards a file that is part of the tree")
        for m in re.finditer(r'if\(\s*(?:NOT\s+)?EXISTS\s+\$\{(?:CMAKE_CURRENT_SOURCE_DIR|PROJECT_SOURCE_DIR|'
                             r'CMAKE_CURRENT_LIST_DIR)\}', code):
            problems.append(f"{where(m.start())}: if(EXISTS) guards a path that is part of the tree")
        if src is None:
            continue
        for m in EDIT_TARGET_RE.finditer(code):
            owner = defined.get(m.group(2))
            if owner is not None and owner != src:
                problems.append(f"{where(m.start())}: {m.group(1)}({m.group(2)}) edits a target of {owner}/")
        for m in LINK_RE.finditer(code):
            for dep in re.findall(r'[A-Za-z0-9_]+', m.group(2)):
                dst = defined.get(dep)
                if dst is not None and RANK[dst] > RANK[src]:
                    problems.append(f"{where(m.start())}: {src} -> {dst}: {m.group(1)} links {dep}")
        for m in re.finditer(r'(?:PROJECT_SOURCE_DIR\}|CMAKE_CURRENT_LIST_DIR\}/\.\.)/([a-z]+)/', code):
            dst = m.group(1)
            if dst in RANK and dst != src:
                problems.append(f"{where(m.start())}: {src} builds sources of {dst}/")


def self_test():
    """Plants one violation of each kind in a scratch tree and checks that each is reported (and nothing else)."""
    import tempfile
    files = {
        "kernels/base/dtype.h": '#include "kernels/matmul.h"\n',            # base -> kernels
        "comm/a.cc": '#include "runtime/model/gpt_model.h"\n#include "kernels/base/dtype.h"\n',  # comm -> runtime
        "bench/b.cc": '#include "launcher/flags.h"\n#include "comm/a.h"\n',   # bench -> launcher
        "kernels/CMakeLists.txt": "add_library(kachi_kernels k.cc)\ninclude(fam.cmake OPTIONAL)\n",
        "comm/CMakeLists.txt": "add_library(kachi_comm a.cc)\ntarget_link_libraries(kachi_comm PUBLIC kachi_bench)\n",
        "bench/CMakeLists.txt": ("add_library(kachi_bench b.cc)\ntarget_link_libraries(kachi_bench PUBLIC kachi_comm)\n"
                                 "target_sources(kachi PRIVATE x.cc)\n"),
        "launcher/CMakeLists.txt": ("file(GLOB X ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)\nadd_executable(kachi m.cc)\n"
                                    "if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/lanes)\nendif()\n"),
    }
    expected = ["base -> kernels", "comm -> runtime", "bench -> launcher", "include(OPTIONAL)",
                "comm -> bench: kachi_comm links kachi_bench", "target_sources(kachi) edits a target of launcher/",
                "file(GLOB)", "if(EXISTS)"]
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as fh:
                fh.write(text)
        problems = []
        check_includes(root, problems)
        check_cmake(root, problems)
    missing = [e for e in expected if not any(e in p for p in problems)]
    extra = [p for p in problems if not any(e in p for e in expected)]
    for m in missing:
        print(f"self-test: not found: {m}")
    for x in extra:
        print(f"self-test: unexpected: {x}")
    print(f"layer_check self-test: {len(expected) - len(missing)}/{len(expected)} planted violations found, "
          f"{len(extra)} unexpected")
    return 1 if missing or extra else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = []
    check_includes(root, problems)
    check_cmake(root, problems)
    for p in problems:
        print(p)
    print(f"layer_check: {len(problems)} violation(s) ({' < '.join(LAYERS)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
