"""
`cflow export` (bolt, lcov, callgrind, drcov), each checked by its consumer where Debian has
one and against counts known by construction:
- the assembly guests (tests/guests/<arch>/loops.S and their .expect files): BOLT's B and F
  records and callgrind's per-function instruction counts, counted by hand;
- tests/guests/c/exportee.c, built here: -O2 -Wl,-q for llvm-bolt-16 (x86_64 PIE run natively,
  aarch64 run under qemu-aarch64: same output after BOLT), -O0 -g --coverage for the comparison
  of the lcov export with gcov's own line coverage of a native run, then genhtml;
- drcov through a reader written here from the format's description, against the profile.
Lines are found through the EXPORT-* markers of exportee.c, never by number.
"""
import json
import os
import re
import shutil
import struct
import tempfile

import run

DIR = os.path.join(run.WORK, "export")
CSRC = os.path.join(run.TOP, "tests", "guests", "c")
EXPORTEE = os.path.join(CSRC, "exportee.c")
ROUNDS = 1000
A64_SYSROOT = "/usr/aarch64-linux-gnu"


def tool(*args, **kw):
    return run.run([run.TOOL] + list(args), **kw)


def ok(r, what):
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-3000:],
                                                    r.stderr[-3000:]))
    return r


def need(*programs):
    for p in programs:
        if not shutil.which(p):
            raise run.Skip("%s is not installed (scripts/deps installs it)" % p)


def marker_line(path, marker):
    """The line with the comment /* MARKER */ (the header comment names markers too)."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if "/* %s */" % marker in line:
                return n
    raise AssertionError("no %s in %s" % (marker, path))


def build(out, cmd, cwd=None):
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(EXPORTEE):
        r = run.run(cmd, cwd=cwd)
        if r.returncode != 0:
            raise AssertionError("building %s failed:\n%s" % (out, r.stderr))
    return out


def exportee(arch):
    """exportee.c with -O2 -g -Wl,-q (relocations for BOLT); x86_64 is a PIE."""
    os.makedirs(DIR, exist_ok=True)
    cc = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc"}[arch]
    out = os.path.join(DIR, "exportee-" + arch)
    return build(out, [cc, "-O2", "-g", "-Wl,-q", "-o", out, EXPORTEE])


_recorded = {}


def record(name, argv, arch="x86_64"):
    os.makedirs(DIR, exist_ok=True)
    path = os.path.join(DIR, name + ".cflow")
    if name not in _recorded:
        extra = ["--qemu-opt", "-L", "--qemu-opt", A64_SYSROOT] if arch == "aarch64" else []
        ok(tool("record", "-o", path, *extra, "--", *argv), "record " + name)
        _recorded[name] = True
    return path


def as_json(path):
    return json.loads(ok(tool("json", path), "json").stdout)


def export(fmt, prof, *args):
    out = os.path.join(DIR, "%s.%s" % (os.path.basename(prof), fmt))
    ok(tool("export", fmt, prof, "-o", out, *args), "export " + fmt)
    return out


def expect_edges(arch, name):
    """(kind, from-symbol, to-symbol, count) from tests/guests/ARCH/NAME.expect."""
    edges = []
    with open(os.path.join(run.TOP, "tests", "guests", arch, name + ".expect")) as f:
        for line in f:
            parts = line.split("#")[0].split()
            if len(parts) == 4 and parts[0] in ("branch", "fallthrough"):
                edges.append((parts[0], parts[1], parts[2], int(parts[3])))
    return edges


def read_fdata(path):
    recs = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if p[0] == "B":
                key = ("B", int(p[1], 16), int(p[2], 16))
                if p[4] != "0":
                    raise AssertionError("mispredictions must be 0: %s" % line)
            elif p[0] == "F":
                key = ("F", int(p[1], 16), int(p[2], 16))
            else:
                raise AssertionError("unknown record: %s" % line)
            if key in recs:
                raise AssertionError("duplicate record: %s" % line)
            recs[key] = int(p[3])
    return recs


# ---------------------------------------------------------------------------------------------

@run.test
def export_help_and_exit_codes():
    r = ok(tool("export", "--help"), "export --help")
    for want in ("cflow export", "Exit status", "Examples", "bolt", "lcov", "callgrind", "drcov",
                 "genhtml", "callgrind_annotate", "llvm-bolt", "--hits"):
        if want not in r.stdout:
            raise AssertionError("export --help lacks %r" % want)
    run.assert_eq("help export", ok(tool("help", "export"), "help").stdout, r.stdout)
    prof = record("loops-x86_64", [run.guest("x86_64", "loops")])
    run.assert_eq("no arguments", tool("export").returncode, 1)
    run.assert_eq("unknown format", tool("export", "gprof", prof).returncode, 1)
    run.assert_eq("--hits outside drcov", tool("export", "lcov", prof, "--hits", "x").returncode,
                  1)
    run.assert_eq("missing profile", tool("export", "bolt", os.path.join(DIR, "nope")).returncode,
                  2)
    bad = os.path.join(DIR, "damaged.cflow")
    with open(prof, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xFF
    with open(bad, "wb") as f:
        f.write(data)
    for fmt in ("bolt", "lcov", "callgrind", "drcov"):
        run.assert_eq("damaged profile, " + fmt,
                      tool("export", fmt, bad, "-o", os.devnull).returncode, 2)
    r = tool("export", "bolt", prof, "--binary", "no-such-file")
    run.assert_eq("--binary not in the profile", r.returncode, 1)
    if "no code of 'no-such-file'" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("export", "bolt", prof, "-o", "/nonexistent-dir/x.fdata")
    run.assert_eq("unwritable output", r.returncode, 1)


def make_bolt_records_test(arch):
    def t():
        """Every edge of loops.expect as a B (taken) or F (fall-through) record, exactly."""
        binary = run.guest(arch, "loops")
        prof = record("loops-" + arch, [binary], arch)
        recs = read_fdata(export("bolt", prof))
        s = run.symbols(binary, arch)
        for kind, frm, to, count in expect_edges(arch, "loops"):
            key = ("B" if kind == "branch" else "F", s[frm], s[to])
            run.assert_eq("%s %s -> %s" % (kind, frm, to), recs.get(key), count)
        # each executed translation block is a trace from its first to its last instruction:
        # the inner loop's body block is entered 84 times by the branch, 7 by the fall-through
        run.assert_eq("F inner_top..inner_branch", recs.get(("F", s["inner_top"],
                                                              s["inner_branch"])), 84)
    t.__name__ = "export_bolt_records_exact_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    run.test(make_bolt_records_test(_arch))


def make_bolt_optimises_test(arch):
    def t():
        """llvm-bolt-16 takes the profile of a PIE (x86_64) / dynamic (aarch64) -Wl,-q build, in
        file addresses, and the optimised binary prints the same."""
        need("llvm-bolt-16")
        binary = exportee(arch)
        n = str(ROUNDS * 20)
        prof = record("exportee-o2-" + arch, [binary, n], arch)
        fdata = export("bolt", prof)
        recs = read_fdata(fdata)
        s = run.symbols(binary, arch)
        # file-relative: the call to classify is in main and lands on nm's address
        calls = [c for (k, f, to), c in recs.items() if k == "B" and to == s["classify"] and f]
        run.assert_eq("B ... classify count", sum(calls), ROUNDS * 20)
        out = os.path.join(DIR, "exportee-%s.bolt" % arch)
        r = run.run(["llvm-bolt-16", binary, "-o", out, "-pa", "-p", fdata,
                     "-reorder-blocks=ext-tsp", "-reorder-functions=hfsort", "-split-functions",
                     "-split-all-cold", "-dyno-stats"])
        if r.returncode != 0:
            raise AssertionError("llvm-bolt-16 failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        m = re.search(r"(\d+) out of (\d+) functions in the binary .* have non-empty execution "
                      r"profile", r.stdout + r.stderr)
        if not m or int(m.group(1)) < 3:
            raise AssertionError("BOLT saw no profile:\n" + (r.stdout + r.stderr)[-2000:])
        m = re.search(r"traces mismatching disassembled function contents: (\d+)",
                      r.stdout + r.stderr)
        if m and int(m.group(1)) > 100:
            raise AssertionError("BOLT found %s mismatching traces" % m.group(1))
        prefix = [] if arch == "x86_64" else [os.path.join(run.QEMU, "qemu-aarch64"), "-L",
                                              A64_SYSROOT]
        a = run.run(prefix + [binary, n])
        b = run.run(prefix + [out, n])
        run.assert_eq("exit status of the BOLTed binary", b.returncode, 0)
        run.assert_eq("output of the BOLTed binary", b.stdout, a.stdout)
    t.__name__ = "export_bolt_optimises_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    run.test(make_bolt_optimises_test(_arch))


@run.test
def export_bolt_shared_library_is_file_relative():
    """--binary picks a library; its addresses are its own ELF addresses."""
    d = os.path.join(DIR, "shlib")
    os.makedirs(d, exist_ok=True)
    lib = os.path.join(d, "libcflowtest.so")
    r = run.run(["gcc", "-g", "-O0", "-shared", "-fPIC", "-o", lib,
                 os.path.join(CSRC, "shlib.c")])
    ok(r, "build shlib")
    main = os.path.join(d, "shlibmain")
    ok(run.run(["gcc", "-g", "-O0", "-o", main, os.path.join(CSRC, "shlib-main.c"), "-L" + d,
                "-lcflowtest", "-Wl,-rpath,$ORIGIN"]), "build shlibmain")
    prof = record("shlib", [main])
    recs = read_fdata(export("bolt", prof, "--binary", "libcflowtest.so"))
    syms = run.symbols(lib)
    lo = min(v for v in syms.values() if v)
    addrs = [a for (_, f, t) in recs for a in (f, t) if a]
    if not addrs or min(addrs) < lo or max(addrs) > max(syms.values()) + 0x1000:
        raise AssertionError("library records not in the library's own addresses: %s" %
                             sorted(recs)[:5])
    entries = [c for (k, f, t), c in recs.items() if k == "B" and f == 0 and t in syms.values()]
    if not entries:
        raise AssertionError("no entries into the library's functions from outside")


@run.test
def export_lcov_matches_gcov():
    """-O0 -g --coverage: lines hit / not hit equal gcov's for every line gcov reports; genhtml
    renders it; functions, branches and marked lines have their known counts."""
    need("gcov", "genhtml")
    d = tempfile.mkdtemp(dir=run.WORK)
    src = os.path.join(d, "exportee.c")
    shutil.copy(EXPORTEE, src)
    ok(run.run(["gcc", "-O0", "-g", "--coverage", "-o", "excov", "exportee.c"], cwd=d), "build")
    ok(run.run([os.path.join(d, "excov"), str(ROUNDS)], cwd=d), "native run")
    g = ok(run.run(["gcov", "-i", "-t", "excov-exportee.gcda"], cwd=d), "gcov")
    gcov = {}
    for f in json.loads(g.stdout)["files"]:
        if f["file"].endswith("exportee.c"):
            gcov = {l["line_number"]: l["count"] for l in f["lines"]}
    if len(gcov) < 20:
        raise AssertionError("gcov reported %d lines" % len(gcov))
    # the same binary under QEMU; its .gcda go elsewhere
    prof = os.path.join(d, "excov.cflow")
    env = dict(os.environ, GCOV_PREFIX=os.path.join(d, "qemu-gcda"))
    ok(run.run([run.TOOL, "record", "-o", prof, "--", os.path.join(d, "excov"), str(ROUNDS)],
               cwd=d, env=env), "record")
    info = os.path.join(d, "excov.info")
    ok(tool("export", "lcov", prof, "-o", info, "--binary", os.path.join(d, "excov")), "export")
    da, fnda, brda, sf = {}, {}, {}, None
    with open(info) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("SF:"):
            sf = line[3:]
        elif sf == src and line.startswith("DA:"):
            n, c = line[3:].split(",")[:2]
            da[int(n)] = int(c)
        elif sf == src and line.startswith("FNDA:"):
            c, name = line[5:].split(",", 1)
            fnda[name] = int(c)
        elif sf == src and line.startswith("BRDA:"):
            n, block, branch, taken = line[5:].split(",")
            brda.setdefault(int(n), []).append(taken)
    for key in ("TN:", "LF:", "LH:", "BRF:", "BRH:", "FNF:", "FNH:", "end_of_record"):
        if key not in text:
            raise AssertionError("no %s in the tracefile" % key)
    wrong = ["line %d: gcov %d, cflow %s" % (n, c, da.get(n)) for n, c in sorted(gcov.items())
             if n not in da or (da[n] > 0) != (c > 0)]
    if wrong:
        raise AssertionError("lines where cflow's coverage differs from gcov's:\n  " +
                             "\n  ".join(wrong))
    run.assert_eq("FNDA classify", fnda.get("classify"), ROUNDS)
    run.assert_eq("FNDA mix", fnda.get("mix"), ROUNDS)
    run.assert_eq("FNDA never_called", fnda.get("never_called"), 0)
    run.assert_eq("EXPORT-MIX line", da.get(marker_line(src, "EXPORT-MIX")), ROUNDS)
    run.assert_eq("EXPORT-NEVER line", da.get(marker_line(src, "EXPORT-NEVER")), 0)
    run.assert_eq("EXPORT-DEAD line", da.get(marker_line(src, "EXPORT-DEAD")), 0)
    odd = marker_line(src, "EXPORT-ODD")
    run.assert_eq("EXPORT-ODD branch: taken / not taken", sorted(brda.get(odd, [])),
                  sorted([str(ROUNDS // 5), str(ROUNDS - ROUNDS // 5)]))
    r = run.run(["genhtml", info, "-o", os.path.join(d, "html")], cwd=d)
    if r.returncode != 0 or not os.path.exists(os.path.join(d, "html", "index.html")):
        raise AssertionError("genhtml failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    shutil.rmtree(d)


def annotate_functions(path):
    """callgrind_annotate's per-function table: {function: Ir}."""
    r = ok(run.run(["callgrind_annotate", "--threshold=100", path]), "callgrind_annotate")
    fns = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S+):(\S+)", line)
        if m and "PROGRAM TOTALS" not in line:
            fns[m.group(3)] = fns.get(m.group(3), 0) + int(m.group(1).replace(",", ""))
    return fns, r.stdout


@run.test
def export_callgrind_counts_by_hand():
    """loops.S: each label is a function (ELF symbols); instructions x executions by hand."""
    need("callgrind_annotate")
    prof = record("loops-x86_64", [run.guest("x86_64", "loops")])
    out = export("callgrind", prof)
    fns, text = annotate_functions(out)
    want = {"inner_top": 2 * 91, "inner_branch": 91, "bump": 2 * 7, "bump_branch": 7,
            "bump_odd": 4, "bump_skip": 7, "bump_ret": 7, "outer_top": 7, "after_inner": 7,
            "call_site": 7, "after_call": 7, "outer_branch": 7}
    for fn, n in want.items():
        run.assert_eq("Ir of %s" % fn, fns.get(fn), n)
    with open(out) as f:
        body = f.read()
    for key in ("version: 1", "creator:", "positions: instr line", "events: Ir", "ob=", "fn="):
        if key not in body:
            raise AssertionError("no %r in the callgrind file" % key)
    s = run.symbols(run.guest("x86_64", "loops"))
    # the call site: calls=7 to bump; the inner branch: jcnd=84/91 to inner_top
    if not re.search(r"calls=7 0x%x " % s["bump"], body):
        raise AssertionError("no calls=7 to bump:\n" + body[:3000])
    if not re.search(r"jcnd=84/91 0x%x " % s["inner_top"], body):
        raise AssertionError("no jcnd=84/91 to inner_top")
    if not re.search(r"jcnd=3/7 0x%x " % s["bump_skip"], body):
        raise AssertionError("no jcnd=3/7 to bump_skip")


@run.test
def export_callgrind_c_functions_match_the_profile():
    """exportee (x86_64 PIE, DWARF): callgrind_annotate's Ir per function equals the profile's
    executions of the instructions in the function's symbol range; calls counted."""
    need("callgrind_annotate")
    binary = exportee("x86_64")
    prof = record("exportee-o2-small", [binary, str(ROUNDS)])
    out = export("callgrind", prof)
    fns, _ = annotate_functions(out)
    pj = as_json(prof)
    reloc = run.relocator(pj)
    execs = {}
    for b in pj["blocks"]:
        for a in b["insns"]:
            execs[a] = execs.get(a, 0) + b["count"]
    ranges = {}
    for line in run.run(["nm", "-S", binary]).stdout.splitlines():
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
        run.assert_eq("Ir of %s" % fn, fns.get(fn), total)
    with open(out) as f:
        body = f.read()
    m = re.search(r"cfn=\((\d+)\) classify\ncalls=(\d+) ", body)
    if not m or int(m.group(2)) != ROUNDS:
        raise AssertionError("calls to classify: %s" % (m.group(0) if m else None))


def read_drcov(path):
    """A drcov file as DynamoRIO documents it: text header, module table, binary BB table."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        text = data[pos:end].decode()
        pos = end + 1
        return text
    run.assert_eq("version line", line(), "DRCOV VERSION: 2")
    if not line().startswith("DRCOV FLAVOR:"):
        raise AssertionError("no flavor line")
    m = re.match(r"Module Table: version 2, count (\d+)$", line())
    if not m:
        raise AssertionError("bad module table header")
    cols = [c.strip() for c in line().split(":", 1)[1].split(",")]
    run.assert_eq("columns", cols, ["id", "base", "end", "entry", "checksum", "timestamp",
                                    "path"])
    modules = []
    for _ in range(int(m.group(1))):
        f = [x.strip() for x in line().split(",", len(cols) - 1)]
        modules.append({"id": int(f[0]), "base": int(f[1], 16), "end": int(f[2], 16),
                        "path": f[6]})
    m = re.match(r"BB Table: (\d+) bbs$", line())
    if not m:
        raise AssertionError("bad BB table header")
    n = int(m.group(1))
    run.assert_eq("BB table size", len(data) - pos, 8 * n)
    bbs = [struct.unpack_from("<IHH", data, pos + 8 * i) for i in range(n)]
    return modules, bbs


@run.test
def export_drcov_blocks_match_the_profile():
    for name, argv in (("loops-x86_64", [run.guest("x86_64", "loops")]),
                       ("exportee-o2-small", [exportee("x86_64"), str(ROUNDS)])):
        prof = record(name, argv)
        hits = os.path.join(DIR, name + ".hits")
        out = export("drcov", prof, "--hits", hits)
        modules, bbs = read_drcov(out)
        pj = as_json(prof)
        sizes = {}
        for i in pj["insns"]:
            sizes[i["addr"]] = i["size"]
        want = {}
        for b in pj["blocks"]:
            if b["count"]:
                last = b["insns"][-1]
                key = (int(b["addr"], 16), int(last, 16) + sizes[last] - int(b["addr"], 16))
                want[key] = want.get(key, 0) + b["count"]
        got = set()
        for start, size, mod in bbs:
            got.add((modules[mod]["base"] + start, size))
        run.assert_eq("%s: drcov blocks == the profile's executed blocks" % name, got,
                      set(want))
        if name.startswith("loops"):
            run.assert_eq("one module", [os.path.basename(m["path"]) for m in modules],
                          ["loops"])
            run.assert_eq("module base", modules[0]["base"], 0x400000)
        with open(hits) as f:
            rows = [l.split() for l in f if not l.startswith("#")]
        run.assert_eq("hits: one line per BB", len(rows), len(bbs))
        for (start, size, mod), row in zip(bbs, rows):
            key = (modules[mod]["base"] + start, size)
            run.assert_eq("hits of %x" % key[0], int(row[3]), want[key])
