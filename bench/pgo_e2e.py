#!/usr/bin/python3
"""
bench/pgo_e2e.py: compiler PGO end to end with cflow's AutoFDO profiles (make bench-pgo).

    bench/pgo_e2e.py [BUILD] [--rounds N] [--rows N] [--compilers clang,gcc] [--work DIR]

sqlite3's shell from Debian's source package (shell.c + the sqlite3.c amalgamation, as
bench/bolt_e2e.py makes them), x86_64, run natively on one SQL workload (bench.write_sql:
an in-memory database, --rows INSERTs, two indexes, GROUP BY, a self-join, LIKE, lookups).
Per compiler, three builds of the same sources:

  clang-19 -O2 -g -fdebug-info-for-profiling
    1. as built;
    2. -fprofile-sample-use= cflow's profile of build 1 running the workload under
       qemu-x86_64 (cflow record, cflow export autofdo-llvm), -fprofile-sample-accurate;
    3. -fprofile-instr-use= the instrumented profile of the same workload
       (-fprofile-instr-generate, run natively, llvm-profdata merge).
  gcc-12 -O2 -g -fno-tree-loop-vectorize (GCC 12's vectorizer crashes with -fauto-profile here)
    1. as built;  2. -fauto-profile= cflow's profile (cflow export autofdo-gcc);
    3. -fprofile-use= -fprofile-generate's profile of the same workload.

Rounds are interleaved (the three binaries in a rotating order); each figure is a median wall
time, speedups are against the as-built median, every output is checked against the original's.
Then the branches: every conditional branch whose instrumented profile says it ran at least
1,000 times, and whether cflow's profile gives it the same hot direction. clang: the branch
weights in the LLVM IR (-S -emit-llvm) of each profile, branches keyed by source line and
column; GCC: the probabilities in -fdump-tree-optimized-lineno (a condition's count: its
block's), keyed the same way. Compared: the locations where the instrumented build has one
branch (not a macro's or twice-inlined code's) that the cflow-profiled build also has (each
compiler inlines and transforms differently by profile, so some have no counterpart).

Writes the figures to stdout and BUILD/bench-pgo/results.txt. Takes tens of minutes (the
amalgamation is compiled 10 times per compiler).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

import bench  # the SQL workload generator (same folder)
from bolt_e2e import all_same, sh, source, speedups, sqlite3_amalgamation

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINES = ["-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION"]
LOOKUPS = 5000


class Clang:
    name = "clang"
    cc = "clang-19"
    base = ["-O2", "-g", "-fdebug-info-for-profiling"]
    export = "autofdo-llvm"

    def use_cflow(self, prof):
        # the profile is exact: what it does not hold never ran (what the flag says)
        return ["-fprofile-sample-use=" + prof, "-fprofile-sample-accurate"]

    def instrument(self, work):
        return ["-fprofile-instr-generate"]

    def instrumented_env(self, work, i):
        return {"LLVM_PROFILE_FILE": os.path.join(work, "clang-instr-%d.profraw" % i)}

    def use_instr(self, work):
        data = os.path.join(work, "clang-instr.profdata")
        if not os.path.exists(data):
            sh(["llvm-profdata-19", "merge", "-o", data] +
               glob.glob(os.path.join(work, "clang-instr-*.profraw")))
        return ["-fprofile-instr-use=" + data]

    def branches(self, srcdir, flags, out, objdir):
        """{(line, column): [(first successor's weight, second's)]} of sqlite3.c's IR."""
        ll = out + ".ll"
        if not os.path.exists(ll):
            sh([self.cc] + self.base + DEFINES + flags + ["-S", "-emit-llvm", "-o", ll,
                                                           os.path.join(srcdir, "sqlite3.c")])
        with open(ll) as f:
            text = f.read()
        locs = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(
            r"^(![0-9]+) = !DILocation\(line: ([0-9]+), column: ([0-9]+)", text, re.M)}
        weights = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(
            r'^(![0-9]+) = !\{!"branch_weights", i32 ([0-9]+), i32 ([0-9]+)\}', text, re.M)}
        found = {}
        for m in re.finditer(r"br i1 [^\n]*!dbg (![0-9]+), !prof (![0-9]+)", text):
            if m.group(1) in locs and m.group(2) in weights:
                found.setdefault(locs[m.group(1)], []).append(weights[m.group(2)])
        return found


class Gcc:
    name = "gcc"
    cc = "gcc-12"
    # GCC 12 dies in its loop vectorizer (a floating point exception, in sqlite3Insert) with
    # -fauto-profile on this program; the three builds go without it alike
    base = ["-O2", "-g", "-fno-tree-loop-vectorize"]
    export = "autofdo-gcc"

    def use_cflow(self, prof):
        return ["-fauto-profile=" + prof]

    def instrument(self, work):
        return ["-fprofile-generate=" + os.path.join(work, "gcc-profile-data"),
                "-fprofile-update=single"]

    def instrumented_env(self, work, i):
        return {}

    def use_instr(self, work):
        return ["-fprofile-use=" + os.path.join(work, "gcc-profile-data"), "-Wno-missing-profile"]

    def branches(self, srcdir, flags, out, objdir):
        """{(line, column): [(count of the true edge, of the false edge)]} from the GIMPLE
        dump: each condition's block count split by its edges' probabilities. Compiled to
        OBJDIR/sqlite3.o, where -fprofile-use finds the data of an object of that name."""
        os.makedirs(objdir, exist_ok=True)
        dumps = glob.glob(os.path.join(objdir, "sqlite3*.optimized"))
        if not dumps:
            sh([self.cc] + self.base + DEFINES + flags +
               ["-fdump-tree-optimized-lineno", "-c", "-o", os.path.join(objdir, "sqlite3.o"),
                os.path.join(srcdir, "sqlite3.c")], cwd=objdir)
            dumps = glob.glob(os.path.join(objdir, "sqlite3*.optimized"))
        with open(dumps[0]) as f:
            text = f.read()
        found = {}
        count = 0
        for m in re.finditer(r"<bb [0-9]+> \[(?:local )?count: ([0-9.]+)|"
                             r"\[[^\]\n]*:([0-9]+):([0-9]+)\] if \([^\n]*\n\s*goto <bb [0-9]+>;"
                             r" \[([0-9.]+)%\]", text):
            if m.group(1) is not None:
                count = float(m.group(1))
            else:
                p = float(m.group(4)) / 100
                found.setdefault((int(m.group(2)), int(m.group(3))), []).append(
                    (count * p, count * (1 - p)))
        return found


def build(c, srcdir, flags, out, objdir=None):
    """The shell, compiled by compiler C with FLAGS (objects in OBJDIR: -fprofile-use finds its
    data by the object's name)."""
    if os.path.exists(out):
        return out
    objdir = objdir or out + ".o"
    os.makedirs(objdir, exist_ok=True)
    objs = []
    for src in ("shell.c", "sqlite3.c"):
        o = os.path.join(objdir, src[:-2] + ".o")
        sh([c.cc] + c.base + DEFINES + flags + ["-I", srcdir, "-c", "-o", o,
                                                 os.path.join(srcdir, src)])
        objs.append(o)
    sh([c.cc] + flags + ["-o", out] + objs + ["-lm"])
    return out


def runs(binary, sql):
    return [[binary, ":memory:", ".read " + sql]]


def workload(binary, sql, outdir, tag, env=None):
    outs = []
    for i, argv in enumerate(runs(binary, sql)):
        o = os.path.join(outdir, "%s.%d.out" % (tag, i))
        with open(o, "wb") as f:
            subprocess.run(argv, stdout=f, check=True, env=dict(os.environ, **(env or {})))
        outs.append(o)
    return outs


def cflow_profile(cflow, c, binary, sql, work):
    out = os.path.join(work, "%s.%s" % (c.name, "prof" if c.name == "clang" else "afdo"))
    if os.path.exists(out):
        return out
    prof = os.path.join(work, c.name + ".cflow")
    with open(os.devnull, "wb") as null:
        subprocess.run([cflow, "record", "-o", prof, "--"] + runs(binary, sql)[0], stdout=null,
                       check=True)
    sh([cflow, "export", c.export, prof, "-o", out])
    return out


def agreement(c, srcdir, cflow_flags, instr_flags, work, inst_obj, threshold=1000):
    """(branches the instrumented build runs >= threshold times, at a source location it has
    one branch at; how many of them the cflow-profiled build has a branch at; how many of
    those go the same way there, in every copy). A location with several branches (a macro,
    a function inlined twice) mixes unrelated branches, and weights are scaled per function,
    so neither is summed; a branch the other build transformed away cannot be compared."""
    mine_obj = os.path.join(work, c.name + "-cflow.o")
    mine = c.branches(srcdir, cflow_flags, os.path.join(work, c.name + "-cflow"), mine_obj)
    theirs = c.branches(srcdir, instr_flags, os.path.join(work, c.name + "-instr"), inst_obj)

    def direction(w):
        return (w[0] > w[1]) - (w[0] < w[1])
    hot = [k for k, ws in theirs.items() if len(ws) == 1 and sum(ws[0]) >= threshold]
    found = [k for k in hot if k in mine]
    same = [k for k in found if {direction(w) for w in mine[k]} == {direction(theirs[k][0])}]
    return len(hot), len(found), len(same)


def measure(c, cflow, srcdir, sql, work, rounds, say):
    plain = build(c, srcdir, [], os.path.join(work, c.name + "-asbuilt"))
    ref = workload(plain, sql, work, c.name + "-ref")
    prof = cflow_profile(cflow, c, plain, sql, work)
    mine = build(c, srcdir, c.use_cflow(prof), os.path.join(work, c.name + "-cflow"))
    inst_obj = os.path.join(work, c.name + "-objs")  # the same object names in both phases
    inst = os.path.join(work, c.name + "-instrumented")
    if not os.path.exists(inst):
        build(c, srcdir, c.instrument(work), inst, inst_obj)
        workload(inst, sql, work, c.name + "-instr-run", c.instrumented_env(work, 0))
    theirs = os.path.join(work, c.name + "-instr")
    if not os.path.exists(theirs):
        shutil.rmtree(inst_obj, ignore_errors=True)  # rebuilt under the same names
    build(c, srcdir, c.use_instr(work), theirs, inst_obj)
    binaries = [("as built", plain), ("cflow's profile (qemu-x86_64)", mine),
                ("instrumented profile", theirs)]
    for bname, b in binaries[1:]:
        if not all_same(workload(b, sql, work, "check"), ref):
            raise SystemExit("%s %s: output differs from the original's" % (c.name, bname))
    times = {bname: [] for bname, _ in binaries}
    for r in range(rounds):
        for bname, b in binaries[r % 3:] + binaries[:r % 3]:
            t0 = time.perf_counter()
            workload(b, sql, work, "timed")
            times[bname].append(time.perf_counter() - t0)
    say("%s (%s): median of %d interleaved rounds, native" % (c.cc, " ".join(c.base), rounds))
    speed = speedups(times, [bname for bname, _ in binaries], say)
    # on a loaded machine the fastest round is the least disturbed one: say both
    best = {bname: min(times["as built"]) / min(times[bname]) - 1 for bname, _ in binaries}
    say("  best of %d: cflow's profile %+.2f%%, instrumented %+.2f%%" %
        (rounds, 100 * best[binaries[1][0]], 100 * best[binaries[2][0]]))
    sc, si = speed[binaries[1][0]], speed[binaries[2][0]]
    say("  cflow's profile gets %.0f%% of the instrumented profile's speedup" % (100 * sc / si)
        if si > 0 else "  the instrumented profile gave no speedup: no ratio")
    n, found, same = agreement(c, srcdir, c.use_cflow(prof), c.use_instr(work), work,
                               inst_obj)
    say("  branches run >= 1,000 times (instrumented build, one branch at the location): %d; "
        "at a location of the cflow-profiled build too: %d; same hot direction: %d (%.1f%%)" %
        (n, found, same, 100.0 * same / found if found else 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--rows", type=int, default=100000, help="rows inserted")
    ap.add_argument("--compilers", default="clang,gcc")
    ap.add_argument("--work", help="where builds and profiles go (default BUILD/bench-pgo); "
                    "what is there already is reused")
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build)
    cflow = os.path.join(build_dir, "tool", "cflow")
    work = os.path.abspath(args.work or os.path.join(build_dir, "bench-pgo"))
    os.makedirs(work, exist_ok=True)
    compilers = {"clang": Clang(), "gcc": Gcc()}
    chosen = [compilers[n] for n in args.compilers.split(",")]
    for c in chosen:
        if not shutil.which(c.cc):
            raise SystemExit("%s not found (make deps installs it)" % c.cc)
    srcdir = source(work, "sqlite3")
    sqlite3_amalgamation(srcdir)
    sql = bench.write_sql(os.path.join(work, "script-%d.sql" % args.rows), args.rows, LOOKUPS)
    lines = []

    def say(s):
        print(s, flush=True)
        lines.append(s)
    say("sqlite3 shell (Debian source %s, shell.c + sqlite3.c), x86_64; workload: in-memory "
        "database, %d INSERTs, 2 indexes, GROUP BY, self-join, LIKE, %d indexed lookups" %
        (os.path.basename(srcdir.rstrip("/")), args.rows, LOOKUPS))
    for c in chosen:
        measure(c, cflow, srcdir, sql, work, args.rounds, say)
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
