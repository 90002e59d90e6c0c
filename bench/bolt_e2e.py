#!/usr/bin/python3
"""
bench/bolt_e2e.py: BOLT end to end with cflow's profile (make bench-bolt).

    bench/bolt_e2e.py [BUILD] [--rounds N] [--program bzip2] [--mb N]

A real program not written here, Debian's bzip2 source package (`apt-get source bzip2`),
built with -O2 -Wl,-q (relocations kept, so BOLT may move code), with libbz2 linked in:

x86_64, run natively on the same input (compress an N MB text with -9, decompress it):
  1. as built;
  2. BOLTed from cflow's profile of the same workload run under qemu-x86_64
     (cflow record, cflow merge of the two runs, cflow export bolt, llvm-bolt-16 -pa);
  3. BOLTed from BOLT's own instrumentation (llvm-bolt-16 -instrument, the instrumented binary
     run natively on the same input, then llvm-bolt-16 -data).
Both BOLT runs use the same optimisation flags. Rounds are interleaved (the three binaries in a
rotating order per round); the figure is each one's median wall time over the rounds, and
the speedups are relative to the original's median. Every output is checked against the
original's.

aarch64: the same source built with aarch64-linux-gnu-gcc (dynamically linked: BOLT 16 fails on
static aarch64 glibc), profiled under qemu-aarch64, BOLTed on this host from cflow's profile,
and both binaries run under qemu-aarch64: their outputs must be identical.

Writes the figures to stdout and BUILD/bench-bolt/results.txt. Takes a few minutes.
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


def build(srcdir, cc, out):
    if not os.path.exists(out):
        sh([cc, "-O2", "-g", "-D_FILE_OFFSET_BITS=64", "-Wl,-q", "-o", out] +
           [os.path.join(srcdir, f) for f in BZIP2_SOURCES])
    return out


def make_input(path, mb):
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


def workload(prefix, binary, data, packed, outdir, tag):
    """Compress data, decompress packed; returns the two output files."""
    a = os.path.join(outdir, tag + ".bz2")
    b = os.path.join(outdir, tag + ".txt")
    with open(a, "wb") as f:
        subprocess.run(prefix + [binary, "-9", "-c", data], stdout=f, check=True)
    with open(b, "wb") as f:
        subprocess.run(prefix + [binary, "-d", "-c", packed], stdout=f, check=True)
    return a, b


def same(x, y):
    with open(x, "rb") as f, open(y, "rb") as g:
        return f.read() == g.read()


def bolt(binary, out, args, log):
    r = subprocess.run([BOLT, binary, "-o", out] + args, capture_output=True, text=True)
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0 or not os.path.exists(out):
        raise SystemExit("llvm-bolt-16 failed, see %s" % log)
    keep = [l for l in (r.stdout + r.stderr).splitlines()
            if "PERF2BOLT: traces mismatching" in l or "non-empty execution profile" in l]
    return keep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--mb", type=int, default=8)
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build)
    cflow = os.path.join(build_dir, "tool", "cflow")
    qemu = os.path.join(TOP, ".deps", "qemu", "bin")
    work = os.path.join(build_dir, "bench-bolt")
    os.makedirs(work, exist_ok=True)
    for tool in (BOLT, "aarch64-linux-gnu-gcc"):
        if not shutil.which(tool):
            raise SystemExit("%s not found (make deps installs bolt-16)" % tool)
    srcdir = source(work, "bzip2")
    x86 = build(srcdir, "gcc", os.path.join(work, "bzip2-x86_64"))
    data = make_input(os.path.join(work, "input.txt"), args.mb)
    packed = os.path.join(work, "input.bz2")
    with open(packed, "wb") as f:
        subprocess.run([x86, "-9", "-c", data], stdout=f, check=True)
    ref = workload([], x86, data, packed, work, "ref")
    lines = []

    def say(s):
        print(s, flush=True)
        lines.append(s)

    # 2. cflow's profile, under qemu-x86_64
    profs = []
    for tag, argv in (("c", [x86, "-9", "-c", data]), ("d", [x86, "-d", "-c", packed])):
        p = os.path.join(work, "x86-%s.cflow" % tag)
        with open(os.devnull, "wb") as null:
            subprocess.run([cflow, "record", "-o", p, "--"] + argv, stdout=null, check=True)
        profs.append(p)
    merged = os.path.join(work, "x86.cflow")
    # the two runs load libc at different places: --force; only bzip2's own code is exported
    sh([cflow, "merge", "--force", "-o", merged] + profs)
    fdata = os.path.join(work, "cflow.fdata")
    sh([cflow, "export", "bolt", merged, "-o", fdata])
    cflow_bin = os.path.join(work, "bzip2-x86_64.cflow-bolt")
    info_c = bolt(x86, cflow_bin, ["-pa", "-p", fdata] + FLAGS, os.path.join(work, "bolt-cflow.log"))

    # 3. BOLT's instrumentation, run natively on the same workload
    instr = os.path.join(work, "bzip2-x86_64.instr")
    ifdata = os.path.join(work, "instr.fdata")
    if os.path.exists(ifdata):
        os.unlink(ifdata)
    bolt(x86, instr, ["-instrument", "-instrumentation-file=" + ifdata,
                      "-runtime-instrumentation-lib=" + RT], os.path.join(work, "bolt-instr.log"))
    workload([], instr, data, packed, work, "instr")
    instr_bin = os.path.join(work, "bzip2-x86_64.instr-bolt")
    info_i = bolt(x86, instr_bin, ["-data=" + ifdata] + FLAGS, os.path.join(work, "bolt-data.log"))

    binaries = [("as built", x86), ("BOLT, cflow profile (qemu-x86_64)", cflow_bin),
                ("BOLT, instrumentation profile", instr_bin)]
    for name, b in binaries[1:]:
        out = workload([], b, data, packed, work, "check")
        if not (same(out[0], ref[0]) and same(out[1], ref[1])):
            raise SystemExit("%s: output differs from the original's" % name)
    times = {name: [] for name, _ in binaries}
    for r in range(args.rounds):
        order = binaries[r % 3:] + binaries[:r % 3]
        for name, b in order:
            t0 = time.perf_counter()
            workload([], b, data, packed, work, "timed")
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["as built"])
    say("bzip2 (Debian source %s), x86_64, -O2 -Wl,-q; workload: bzip2 -9 of %d MB of text, "
        "then bzip2 -d of the result; median of %d interleaved rounds, native" %
        (os.path.basename(srcdir.rstrip("/")), args.mb, args.rounds))
    speed = {}
    for name, _ in binaries:
        m = statistics.median(times[name])
        speed[name] = base / m - 1
        say("  %-36s %7.3f s  speedup %+6.2f%%  (min %.3f, max %.3f)" %
            (name, m, 100 * speed[name], min(times[name]), max(times[name])))
    # on a loaded machine the fastest round is the least disturbed one: say both
    best = min(times["as built"])
    say("  best of %d: " % args.rounds + ", ".join(
        "%s %+.2f%%" % (name.split(",")[-1].strip(), 100 * (best / min(times[name]) - 1))
        for name, _ in binaries[1:]))
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

    # aarch64: profile under qemu-aarch64, BOLT here, both run under qemu-aarch64
    a64 = build(srcdir, "aarch64-linux-gnu-gcc", os.path.join(work, "bzip2-aarch64"))
    qa = [os.path.join(qemu, "qemu-aarch64"), "-L", AARCH64_SYSROOT]
    small = make_input(os.path.join(work, "input-small.txt"), 1)
    small_packed = os.path.join(work, "input-small.bz2")
    with open(small_packed, "wb") as f:
        subprocess.run(qa + [a64, "-9", "-c", small], stdout=f, check=True)
    profs = []
    for tag, argv in (("c", [a64, "-9", "-c", small]), ("d", [a64, "-d", "-c", small_packed])):
        p = os.path.join(work, "a64-%s.cflow" % tag)
        with open(os.devnull, "wb") as null:
            subprocess.run([cflow, "record", "-o", p, "--qemu-opt", "-L", "--qemu-opt",
                            AARCH64_SYSROOT, "--"] + argv, stdout=null, check=True)
        profs.append(p)
    merged = os.path.join(work, "a64.cflow")
    sh([cflow, "merge", "--force", "-o", merged] + profs)
    fdata = os.path.join(work, "a64.fdata")
    sh([cflow, "export", "bolt", merged, "-o", fdata])
    a64_bolt = os.path.join(work, "bzip2-aarch64.cflow-bolt")
    info_a = bolt(a64, a64_bolt, ["-pa", "-p", fdata, "-reorder-blocks=ext-tsp",
                                  "-reorder-functions=hfsort"], os.path.join(work, "bolt-a64.log"))
    ra = workload(qa, a64, small, small_packed, work, "a64-ref")
    rb = workload(qa, a64_bolt, small, small_packed, work, "a64-bolt")
    ok = same(ra[0], rb[0]) and same(ra[1], rb[1])
    say("aarch64 (aarch64-linux-gnu-gcc -O2 -Wl,-q), BOLTed on this host from a qemu-aarch64 "
        "profile: output %s the original's (1 MB compress + decompress under qemu-aarch64)" %
        ("identical to" if ok else "DIFFERENT from"))
    for l in info_a:
        say("  bolt (aarch64): " + l.strip())
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
