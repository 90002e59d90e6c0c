"""
`cflow export callgrind`: per-function instruction counts by hand on loops.S, and equal to the
profile's on exportee.c, as callgrind_annotate reads them; the pictures' guest opened in
KCachegrind under Xvfb, its screenshot kept in build/integration/pictures.
"""
import os
import re

from cflow_tool import (CHARCLASS_COPIES, EXPORT_DIR, EXPORTEE_ROUNDS, as_json, charclass,
                        export, exportee, need, ok, record_charclass, record_for_export)
from harness import assert_eq, guest, relocator, run, symbols, test
from pictures import PICTURES, check_png, need_packages, picture, screenshot_window



def annotate_functions(path):
    """callgrind_annotate's per-function table: {function: Ir}."""
    r = ok(run(["callgrind_annotate", "--threshold=100", path]), "callgrind_annotate")
    fns = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S+):(\S+)", line)
        if m and "PROGRAM TOTALS" not in line:
            fns[m.group(3)] = fns.get(m.group(3), 0) + int(m.group(1).replace(",", ""))
    return fns, r.stdout


@test
def export_callgrind_counts_by_hand():
    """loops.S: each label is a function (ELF symbols); instructions x executions by hand."""
    need("callgrind_annotate")
    prof = record_for_export("loops-x86_64", [guest("x86_64", "loops")])
    out = export("callgrind", prof)
    fns, text = annotate_functions(out)
    want = {"inner_top": 2 * 91, "inner_branch": 91, "bump": 2 * 7, "bump_branch": 7,
            "bump_odd": 4, "bump_skip": 7, "bump_ret": 7, "outer_top": 7, "after_inner": 7,
            "call_site": 7, "after_call": 7, "outer_branch": 7}
    for fn, n in want.items():
        assert_eq("Ir of %s" % fn, fns.get(fn), n)
    with open(out) as f:
        body = f.read()
    for key in ("version: 1", "creator:", "positions: instr line", "events: Ir", "ob=", "fn="):
        if key not in body:
            raise AssertionError("no %r in the callgrind file" % key)
    s = symbols(guest("x86_64", "loops"))
    # the call site: calls=7 to bump; the inner branch: jcnd=84/91 to inner_top
    if not re.search(r"calls=7 0x%x " % s["bump"], body):
        raise AssertionError("no calls=7 to bump:\n" + body[:3000])
    if not re.search(r"jcnd=84/91 0x%x " % s["inner_top"], body):
        raise AssertionError("no jcnd=84/91 to inner_top")
    if not re.search(r"jcnd=3/7 0x%x " % s["bump_skip"], body):
        raise AssertionError("no jcnd=3/7 to bump_skip")


@test
def export_callgrind_c_functions_match_the_profile():
    """exportee (x86_64 PIE, DWARF): callgrind_annotate's Ir per function equals the profile's
    executions of the instructions in the function's symbol range; calls counted."""
    need("callgrind_annotate")
    binary = exportee("x86_64")
    prof = record_for_export("exportee-o2-small", [binary, str(EXPORTEE_ROUNDS)])
    out = export("callgrind", prof)
    fns, _ = annotate_functions(out)
    pj = as_json(prof)
    reloc = relocator(pj)
    execs = {}
    for b in pj["blocks"]:
        for a in b["insns"]:
            execs[a] = execs.get(a, 0) + b["count"]
    ranges = {}
    for line in run(["nm", "-S", binary]).stdout.splitlines():
        p = line.split()
        if len(p) == 4 and p[3] in ("classify", "mix", "main"):
            ranges[p[3]] = (int(p[0], 16), int(p[0], 16) + int(p[1], 16))
    name = os.path.basename(binary)
    for fn, (lo, hi) in ranges.items():
        total = 0
        for a, c in execs.items():
            where = reloc(a)
            if where.startswith(name + "+") and lo <= int(where.split("+")[1], 16) < hi:
                total += c
        assert_eq("Ir of %s" % fn, fns.get(fn), total)
    with open(out) as f:
        body = f.read()
    m = re.search(r"cfn=\((\d+)\) classify\ncalls=(\d+) ", body)
    if not m or int(m.group(2)) != EXPORTEE_ROUNDS:
        raise AssertionError("calls to classify: %s" % (m.group(0) if m else None))


def calls_into(body):
    """A callgrind file's calls: ({function id: calls into it}, {caller id: {callee id: calls}})."""
    called, by_caller, fn, cfn = {}, {}, None, None
    for line in body.splitlines():
        m = re.match(r"(c?fn)=\((\d+)\)", line)
        if m and m.group(1) == "fn":
            fn = m.group(2)
        elif m:
            cfn = m.group(2)
        m = re.match(r"calls=(\d+) ", line)
        if m:
            called[cfn] = called.get(cfn, 0) + int(m.group(1))
            site = by_caller.setdefault(fn, {})
            site[cfn] = site.get(cfn, 0) + int(m.group(1))
    return called, by_caller


@test
def export_callgrind_opens_in_kcachegrind():
    """charclass.c -O1 -g, the pictures' guest: main's calls carry their known counts (the
    call to getchar once per character and once for EOF, on through the PLT stub into the C
    library) in the file and in callgrind_annotate's tree; KCachegrind, under Xvfb, loads it as a user would open it: its main window is titled
    with the file, no other window (an error dialog) comes up, and its screenshot, kept in
    build/integration/pictures, is not blank."""
    need_packages("callgrind_annotate", "kcachegrind")
    prof = record_charclass("charclass-O1", charclass("-O1"), EXPORT_DIR)
    out = export("callgrind", prof)
    getchar = 6 * CHARCLASS_COPIES + 1
    with open(out) as f:
        body = f.read()
    fid = re.search(r"^c?fn=\((\d+)\) main$", body, re.M).group(1)
    calls = [c for part in re.split(r"^(?=fn=)", body, flags=re.M)
             if part.startswith("fn=(%s)" % fid) for c in re.findall(r"^calls=(\d+) ", part, re.M)]
    if str(getchar) not in calls:
        raise AssertionError("main's calls: %r times, none %d" % (calls, getchar))
    # and on from the PLT stub into the C library: its jump to another function's entry is a
    # call, as Callgrind records it, so the library's getc is called as often (KCachegrind's
    # "Called"), by the stub and, the first time, by the dynamic linker's lazy binding
    called, stub_calls = calls_into(body)
    stub = [f for f, n in stub_calls.get(fid, {}).items() if n == getchar]
    into = [called[f] for f in stub_calls.get(stub[0], {})] if stub else []
    if getchar not in into:
        raise AssertionError("no function past main's PLT stub called %d times: %r"
                             % (getchar, into))
    tree = ok(run(["callgrind_annotate", "--tree=calling", "--threshold=100", out]),
              "callgrind_annotate --tree=calling").stdout
    if not re.search(r"\(%sx\)" % format(getchar, ","), tree):
        raise AssertionError("callgrind_annotate shows no call made %d times:\n%s"
                             % (getchar, tree[:3000]))
    shown = picture("charclass-kcachegrind.png")
    config = os.path.join(PICTURES, "kcachegrind-config")
    os.makedirs(config, exist_ok=True)
    with open(os.path.join(config, "kcachegrindrc"), "w") as f:
        f.write("[TipOfDay]\nRunOnStart=false\n")  # its dialog would cover the window
    name = os.path.basename(out)
    windows, output = screenshot_window(
        ["kcachegrind", "-qwindowgeometry", "1280x900+0+0", out], name, shown,
        env={"XDG_CONFIG_HOME": config})
    titled = [w for w in windows if name in w]
    others = [w for w in windows if w not in titled and w not in ("KCachegrind", "")
              and not w.startswith("Qt ")]
    if not titled or others:
        raise AssertionError("KCachegrind's windows: %r (main window titled %s, and no other);"
                             " it said:\n%s" % (windows, name, output[-2000:]))
    check_png(shown, min_colours=50)
