"""
Source lines of clang-built guests. clang emits no .debug_aranges, the table through which
elfutils' libdwfl (0.188) finds the compile unit of an address; the tool then finds the unit by
the unit's own ranges (tool/dwarf-index.c) and reads its line table and scopes.

The guest is tests/guests/c/names.c built -O2 -g with clang-19, for x86_64 and aarch64 (clang
links it against the cross sysroot of aarch64-linux-gnu-gcc). For a text of N bytes on
standard input, the NAMES-CALL line of main's loop and the NAMES-SPACE line (classify's first
test, inlined into main at NAMES-CALL) run once per byte: each of their instructions is
executed N times. So report --by line has both lines in main with N executions per
instruction, annotate lists each of their instructions executed N times under the line's
source text, and with --inline the NAMES-SPACE line belongs to classify inlined into main.
"""
import json
import os
import re

from cflow_tool import CSRC, TOOLDIR, build, need, ok, marker_line, tool
from harness import assert_eq, test

CLANG = "clang-19"
SOURCE = os.path.join(CSRC, "names.c")
TEXT = "hello 42 world\t7\n" * 150
N = len(TEXT)
SYSROOT = {"aarch64": "/usr/aarch64-linux-gnu"}
MARKERS = ("NAMES-SPACE", "NAMES-CALL")


def where(marker):
    return "names.c:%d" % marker_line(SOURCE, "/* %s */" % marker)


def record_clang(arch):
    need(CLANG)
    d = os.path.join(TOOLDIR, "srcline-clang")
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(d, "names-" + arch)
    target = ["--target=%s-linux-gnu" % arch] if arch != "x86_64" else []
    build(binary, [CLANG] + target + ["-O2", "-g", "-o", binary, SOURCE])
    path = binary + ".cflow"
    extra = ["--qemu-opt", "-L", "--qemu-opt", SYSROOT[arch]] if arch in SYSROOT else []
    r = ok(tool("record", "-o", path, *extra, "--", binary, input=TEXT), "record")
    assert_eq("the guest's answer", r.stdout.splitlines()[-1], "done")
    return path


def line_rows(path, *args):
    out = ok(tool("report", "--by", "line", "--format", "json", "--topn", "0", *args, path),
             "report --by line").stdout
    return {(g["where"], g["function"]): g for g in json.loads(out)["groups"]}


def annotated(path, function):
    """{file:line: (its header, [executions of each instruction listed under it])}."""
    out = ok(tool("annotate", path, function), "annotate " + function).stdout
    lines, current = {}, None
    for text in out.splitlines():
        header = re.match(r"^  (\S+:\d+)\s", text)
        insn = re.match(r"^\s+(\d+)\s+[\d.]+\s+0x[0-9a-f]+:", text)
        if header:
            current = lines.setdefault(header.group(1), (text, []))
        elif insn and current:
            current[1].append(int(insn.group(1)))
    return lines


def check_lines(arch):
    path = record_clang(arch)
    rows = line_rows(path)
    listing = annotated(path, "main")
    for marker in MARKERS:
        w = where(marker)
        if (w, "main") not in rows:
            raise AssertionError("%s: report --by line has no %s in main: %s"
                                 % (arch, w, sorted(rows, key=str)[:20]))
        header, counts = listing.get(w, ("", []))
        if marker not in header:
            raise AssertionError("%s: annotate shows no source text for %s: %r"
                                 % (arch, w, header))
        assert_eq("%s: executions of each instruction of %s" % (arch, w), set(counts), {N})
        assert_eq("%s: executions of %s in the report" % (arch, w),
                  rows[(w, "main")]["executed"], N * len(counts))
    inlined = "classify (inlined into main at %s)" % where("NAMES-CALL")
    if (where("NAMES-SPACE"), inlined) not in line_rows(path, "--inline"):
        raise AssertionError("%s: --inline does not name %s's code %r"
                             % (arch, where("NAMES-SPACE"), inlined))


def make_test(arch):
    def t():
        check_lines(arch)
    t.__name__ = "srcline_clang_" + arch
    return t


for _arch in ("x86_64", "aarch64"):
    test(make_test(_arch))
