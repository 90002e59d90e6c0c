"""
The cflow tool's commands (record, report, annotate, merge, diff, dot, json, check) on guests
whose counts are known: the bundled example (examples/primes.c, aarch64), the assembly guests,
and C guests built with -g here (tests/guests/c/branchy.c, a static x86_64 program with
marked lines; shlib.c + shlib-main.c, a dynamically linked x86_64 program and its library).
Expected source lines come from marker comments in the sources, never from line numbers.
"""
import json
import os
import re
import shutil
import signal
import struct
import tempfile
import zlib

import run

TOOLDIR = os.path.join(run.WORK, "tool")
CSRC = os.path.join(run.TOP, "tests", "guests", "c")
ROUNDS = 300000  # branchy.c's loop


def tool(*args, **kw):
    return run.run([run.TOOL] + list(args), **kw)


def ok(r, what):
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-2000:],
                                                    r.stderr[-2000:]))
    return r


def marker_line(path, marker):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise AssertionError("no %s in %s" % (marker, path))


def build(out, cmd):
    if not os.path.exists(out) or any(os.path.getmtime(out) < os.path.getmtime(a)
                                      for a in cmd if a.endswith(".c")):
        r = run.run(cmd)
        if r.returncode != 0:
            raise AssertionError("building %s failed:\n%s" % (out, r.stderr))
    return out


def branchy():
    os.makedirs(TOOLDIR, exist_ok=True)
    return build(os.path.join(TOOLDIR, "branchy"),
                 ["gcc", "-g", "-O0", "-static", "-o", os.path.join(TOOLDIR, "branchy"),
                  os.path.join(CSRC, "branchy.c")])


def shlib():
    d = os.path.join(TOOLDIR, "shlib")
    os.makedirs(d, exist_ok=True)
    build(os.path.join(d, "libcflowtest.so"),
          ["gcc", "-g", "-O0", "-shared", "-fPIC", "-o", os.path.join(d, "libcflowtest.so"),
           os.path.join(CSRC, "shlib.c")])
    return build(os.path.join(d, "shlibmain"),
                 ["gcc", "-g", "-O0", "-o", os.path.join(d, "shlibmain"),
                  os.path.join(CSRC, "shlib-main.c"), "-L" + d, "-lcflowtest",
                  "-Wl,-rpath,$ORIGIN"])


def example():
    """examples/primes.c as scripts/example builds it (aarch64, -O2, static), with -g."""
    os.makedirs(TOOLDIR, exist_ok=True)
    return build(os.path.join(TOOLDIR, "primes"),
                 ["aarch64-linux-gnu-gcc", "-g", "-O2", "-static", "-o",
                  os.path.join(TOOLDIR, "primes"), os.path.join(run.TOP, "examples", "primes.c")])


_recorded = {}


def record(name, argv, extra=()):
    """cflow record -o TOOLDIR/NAME.cflow -- argv (once per name)."""
    path = os.path.join(TOOLDIR, name + ".cflow")
    if name not in _recorded:
        r = tool("record", "-o", path, *extra, "--", *argv)
        ok(r, "record " + name)
        _recorded[name] = r
    return path


def as_json(path):
    return json.loads(ok(tool("json", path), "json " + path).stdout)


def report_json(path, *args):
    return json.loads(ok(tool("report", "--format", "json", *args, path), "report").stdout)


# ---------------------------------------------------------------------------------------------

@run.test
def tool_help_for_every_command():
    for cmd in ("record", "report", "annotate", "merge", "diff", "dot", "json", "check"):
        r = ok(tool(cmd, "--help"), cmd + " --help")
        for want in ("cflow " + cmd, "Exit status", "Example"):
            if want not in r.stdout:
                raise AssertionError("%s --help lacks %r:\n%s" % (cmd, want, r.stdout))
        h = ok(tool("help", cmd), "help " + cmd)
        run.assert_eq("help %s == %s --help" % (cmd, cmd), h.stdout, r.stdout)
    r = tool()
    run.assert_eq("no command", r.returncode, 1)
    r = tool("frobnicate")
    run.assert_eq("unknown command", r.returncode, 1)
    if "unknown command 'frobnicate'" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("report", "--no-such-option", "x")
    run.assert_eq("unknown option", r.returncode, 1)
    r = tool("report", "--by", "nonsense", "x")
    run.assert_eq("unknown view", r.returncode, 1)


@run.test
def record_passes_status_streams_and_architecture():
    d = tempfile.mkdtemp(dir=run.WORK)
    # exact counts through record: the x86_64 loops guest's inner branch is taken 84 times
    loops = run.guest("x86_64", "loops")
    r = tool("record", loops, cwd=d)  # default output cflow.data, in the current directory
    ok(r, "record loops")
    run.assert_eq("guest stdout passed through", r.stdout, "loops ok\n")
    run.assert_eq("nothing added to stderr off a terminal", r.stderr, "")
    prof = as_json(os.path.join(d, "cflow.data"))
    s = run.symbols(loops)
    run.assert_eq("inner branch", run.edge_count(prof, s["inner_branch"], s["inner_top"],
                                                 "branch"), 84)
    run.assert_eq("record runs report=off", "top 10" in r.stderr, False)
    # architecture from the ELF header
    for arch in ("aarch64", "riscv64"):
        out = os.path.join(d, arch + ".cflow")
        ok(tool("record", "-o", out, "--", run.guest(arch, "loops")), "record " + arch)
        run.assert_eq(arch + " meta", as_json(out)["meta"]["arch"], arch)
    # exit status, death by signal, stdin
    lc = run.guest("c", "lifecycle")
    r = tool("record", "-o", os.path.join(d, "x.cflow"), lc, "exit3")
    run.assert_eq("exit status passed through", r.returncode, 3)
    r = tool("record", "-o", os.path.join(d, "c.cflow"), lc, "crash")
    run.assert_eq("death by SIGSEGV", r.returncode, 128 + signal.SIGSEGV)
    ok(tool("check", os.path.join(d, "c.cflow")), "profile after a crash")
    r = run.run([run.TOOL, "record", "-o", os.path.join(d, "cat.cflow"), "--", "cat"],
                input="through stdin\n")
    ok(r, "record cat")
    run.assert_eq("stdin to stdout", r.stdout, "through stdin\n")
    # guest options after the program are the guest's, plugin options reach the plugin
    r = tool("record", "-o", os.path.join(d, "sh.json"), "--plugin-opt", "format=json",
             "/bin/sh", "-c", "echo $0 -x", "arg0")
    ok(r, "record sh")
    run.assert_eq("guest's own options", r.stdout, "arg0 -x\n")
    json.load(open(os.path.join(d, "sh.json")))
    # errors: no program, not ELF without --arch, no QEMU, unwritable output
    run.assert_eq("no program", tool("record").returncode, 1)
    script = os.path.join(d, "script.txt")
    open(script, "w").write("hello\n")
    r = tool("record", script)
    run.assert_eq("not ELF", r.returncode, 1)
    if "--arch" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("record", "--qemu", "/nonexistent/qemu", loops)
    run.assert_eq("no QEMU", r.returncode, 1)
    r = tool("record", "-o", "/nonexistent-dir/p.cflow", loops)
    run.assert_eq("unwritable output", r.returncode != 0, True)


@run.test
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
    run.assert_eq("loop branch (taken, fallthrough)",
                  (g["most_biased"]["taken"], g["most_biased"]["fallthrough"]), (ROUNDS, 1))
    g = groups["branchy.c:%d" % changed]
    run.assert_eq("the if's branch", sorted([g["branches"], g["fallthroughs"]]),
                  [ROUNDS // 3, ROUNDS - ROUNDS // 3])
    run.assert_eq("file is the source", os.path.realpath(g["file"]), os.path.realpath(src))
    # by function: bump is entered exactly once per multiple of 3
    funcs = {f["function"]: f for f in report_json(path, "--by", "function", "--topn", "0")["groups"]}
    run.assert_eq("bump entries", funcs["bump"]["entries"], ROUNDS // 3)
    run.assert_eq("main entries", funcs["main"]["entries"], 1)
    # csv: a header and one row per line group
    csv = ok(tool("report", "--by", "line", "--topn", "0", "--format", "csv", path), "csv").stdout
    run.assert_eq("csv rows", len(csv.splitlines()), len(glist) + 1)
    # --function keeps one function
    fx = report_json(path, "--by", "line", "--topn", "0", "--function", "bump")["groups"]
    run.assert_eq("--function bump", sorted({x["function"] for x in fx}), ["bump"])


@run.test
def report_insn_view_keeps_the_old_forms_and_speaks_json():
    path = record("loops", [run.guest("x86_64", "loops")])
    s = run.symbols(run.guest("x86_64", "loops"))
    prof = as_json(path)
    # the old --sort=X --topn=N forms
    out = ok(tool("report", "--sort=edges", "--topn=1", path), "old form").stdout
    if not re.search(r"\s84 branch\s+0x%x" % s["inner_branch"], out):
        raise AssertionError(out)
    # --topn 0 is everything; JSON edges are the plugin's own edge objects
    j = report_json(path, "--sort", "edges", "--topn", "0")
    run.assert_eq("edges", sorted(json.dumps(e, sort_keys=True) for e in j["edges"]),
                  sorted(json.dumps(e, sort_keys=True) for e in prof["edges"]))
    j = report_json(path, "--sort", "hottest", "--topn", "1")
    run.assert_eq("hottest source", int(j["sources"][0]["addr"], 16), s["inner_branch"])
    run.assert_eq("its taken count", j["sources"][0]["taken"], 84)
    text = ok(tool("report", "--topn", "0", path), "report").stdout
    run.assert_eq("text --topn 0 lists every source",
                  text.count("branch destination"),
                  len({e["from"] for e in prof["edges"] if e["kind"] == "branch"}))


@run.test
def shared_library_edges_get_the_librarys_lines():
    prog = shlib()
    libsrc = os.path.join(CSRC, "shlib.c")
    line = marker_line(libsrc, "/* LIB-BRANCH */")
    path = record("shlib", [prog])
    groups = report_json(path, "--by", "line", "--topn", "0")["groups"]
    g = [x for x in groups if x["where"] == "shlib.c:%d" % line]
    run.assert_eq("one group for the library's branch line", len(g), 1)
    g = g[0]
    run.assert_eq("function", g["function"], "lib_work")
    run.assert_eq("taken (i % 5 != 0), fallthrough", (g["branches"], g["fallthroughs"]),
                  (7 * 800, 7 * 200))
    funcs = {f["function"]: f for f in report_json(path, "--by", "function", "--topn", "0")["groups"]}
    run.assert_eq("lib_work entries (calls)", funcs["lib_work"]["entries"], 7)
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
    run.assert_eq("files of the library's branches",
                  sorted({os.path.basename(x["file"]) for x in inlib if x["file"]}), ["shlib.c"])
    run.assert_eq("lib_work's branches all have lines",
                  [x for x in inlib if x["function"] == "lib_work" and not x["file"]], [])
    out = ok(tool("annotate", path, "lib_work"), "annotate lib_work").stdout
    if "shlib.c:%d" % line not in out or "if (i % 5 == 0)" not in out:
        raise AssertionError("annotate lacks the library's source:\n" + out)


@run.test
def annotate_shows_counts_and_source():
    prog = branchy()
    src = os.path.join(CSRC, "branchy.c")
    changed = marker_line(src, "/* CHANGED-BRANCH */")
    path = record("branchy3", [prog, "3"])
    out = ok(tool("annotate", path, "main"), "annotate").stdout
    # the if line, with its text, then its branch's counts
    m = re.search(r"branchy\.c:%d\s+if \(i %% k == 0\).*?\n((?:.*\n){1,12})" % changed, out)
    if not m:
        raise AssertionError("no source line %d in:\n%s" % (changed, out))
    block = m.group(1)
    if not re.search(r"taken %d -> " % (ROUNDS - ROUNDS // 3), block) or \
            not re.search(r"fallthrough %d -> " % (ROUNDS // 3), block):
        raise AssertionError("branch counts missing after line %d:\n%s" % (changed, block))
    # instructions of the loop body ran ROUNDS times
    if not re.search(r"^\s+%d\s+[\d.]+\s+0x" % ROUNDS, out, re.M):
        raise AssertionError("no instruction executed %d times:\n%s" % (ROUNDS, out))
    r = tool("annotate", path, "no_such_function")
    run.assert_eq("unknown function", r.returncode, 1)


def counts(prof):
    edges = {(e["from"], e["from_generation"], e["to"], e["kind"]): e["count"]
             for e in prof["edges"]}
    blocks = {}
    for b in prof["blocks"]:
        key = (b["addr"], tuple(b["insns"]))
        blocks[key] = blocks.get(key, 0) + b["count"]
    return edges, blocks


@run.test
def merge_with_itself_doubles_every_count():
    path = record("primes", [example(), "20000"])
    out = os.path.join(TOOLDIR, "primes2.cflow")
    ok(tool("merge", "-o", out, path, path), "merge")
    e1, b1 = counts(as_json(path))
    e2, b2 = counts(as_json(out))
    run.assert_eq("edges doubled", e2, {k: 2 * v for k, v in e1.items()})
    run.assert_eq("blocks doubled", b2, {k: 2 * v for k, v in b1.items()})
    run.assert_eq("merged_profiles", as_json(out)["meta"]["merged_profiles"], "2")


@run.test
def merge_is_exact_associative_and_commutative():
    prog = branchy()
    paths = [record("branchy%d" % k, [prog, str(k)]) for k in (3, 5, 7)]
    a, b, c = paths
    ab = os.path.join(TOOLDIR, "m-ab.cflow")
    ab_c = os.path.join(TOOLDIR, "m-ab-c.cflow")
    c_ba = os.path.join(TOOLDIR, "m-c-ba.cflow")
    ok(tool("merge", "-o", ab, a, b), "merge a b")
    ok(tool("merge", "-o", ab_c, ab, c), "merge ab c")
    ba = os.path.join(TOOLDIR, "m-ba.cflow")
    ok(tool("merge", "-o", ba, b, a), "merge b a")
    ok(tool("merge", "-o", c_ba, c, ba), "merge c ba")
    x, y = as_json(ab_c), as_json(c_ba)
    run.assert_eq("(a+b)+c == c+(b+a): edges", x["edges"], y["edges"])
    run.assert_eq("blocks", x["blocks"], y["blocks"])
    run.assert_eq("insns", x["insns"], y["insns"])
    # exact sums, edge by edge
    want = {}
    for p in paths:
        for k, v in counts(as_json(p))[0].items():
            want[k] = want.get(k, 0) + v
    run.assert_eq("sums", counts(x)[0], want)
    # different architectures are refused unless forced
    arm = record("loops-aarch64", [run.guest("aarch64", "loops")])
    out = os.path.join(TOOLDIR, "m-bad.cflow")
    if os.path.exists(out):
        os.unlink(out)
    r = tool("merge", "-o", out, a, arm)
    run.assert_eq("different arch refused", r.returncode, 2)
    if "arch" not in r.stderr or "--force" not in r.stderr:
        raise AssertionError(r.stderr)
    run.assert_eq("nothing written", os.path.exists(out), False)
    ok(tool("merge", "--force", "-o", out, a, arm), "merge --force")
    run.assert_eq("forced sum's edges", len(as_json(out)["edges"]),
                  len(as_json(a)["edges"]) + len(as_json(arm)["edges"]))
    run.assert_eq("merge without -o", tool("merge", a).returncode, 1)


@run.test
def diff_puts_the_changed_branch_first():
    prog = branchy()
    src = os.path.join(CSRC, "branchy.c")
    changed = marker_line(src, "/* CHANGED-BRANCH */")
    a, b = record("branchy3", [prog, "3"]), record("branchy7", [prog, "7"])
    j = json.loads(ok(tool("diff", "--format", "json", a, b), "diff").stdout)
    first = j["branches"][0]
    run.assert_eq("first branch", first["where"], "branchy.c:%d" % changed)
    run.assert_eq("its counts", (first["taken_a"] + first["fallthrough_a"],
                                 first["taken_b"] + first["fallthrough_b"]), (ROUNDS, ROUNDS))
    # the loop's own branch did not change: it is not ranked above
    hot = marker_line(src, "/* HOT-LOOP */")
    loop = [x for x in j["branches"] if x["where"] == "branchy.c:%d" % hot]
    if loop and abs(loop[0]["ratio_change"]) > 1e-6:
        raise AssertionError("loop branch changed: %r" % loop)
    text = ok(tool("diff", a, b), "diff text").stdout
    lines = text.splitlines()
    i = lines.index([l for l in lines if l.startswith("top ") and "branches" in l][0])
    if "branchy.c:%d" % changed not in lines[i + 2]:
        raise AssertionError("text diff's first branch:\n" + text)
    # a profile compared with itself: nothing changed
    same = json.loads(ok(tool("diff", "--format", "json", a, a), "diff a a").stdout)
    run.assert_eq("no change", max(abs(x["rate_change"]) for x in same["edges"]), 0)


@run.test
def diff_of_the_example_with_another_input():
    """primes 20000 vs 2000: the branch the tool ranks first is the one whose taken ratio
    changed most, computed here from the two profiles independently."""
    prog = example()
    a, b = record("primes", [prog, "20000"]), record("primes2000", [prog, "2000"])
    pa, pb = as_json(a), as_json(b)

    def ratios(p):
        t, f = {}, {}
        for e in p["edges"]:
            if e["kind"] == "branch":
                t[e["from"]] = t.get(e["from"], 0) + e["count"]
            elif e["kind"] == "fallthrough":
                f[e["from"]] = f.get(e["from"], 0) + e["count"]
        cond = {k for k in t if f.get(k)}
        total = sum(t[k] + f[k] for k in cond)
        return {k: (t.get(k, 0), f.get(k, 0)) for k in set(t) | set(f)}, total
    ra, ta = ratios(pa)
    rb, tb = ratios(pb)
    best = None
    for k in set(ra) & set(rb):
        (t0, f0), (t1, f1) = ra[k], rb[k]
        if not ((t0 and f0) or (t1 and f1)):
            continue
        if not (t0 + f0 >= ta // 1000 or t1 + f1 >= tb // 1000):
            continue
        ch = abs(t1 / (t1 + f1) - t0 / (t0 + f0))
        if best is None or ch > best[0]:
            best = (ch, k)
    j = json.loads(ok(tool("diff", "--format", "json", a, b), "diff").stdout)
    run.assert_eq("first branch", j["branches"][0]["addr"], best[1])
    if not j["branches"][0]["where"] or not j["branches"][0]["where"].startswith("primes.c:"):
        raise AssertionError("no source line: %r" % j["branches"][0])


@run.test
def dot_svg_renders_the_examples_hot_loop():
    if not shutil.which("dot"):
        raise run.Skip("graphviz is not installed")
    prog = example()
    path = record("primes", [prog, "20000"])
    loop = marker_line(os.path.join(run.TOP, "examples", "primes.c"), "while (n != 1)")
    svg = os.path.join(TOOLDIR, "primes.svg")
    dotf = os.path.join(TOOLDIR, "primes.dot")
    for f in (svg, dotf):
        if os.path.exists(f):
            os.unlink(f)
    ok(tool("dot", "--function", "main", "-o", dotf, "--svg", svg, path), "dot --svg")
    text = open(svg).read()
    if "<svg" not in text:
        raise AssertionError("not an SVG")
    # the collatz loop's block is labelled with its line, and its back edge with the exact
    # count: every step but the last of each chain, n = 2..20000
    steps = 0
    for n in range(1, 20001):
        while n != 1:
            n = 3 * n + 1 if n & 1 else n // 2
            steps += 1
    if not re.search(r"primes\.c:[\d,]*\b%d\b" % loop, text):
        raise AssertionError("no block labelled primes.c:%d in the SVG" % loop)
    if ">%d<" % (steps - 19999) not in text:
        raise AssertionError("no edge labelled %d in the SVG" % (steps - 19999))
    # the graph's nodes are basic blocks: every branch into main lands on a node's start
    d = open(dotf).read()
    starts = set(re.findall(r'b\d+ \[label="(0x[0-9a-f]+) ', d))
    prof = as_json(path)
    main_insns = {i["addr"] for i in prof["insns"] if i["symbol"] == "main"}
    targets = {e["to"] for e in prof["edges"] if e["kind"] == "branch" and e["to"] in main_insns}
    if not targets or targets - starts:
        raise AssertionError("branch targets that start no block: %r" % sorted(targets - starts))
    # --min-count leaves cold blocks out
    hot = ok(tool("dot", "--min-count", "100000", path), "dot --min-count").stdout
    if hot.count("[label=") >= d.count("[label=") or "primes.c:" not in hot:
        raise AssertionError("--min-count kept everything:\n" + hot[:2000])


def damaged_files():
    src = record("loops", [run.guest("x86_64", "loops")])
    data = open(src, "rb").read()
    d = os.path.join(TOOLDIR, "bad")
    os.makedirs(d, exist_ok=True)
    files = {}

    def put(name, content):
        p = os.path.join(d, name)
        open(p, "wb").write(content)
        files[name] = p
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    put("damaged", bytes(flipped))
    put("truncated", data[:len(data) - 7])
    put("foreign", open("/bin/true", "rb").read()[:4096])
    future = bytearray(data)
    future[8:12] = struct.pack("<I", 2)
    put("future", bytes(future))
    put("empty", b"")
    files["missing"] = os.path.join(d, "does-not-exist")
    return src, files


@run.test
def every_command_refuses_bad_profiles_with_exit_2():
    good, files = damaged_files()
    if os.path.exists(os.path.join(TOOLDIR, "never.cflow")):
        os.unlink(os.path.join(TOOLDIR, "never.cflow"))
    for name, path in files.items():
        for args in (["report", path], ["report", "--by", "line", path],
                     ["annotate", path, "main"], ["merge", "-o",
                                                  os.path.join(TOOLDIR, "never.cflow"),
                                                  good, path],
                     ["diff", good, path], ["diff", path, good], ["dot", path],
                     ["json", path], ["check", path]):
            r = tool(*args)
            what = "%s on a %s profile" % (args[0], name)
            run.assert_eq(what + ": exit status", r.returncode, 2)
            if path not in r.stderr:
                raise AssertionError("%s: message does not name the file: %r" % (what, r.stderr))
            run.assert_eq(what + ": no output", r.stdout, "")
    run.assert_eq("merge wrote nothing", os.path.exists(os.path.join(TOOLDIR, "never.cflow")),
                  False)
    msgs = {n: tool("check", p).stderr for n, p in files.items()}
    for name, want in (("future", "version"), ("foreign", "not a cflow profile"),
                       ("truncated", "truncated"), ("damaged", "checksum")):
        if want not in msgs[name]:
            raise AssertionError("%s: %r lacks %r" % (name, msgs[name], want))
