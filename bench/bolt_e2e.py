#!/usr/bin/python3
"""
bench/bolt_e2e.py: BOLT end to end with cflow's profile (make bench-bolt).

    bench/bolt_e2e.py [BUILD] [--program bzip2|sqlite3] [--rounds N] [--mb N] [--rows N]

A real program not written here, built from its Debian source package (`apt-get source`) with
-O2 -g -Wl,-q (relocations kept, so BOLT may move code):

  bzip2    bzip2 1.0.8 with libbz2 linked in, PIE; workload: compress an N MB text (--mb, 8)
           with -9, then decompress the result;
  sqlite3  the sqlite3 shell, shell.c + the sqlite3.c amalgamation (made by the source
           package's `./configure && make sqlite3.c shell.c`), -fno-pie -no-pie: BOLT 16 can
           not follow the PIC jump tables of a PIE's sqlite3VdbeExec (its VDBE interpreter) and
           leaves it unoptimised; workload: an in-memory database, --rows INSERTs (300,000) in
           one transaction, two indexes, a GROUP BY, a self-join, LIKE, 5,000 indexed lookups.

x86_64, run natively on the same workload:
  1. as built;
  2. BOLTed from cflow's profile of the same workload run under qemu-x86_64
     (cflow record, cflow merge of the runs, cflow export bolt, llvm-bolt-16 -pa);
  3. BOLTed from BOLT's own instrumentation (llvm-bolt-16 -instrument, the instrumented binary
     run natively on the same workload, then llvm-bolt-16 -data).
Both BOLT runs use the same optimisation flags. Rounds are interleaved (the three binaries in a
rotating order per round); the figure is each one's median wall time over the rounds, and
the speedups are relative to the original's median. Every output is checked against the
original's.

aarch64 (bzip2 only): the same source built with aarch64-linux-gnu-gcc (dynamically linked:
BOLT 16 fails on static aarch64 glibc), profiled under qemu-aarch64, BOLTed on this host from
cflow's profile, and both binaries run under qemu-aarch64: their outputs must be identical.

Writes the figures to stdout and BUILD/bench-bolt[-PROGRAM]/results.txt (bzip2 keeps
BUILD/bench-bolt). Takes a few minutes.
"""
import argparse
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

import bench  # the SQL workload generator (same folder)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOLT = "llvm-bolt-16"
# instrumentation runtime: BOLT 16 looks for it under its own lib directory's parent
RT = "llvm-16/lib/libbolt_rt_instr.a"
FLAGS = ["-reorder-blocks=ext-tsp", "-reorder-functions=hfsort", "-split-functions",
         "-split-all-cold", "-icf=1", "-dyno-stats"]
AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s%s" % (r.returncode, " ".join(cmd), r.stdout[-3000:],
                                                    r.stderr[-3000:]))
    return r


def source(work, package):
    """Debian's source package, unpacked once into work/src."""
    src = os.path.join(work, "src")
    found = glob.glob(os.path.join(src, package + "-*/"))
    if found:
        return found[0]
    os.makedirs(src, exist_ok=True)
    versions = sh(["apt-cache", "showsrc", package]).stdout
    version = sorted((l.split()[1] for l in versions.splitlines() if l.startswith("Version:")),
                     key=lambda v: [int(x) if x.isdigit() else x for x in
                                    v.replace("-", ".").replace("+", ".").split(".")])[-1]
    sh(["apt-get", "source", "--only-source", "%s=%s" % (package, version)], cwd=src)
    found = glob.glob(os.path.join(src, package + "-*/"))
    if not found:
        raise SystemExit("apt-get source %s unpacked nothing in %s" % (package, src))
    return found[0]


BZIP2_SOURCES = ["bzip2.c", "blocksort.c", "huffman.c", "crctable.c", "randtable.c",
                 "compress.c", "decompress.c", "bzlib.c"]


def make_text(path, mb):
    """Text from a fixed-seed word list: compressible, the same on every machine."""
    if os.path.exists(path) and os.path.getsize(path) >= mb << 20:
        return path
    r = random.Random(1)
    words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9)))
             for _ in range(5000)]
    out, n = [], 0
    while n < mb << 20:
        line = " ".join(r.choice(words) for _ in range(r.randint(3, 14))) + "\n"
        out.append(line)
        n += len(line)
    with open(path, "w") as f:
        f.write("".join(out))
    return path


class Bzip2:
    """Debian's bzip2: compress a text with -9, decompress the result."""
    package = "bzip2"
    work = "bench-bolt"

    def __init__(self, args):
        self.mb = args.mb

    def build(self, srcdir, cc, out):
        if not os.path.exists(out):
            sh([cc, "-O2", "-g", "-D_FILE_OFFSET_BITS=64", "-Wl,-q", "-o", out] +
               [os.path.join(srcdir, f) for f in BZIP2_SOURCES])
        return out

    def prepare(self, work, binary, prefix=(), mb=None, tag=""):
        """The input files; a compressed copy made by `binary` (under `prefix`)."""
        mb = mb or self.mb
        self.data = make_text(os.path.join(work, "input%s.txt" % tag), mb)
        self.packed = os.path.join(work, "input%s.bz2" % tag)
        with open(self.packed, "wb") as f:
            subprocess.run(list(prefix) + [binary, "-9", "-c", self.data], stdout=f, check=True)

    def runs(self, binary):
        return [[binary, "-9", "-c", self.data], [binary, "-d", "-c", self.packed]]

    def describe(self, srcdir, rounds):
        return ("bzip2 (Debian source %s), x86_64, -O2 -Wl,-q; workload: bzip2 -9 of %d MB of "
                "text, then bzip2 -d of the result; median of %d interleaved rounds, native" %
                (os.path.basename(srcdir.rstrip("/")), self.mb, rounds))


def sqlite3_amalgamation(srcdir):
    """shell.c and sqlite3.c in SRCDIR, made once from the source package (SQLite's tree:
    tclsh or the jimsh autosetup builds)."""
    if not (os.path.exists(os.path.join(srcdir, "sqlite3.c")) and
            os.path.exists(os.path.join(srcdir, "shell.c"))):
        if not os.path.exists(os.path.join(srcdir, "Makefile")):
            sh(["./configure", "--disable-tcl"], cwd=srcdir)
        sh(["make", "-j%d" % (os.cpu_count() or 1), "sqlite3.c", "shell.c"], cwd=srcdir)


class Sqlite3:
    """Debian's sqlite3: the shell on an in-memory database, one SQL script."""
    package = "sqlite3"
    work = "bench-bolt-sqlite3"

    def __init__(self, args):
        self.rows = args.rows
        self.lookups = 5000

    def build(self, srcdir, cc, out):
        if os.path.exists(out):
            return out
        sqlite3_amalgamation(srcdir)
        sh([cc, "-O2", "-g", "-Wl,-q", "-fno-pie", "-no-pie", "-DSQLITE_THREADSAFE=0",
            "-DSQLITE_OMIT_LOAD_EXTENSION", "-I", srcdir, "-o", out,
            os.path.join(srcdir, "shell.c"), os.path.join(srcdir, "sqlite3.c"), "-lm"])
        return out

    def prepare(self, work, binary, prefix=(), mb=None, tag=""):
        self.sql = bench.write_sql(os.path.join(work, "script-%d.sql" % self.rows), self.rows,
                                   self.lookups)

    def runs(self, binary):
        return [[binary, ":memory:", ".read " + self.sql]]

    def describe(self, srcdir, rounds):
        return ("sqlite3 shell (Debian source %s, shell.c + sqlite3.c), x86_64, -O2 -Wl,-q, "
                "non-PIE; workload: in-memory database, %d INSERTs, 2 indexes, GROUP BY, "
                "self-join, LIKE, %d indexed lookups; median of %d interleaved rounds, native" %
                (os.path.basename(srcdir.rstrip("/")), self.rows, self.lookups, rounds))


PROGRAMS = {"bzip2": Bzip2, "sqlite3": Sqlite3}


def workload(prog, prefix, binary, outdir, tag):
    """The program's runs, each one's output in a file; returns the files."""
    outs = []
    for i, argv in enumerate(prog.runs(binary)):
        o = os.path.join(outdir, "%s.%d.out" % (tag, i))
        with open(o, "wb") as f:
            subprocess.run(list(prefix) + argv, stdout=f, check=True)
        outs.append(o)
    return outs


def same(x, y):
    with open(x, "rb") as f, open(y, "rb") as g:
        return f.read() == g.read()


def all_same(xs, ys):
    return len(xs) == len(ys) and all(same(x, y) for x, y in zip(xs, ys))


def bolt(binary, out, args, log):
    r = subprocess.run([BOLT, binary, "-o", out] + args, capture_output=True, text=True)
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0 or not os.path.exists(out):
        raise SystemExit("llvm-bolt-16 failed, see %s" % log)
    keep = [l for l in (r.stdout + r.stderr).splitlines()
            if "PERF2BOLT: traces mismatching" in l or "non-empty execution profile" in l
            or "functions with profile could not be optimized" in l]
    return keep


def speedups(times, names, say):
    """Each binary's median time and speedup against the first's (also bench/pgo_e2e.py)."""
    base = statistics.median(times[names[0]])
    speed = {}
    for bname in names:
        m = statistics.median(times[bname])
        speed[bname] = base / m - 1
        say("  %-36s %7.3f s  speedup %+6.2f%%  (min %.3f, max %.3f)" %
            (bname, m, 100 * speed[bname], min(times[bname]), max(times[bname])))
    return speed


def cflow_profile(cflow, prog, binary, work, tag, record_opts=()):
    """cflow record of each of the program's runs, merged, exported for BOLT."""
    profs = []
    for i, argv in enumerate(prog.runs(binary)):
        p = os.path.join(work, "%s-%d.cflow" % (tag, i))
        with open(os.devnull, "wb") as null:
            subprocess.run([cflow, "record", "-o", p] + list(record_opts) + ["--"] + argv,
                           stdout=null, check=True)
        profs.append(p)
    merged = os.path.join(work, "%s.cflow" % tag)
    # the runs load libc at different places: --force; only the program's own code is exported
    if len(profs) > 1:
        sh([cflow, "merge", "--force", "-o", merged] + profs)
    else:
        shutil.copyfile(profs[0], merged)
    fdata = os.path.join(work, "%s.fdata" % tag)
    sh([cflow, "export", "bolt", merged, "-o", fdata])
    return fdata


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(TOP, "build"))
    ap.add_argument("--program", choices=sorted(PROGRAMS), default="bzip2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--mb", type=int, default=8, help="bzip2: MB of text")
    ap.add_argument("--rows", type=int, default=300000, help="sqlite3: rows inserted")
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build)
    cflow = os.path.join(build_dir, "tool", "cflow")
    qemu = os.path.join(TOP, ".deps", "qemu", "bin")
    prog = PROGRAMS[args.program](args)
    name = args.program
    work = os.path.join(build_dir, prog.work)
    os.makedirs(work, exist_ok=True)
    for tool in (BOLT, "aarch64-linux-gnu-gcc"):
        if not shutil.which(tool):
            raise SystemExit("%s not found (make deps installs bolt-16)" % tool)
    srcdir = source(work, prog.package)
    x86 = prog.build(srcdir, "gcc", os.path.join(work, name + "-x86_64"))
    prog.prepare(work, x86)
    ref = workload(prog, [], x86, work, "ref")
    lines = []

    def say(s):
        print(s, flush=True)
        lines.append(s)

    # 2. cflow's profile, under qemu-x86_64
    fdata = cflow_profile(cflow, prog, x86, work, "x86")
    cflow_bin = os.path.join(work, name + "-x86_64.cflow-bolt")
    info_c = bolt(x86, cflow_bin, ["-pa", "-p", fdata] + FLAGS, os.path.join(work, "bolt-cflow.log"))

    # 3. BOLT's instrumentation, run natively on the same workload
    instr = os.path.join(work, name + "-x86_64.instr")
    ifdata = os.path.join(work, "instr.fdata")
    if os.path.exists(ifdata):
        os.unlink(ifdata)
    bolt(x86, instr, ["-instrument", "-instrumentation-file=" + ifdata,
                      "-runtime-instrumentation-lib=" + RT], os.path.join(work, "bolt-instr.log"))
    # each run of the instrumented binary adds its counts to the file
    workload(prog, [], instr, work, "instr")
    instr_bin = os.path.join(work, name + "-x86_64.instr-bolt")
    info_i = bolt(x86, instr_bin, ["-data=" + ifdata] + FLAGS, os.path.join(work, "bolt-data.log"))

    binaries = [("as built", x86), ("BOLT, cflow profile (qemu-x86_64)", cflow_bin),
                ("BOLT, instrumentation profile", instr_bin)]
    for bname, b in binaries[1:]:
        if not all_same(workload(prog, [], b, work, "check"), ref):
            raise SystemExit("%s: output differs from the original's" % bname)
    times = {bname: [] for bname, _ in binaries}
    for r in range(args.rounds):
        order = binaries[r % 3:] + binaries[:r % 3]
        for bname, b in order:
            t0 = time.perf_counter()
            workload(prog, [], b, work, "timed")
            times[bname].append(time.perf_counter() - t0)
    say(prog.describe(srcdir, args.rounds))
    speed = speedups(times, [bname for bname, _ in binaries], say)
    # on a loaded machine the fastest round is the least disturbed one: say both
    best = min(times["as built"])
    say("  best of %d: " % args.rounds + ", ".join(
        "%s %+.2f%%" % (bname.split(",")[-1].strip(), 100 * (best / min(times[bname]) - 1))
        for bname, _ in binaries[1:]))
    si, sc = speed[binaries[2][0]], speed[binaries[1][0]]
    if si > 0:
        say("  cflow's profile gets %.0f%% of the instrumentation profile's speedup" %
            (100 * sc / si))
    else:
        say("  the instrumentation profile gave no speedup: no ratio")
    for l in info_c:
        say("  bolt (cflow): " + l.strip())
    for l in info_i:
        say("  bolt (instr): " + l.strip())
    with open(os.path.join(work, "times.txt"), "w") as f:
        for bname, _ in binaries:
            f.write("%s: %s\n" % (bname, " ".join("%.3f" % t for t in times[bname])))

    ok = True
    if name == "bzip2":
        ok = aarch64(prog, srcdir, cflow, qemu, work, say)
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0 if ok else 1


def aarch64(prog, srcdir, cflow, qemu, work, say):
    """Profile under qemu-aarch64, BOLT here, both binaries run under qemu-aarch64."""
    a64 = prog.build(srcdir, "aarch64-linux-gnu-gcc", os.path.join(work, "bzip2-aarch64"))
    qa = [os.path.join(qemu, "qemu-aarch64"), "-L", AARCH64_SYSROOT]
    prog.prepare(work, a64, prefix=qa, mb=1, tag="-small")
    fdata = cflow_profile(cflow, prog, a64, work, "a64",
                          ["--qemu-opt", "-L", "--qemu-opt", AARCH64_SYSROOT])
    a64_bolt = os.path.join(work, "bzip2-aarch64.cflow-bolt")
    info_a = bolt(a64, a64_bolt, ["-pa", "-p", fdata, "-reorder-blocks=ext-tsp",
                                  "-reorder-functions=hfsort"], os.path.join(work, "bolt-a64.log"))
    ra = workload(prog, qa, a64, work, "a64-ref")
    rb = workload(prog, qa, a64_bolt, work, "a64-bolt")
    ok = all_same(ra, rb)
    say("aarch64 (aarch64-linux-gnu-gcc -O2 -Wl,-q), BOLTed on this host from a qemu-aarch64 "
        "profile: output %s the original's (1 MB compress + decompress under qemu-aarch64)" %
        ("identical to" if ok else "DIFFERENT from"))
    for l in info_a:
        say("  bolt (aarch64): " + l.strip())
    return ok


if __name__ == "__main__":
    sys.exit(main())
