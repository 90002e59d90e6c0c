"""
`cflow report`: by source line and by function (tests/guests/c/branchy.c), the instruction view
in its old forms and in JSON, and a shared library's edges attributed to the library's lines.
"""
import json
import os
import re

from cflow_tool import (CSRC, ROUNDS, as_json, branchy, marker_line, ok, record, report_json,
                        shlib, tool)
from harness import assert_eq, guest, symbols, test


@test
def report_by_line_names_the_hottest_branch():
    prog = branchy()
    src = os.path.join(CSRC, "branchy.c")
    hot, changed = marker_line(src, "/* HOT-LOOP */"), marker_line(src, "/* CHANGED-BRANCH */")
    path = record("branchy3", [prog, "3"])
    out = ok(tool("report", "--by", "line", "--topn", "1", path), "report --by line").stdout
    if not re.search(r"\sbranchy\.c:%d main\s" % hot, out):
        raise AssertionError("hottest line is not branchy.c:%d:\n%s" % (hot, out))
    glist = report_json(path, "--by", "line", "--topn", "0")["groups"]
    groups = {g["where"]: g for g in glist}
    g = groups["branchy.c:%d" % hot]
    assert_eq("loop branch (taken, fallthrough)",
              (g["most_biased"]["taken"], g["most_biased"]["fallthrough"]), (ROUNDS, 1))
    g = groups["branchy.c:%d" % changed]
    assert_eq("the if's branch", sorted([g["branches"], g["fallthroughs"]]),
              [ROUNDS // 3, ROUNDS - ROUNDS // 3])
    assert_eq("file is the source", os.path.realpath(g["file"]), os.path.realpath(src))
    # by function: bump is entered exactly once per multiple of 3
    funcs = {f["function"]: f
             for f in report_json(path, "--by", "function", "--topn", "0")["groups"]}
    assert_eq("bump entries", funcs["bump"]["entries"], ROUNDS // 3)
    assert_eq("main entries", funcs["main"]["entries"], 1)
    # csv: a header and one row per line group
    csv = ok(tool("report", "--by", "line", "--topn", "0", "--format", "csv", path), "csv").stdout
    assert_eq("csv rows", len(csv.splitlines()), len(glist) + 1)
    # --function keeps one function
    fx = report_json(path, "--by", "line", "--topn", "0", "--function", "bump")["groups"]
    assert_eq("--function bump", sorted({x["function"] for x in fx}), ["bump"])


@test
def report_insn_view_keeps_the_old_forms_and_speaks_json():
    path = record("loops", [guest("x86_64", "loops")])
    s = symbols(guest("x86_64", "loops"))
    prof = as_json(path)
    # the old --sort=X --topn=N forms
    out = ok(tool("report", "--sort=edges", "--topn=1", path), "old form").stdout
    if not re.search(r"\s84 branch\s+0x%x" % s["inner_branch"], out):
        raise AssertionError(out)
    # --topn 0 is everything; JSON edges are the plugin's own edge objects
    j = report_json(path, "--sort", "edges", "--topn", "0")
    assert_eq("edges", sorted(json.dumps(e, sort_keys=True) for e in j["edges"]),
              sorted(json.dumps(e, sort_keys=True) for e in prof["edges"]))
    j = report_json(path, "--sort", "hottest", "--topn", "1")
    assert_eq("hottest source", int(j["sources"][0]["addr"], 16), s["inner_branch"])
    assert_eq("its taken count", j["sources"][0]["taken"], 84)
    text = ok(tool("report", "--topn", "0", path), "report").stdout
    assert_eq("text --topn 0 lists every source",
              text.count("branch destination"),
              len({e["from"] for e in prof["edges"] if e["kind"] == "branch"}))


@test
def shared_library_edges_get_the_librarys_lines():
    prog = shlib()
    libsrc = os.path.join(CSRC, "shlib.c")
    line = marker_line(libsrc, "/* LIB-BRANCH */")
    path = record("shlib", [prog])
    groups = report_json(path, "--by", "line", "--topn", "0")["groups"]
    g = [x for x in groups if x["where"] == "shlib.c:%d" % line]
    assert_eq("one group for the library's branch line", len(g), 1)
    g = g[0]
    assert_eq("function", g["function"], "lib_work")
    assert_eq("taken (i % 5 != 0), fallthrough", (g["branches"], g["fallthroughs"]),
              (7 * 800, 7 * 200))
    funcs = {f["function"]: f
             for f in report_json(path, "--by", "function", "--topn", "0")["groups"]}
    assert_eq("lib_work entries (calls)", funcs["lib_work"]["entries"], 7)
    # every edge source inside the library's mapping is attributed to shlib.c
    prof = as_json(path)
    maps = [l.split(" ", 2) for l in prof["meta"]["maps"].splitlines()]
    lib = [m for m in maps if m[2].endswith("libcflowtest.so")]
    if not lib:
        raise AssertionError("the library is not in meta.maps: %r" % maps)
    srcs = report_json(path, "--sort", "hottest", "--topn", "0")["sources"]
    inlib = []
    for m in lib:
        lo, hi = (int(x, 16) for x in m[0].split("-"))
        inlib += [x for x in srcs if lo <= int(x["addr"], 16) < hi]
    if not inlib:
        raise AssertionError("no branch sources in the library")
    # (the library's crt start-up code has no DWARF: no file, never another one)
    assert_eq("files of the library's branches",
              sorted({os.path.basename(x["file"]) for x in inlib if x["file"]}), ["shlib.c"])
    assert_eq("lib_work's branches all have lines",
              [x for x in inlib if x["function"] == "lib_work" and not x["file"]], [])
    out = ok(tool("annotate", path, "lib_work"), "annotate lib_work").stdout
    if "shlib.c:%d" % line not in out or "if (i % 5 == 0)" not in out:
        raise AssertionError("annotate lacks the library's source:\n" + out)
