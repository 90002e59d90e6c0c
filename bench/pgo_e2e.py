#!/usr/bin/python3
"""
bench/pgo_e2e.py: compiler PGO end to end with cflow's AutoFDO profiles (make bench-pgo).

    bench/pgo_e2e.py [BUILD] [--rounds N] [--rows N] [--compilers clang,gcc]
                     [--levers NAME,...] [--work DIR]

sqlite3's shell from Debian's source package (shell.c + the sqlite3.c amalgamation, as
bench/bolt_e2e.py makes them), x86_64, run natively on one SQL workload (bench.write_sql:
an in-memory database, --rows INSERTs, two indexes, GROUP BY, a self-join, LIKE, lookups).
Per compiler, three builds of the same sources:

  clang-19 -O2 -g -fdebug-info-for-profiling
    1. as built;
    2. -fprofile-sample-use= cflow's profile of build 1 running the workload under
       qemu-x86_64 (cflow record, cflow export autofdo-llvm: the positions that never ran
       listed at 0), -fsample-profile-use-profi;
    3. -fprofile-instr-use= the instrumented profile of the same workload
       (-fprofile-instr-generate, run natively, llvm-profdata merge).
  gcc-12 -O2 -g -fno-tree-loop-vectorize (GCC 12's vectorizer crashes with -fauto-profile here)
    1. as built;  2. -fauto-profile= cflow's profile (cflow export autofdo-gcc);
    3. -fprofile-use= -fprofile-generate's profile of the same workload.

--levers builds the cflow-profiled binary once per named way of using the profile (clang:
accurate, accurate+profi, profi, plain: with or without -fprofile-sample-accurate and
-fsample-profile-use-profi; nozeros+profi: profi on the export made with --no-zeros; GCC:
plain, nozeros), all timed in the same rounds. Every output is checked against the
original's. Each round runs every binary once, in an order that rotates from round to round;
a speedup is paired: the as-built run's time over the other binary's in the same round, and
the figure is the median over the rounds with its quartiles (the machine's speed drifts between
rounds far more than between two runs of one round). Times are the process's CPU time (user +
system), which time spent waiting for a core on a shared machine does not inflate. The share of the instrumented speedup is
median over median, with how far it moves when the rounds are resampled (a bootstrap: the 10th
and 90th percentile), which says how much a run on this machine can be trusted.
Then the branches: every conditional branch whose instrumented profile says it ran at least
1,000 times, and whether cflow's profile gives it the same hot direction. clang: the branch
weights in the LLVM IR (-S -emit-llvm) of each profile, branches keyed by source line and
column; GCC: the probabilities in -fdump-tree-optimized-lineno (a condition's count: its
block's), keyed the same way. Compared: the locations where the instrumented build has one
branch (not a macro's or twice-inlined code's) that the cflow-profiled build also has (each
compiler inlines and transforms differently by profile, so some have no counterpart).

Writes the figures to stdout and BUILD/bench-pgo/results.txt. Takes tens of minutes (the
amalgamation is compiled 6 times per compiler, twice more per further lever).
"""
import argparse
import glob
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

import bench  # the SQL workload generator (same folder)
from bolt_e2e import all_same, sh, source, sqlite3_amalgamation

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINES = ["-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION"]
LOOKUPS = 5000


class Clang:
    name = "clang"
    cc = "clang-19"
    base = ["-O2", "-g", "-fdebug-info-for-profiling"]
    export = "autofdo-llvm"

    # how the profile is used, by name (--levers): the first is the headline's
    levers = {
        # profi infers block and edge counts that agree with each other from the position
        # counts (which exact counts suit), rather than clang's older heuristics
        "profi": ["-fsample-profile-use-profi"],
        # the profile is exact: what it does not hold never ran (what the flag says)
        "accurate": ["-fprofile-sample-accurate"],
        "accurate+profi": ["-fprofile-sample-accurate", "-fsample-profile-use-profi"],
        "plain": [],
        # profi on the profile without the positions that never ran (export --no-zeros)
        "nozeros+profi": ["-fsample-profile-use-profi"],
    }
    without_zeros = {"nozeros+profi"}

    def use_cflow(self, prof, lever):
        return ["-fprofile-sample-use=" + prof] + self.levers[lever]

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

    # plain: -fauto-profile alone; nozeros: on the profile without the positions that never
    # ran (export --no-zeros)
    levers = {"plain": [], "nozeros": []}
    without_zeros = {"nozeros"}

    def use_cflow(self, prof, lever):
        return ["-fauto-profile=" + prof] + self.levers[lever]

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


def cflow_profile(cflow, c, binary, sql, work, zeros=True):
    """cflow's profile of BINARY running the workload under qemu-x86_64, exported for C (with
    the positions that never ran at 0, the export's default, or without: --no-zeros); the
    recording is made once."""
    out = os.path.join(work, "%s%s.%s" % (c.name, "" if zeros else "-nozeros",
                                          "prof" if c.name == "clang" else "afdo"))
    if os.path.exists(out):
        return out
    prof = os.path.join(work, c.name + ".cflow")
    if not os.path.exists(prof):
        with open(os.devnull, "wb") as null:
            subprocess.run([cflow, "record", "-o", prof, "--"] + runs(binary, sql)[0],
                           stdout=null, check=True)
    sh([cflow, "export", c.export, prof, "-o", out] + ([] if zeros else ["--no-zeros"]))
    return out


def agreement(c, srcdir, cflow_flags, instr_flags, work, tag, inst_obj, threshold=1000):
    """(branches the instrumented build runs >= threshold times, at a source location it has
    one branch at; the locations of those the cflow-profiled build TAG has a branch at; the
    locations of those that go the same way there, in every copy). A location with several branches (a macro,
    a function inlined twice) mixes unrelated branches, and weights are scaled per function,
    so neither is summed; a branch the other build transformed away cannot be compared."""
    mine = c.branches(srcdir, cflow_flags, os.path.join(work, tag), os.path.join(work, tag + ".o"))
    theirs = c.branches(srcdir, instr_flags, os.path.join(work, c.name + "-instr"), inst_obj)

    def direction(w):
        return (w[0] > w[1]) - (w[0] < w[1])
    hot = [k for k, ws in theirs.items() if len(ws) == 1 and sum(ws[0]) >= threshold]
    found = {k for k in hot if k in mine}
    same = {k for k in found if {direction(w) for w in mine[k]} == {direction(theirs[k][0])}}
    return len(hot), found, same


def quantile(xs, q):
    """The q-quantile of xs (linear between the two nearest ranks)."""
    xs = sorted(xs)
    i = q * (len(xs) - 1)
    lo = int(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)


def paired(times, base, name):
    """Per round: base's time / name's time - 1, the speedup of the two runs of one round (the
    machine's speed drifts between rounds much more than within one)."""
    return [b / t - 1 for b, t in zip(times[base], times[name])]


def share(mine, theirs, resamples=2000):
    """The share of the instrumented speedup cflow's profile gets, median over median of the
    paired speedups, and its 10th and 90th percentile over the rounds resampled (a bootstrap,
    fixed seed): how much the figure would move with other rounds of the same machine."""
    rng = random.Random(16)
    n = len(mine)
    ratios = []
    for _ in range(resamples):
        pick = [rng.randrange(n) for _ in range(n)]
        si = statistics.median(theirs[i] for i in pick)
        if si > 0:
            ratios.append(statistics.median(mine[i] for i in pick) / si)
    si = statistics.median(theirs)
    whole = statistics.median(mine) / si if si > 0 else float("nan")
    if len(ratios) < resamples // 2:
        return whole, float("nan"), float("nan")
    return whole, quantile(ratios, 0.1), quantile(ratios, 0.9)


def cpu_seconds(binary, sql, work):
    """The user + system time of one run of the workload (the shell is one single-threaded
    process): on a machine shared with other jobs, waiting for a core is not counted, which
    wall time would count."""
    with open(os.path.join(work, "timed.out"), "wb") as f:
        child = subprocess.Popen(runs(binary, sql)[0], stdout=f)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit("%s exited with %d" % (binary, child.returncode))
    return usage.ru_utime + usage.ru_stime


def timed_rounds(binaries, sql, work, rounds):
    """{name: [CPU seconds per round]}: every round runs each binary once, in an order that
    rotates from round to round, so that each pair of binaries is timed side by side."""
    times = {bname: [] for bname, _ in binaries}
    k = len(binaries)
    for r in range(rounds):
        for bname, b in binaries[r % k:] + binaries[:r % k]:
            times[bname].append(cpu_seconds(b, sql, work))
    return times


def measure(c, cflow, srcdir, sql, work, rounds, levers, say):
    plain = build(c, srcdir, [], os.path.join(work, c.name + "-asbuilt"))
    ref = workload(plain, sql, work, c.name + "-ref")

    def flags(lever):
        return c.use_cflow(cflow_profile(cflow, c, plain, sql, work,
                                         zeros=lever not in c.without_zeros), lever)
    mine = [("cflow's profile, " + lever,
             build(c, srcdir, flags(lever), os.path.join(work, "%s-cflow-%s" % (c.name, lever))))
            for lever in levers]
    inst_obj = os.path.join(work, c.name + "-objs")  # the same object names in both phases
    inst = os.path.join(work, c.name + "-instrumented")
    if not os.path.exists(inst):
        build(c, srcdir, c.instrument(work), inst, inst_obj)
        workload(inst, sql, work, c.name + "-instr-run", c.instrumented_env(work, 0))
    theirs = os.path.join(work, c.name + "-instr")
    if not os.path.exists(theirs):
        shutil.rmtree(inst_obj, ignore_errors=True)  # rebuilt under the same names
    build(c, srcdir, c.use_instr(work), theirs, inst_obj)
    instr = "instrumented profile"
    binaries = [("as built", plain)] + mine + [(instr, theirs)]
    for bname, b in binaries[1:]:
        if not all_same(workload(b, sql, work, "check"), ref):
            raise SystemExit("%s %s: output differs from the original's" % (c.name, bname))
    times = timed_rounds(binaries, sql, work, rounds)
    say("%s (%s): %d rounds, native, CPU time (user + system); each round runs every build "
        "once (rotating order); speedups are paired within a round: median [25th, 75th "
        "percentile] over the rounds"
        % (c.cc, " ".join(c.base), rounds))
    speed = {}
    for bname, _ in binaries:
        speed[bname] = paired(times, "as built", bname)
        say("  %-36s median %.3f s (min %.3f, max %.3f)  speedup %+6.2f%% [%+.2f%%, %+.2f%%]" %
            (bname, statistics.median(times[bname]), min(times[bname]), max(times[bname]),
             100 * statistics.median(speed[bname]), 100 * quantile(speed[bname], 0.25),
             100 * quantile(speed[bname], 0.75)))
    for bname, _ in mine:
        whole, lo, hi = share(speed[bname], speed[instr])
        if whole != whole or lo != lo:  # NaN: no speedup to share, in the rounds or resampled
            say("  %s: no share: the instrumented profile gave no speedup in %s" %
                (bname, "these rounds" if whole != whole else "half of the resampled rounds"))
            continue
        say("  %s: %.0f%% of the instrumented profile's speedup (bootstrap over the rounds: "
            "10%% of resamples below %.0f%%, 10%% above %.0f%%)" % (bname, 100 * whole,
                                                                100 * lo, 100 * hi))
    agree = {}
    for lever, (bname, _) in zip(levers, mine):
        n, found, same = agree[bname] = agreement(
            c, srcdir, flags(lever), c.use_instr(work), work, "%s-cflow-%s" % (c.name, lever),
            inst_obj)
        say("  %s: branches run >= 1,000 times (instrumented build, one branch at the "
            "location): %d; at a location of this build too: %d; same hot direction: %d "
            "(%.1f%%)" % (bname, n, len(found), len(same), percent(len(same), len(found))))
    if len(mine) > 1:  # the builds inline differently: compare them where all have the branch
        common = set.intersection(*(found for _, found, _ in agree.values()))
        say("  at the %d locations all %d cflow-profiled builds have: %s" % (
            len(common), len(mine), ", ".join("%s %.1f%%" % (bname, percent(
                len(same & common), len(common))) for bname, (_, _, same) in agree.items())))


def percent(part, whole):
    return 100.0 * part / whole if whole else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--rows", type=int, default=100000, help="rows inserted")
    ap.add_argument("--compilers", default="clang,gcc")
    ap.add_argument("--levers", default="",
                    help="how each compiler uses cflow's profile, comma-separated names of its "
                    "flag sets (clang: profi, accurate, accurate+profi, plain, nozeros+profi; "
                    "gcc: plain, nozeros); "
                    "all are timed in the same rounds. Default: each compiler's first")
    ap.add_argument("--work", help="where builds and profiles go (default BUILD/bench-pgo); "
                    "what is there already is reused")
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build)
    cflow = os.path.join(build_dir, "tool", "cflow")
    work = os.path.abspath(args.work or os.path.join(build_dir, "bench-pgo"))
    os.makedirs(work, exist_ok=True)
    compilers = {"clang": Clang(), "gcc": Gcc()}
    chosen = [compilers[n] for n in args.compilers.split(",")]
    for name in filter(None, args.levers.split(",")):
        if not any(name in c.levers for c in compilers.values()):
            raise SystemExit("--levers: %s is none of %s" % (name, "; ".join(
                "%s's %s" % (c.name, ", ".join(c.levers)) for c in compilers.values())))
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
        levers = [l for l in args.levers.split(",") if l in c.levers] or [next(iter(c.levers))]
        measure(c, cflow, srcdir, sql, work, args.rounds, levers, say)
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
