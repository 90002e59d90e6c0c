#!/usr/bin/python3
"""
The overhead benchmark behind `make bench`. Runs every workload under every configuration,
interleaved (a round runs each configuration once, in turn), and reports the median wall time
and its ratio to bare QEMU taken in the same rounds: these machines are shared and noisy, so
only side-by-side ratios mean anything.

    bench.py BUILDDIR [--rounds N] [--only NAME,...] [--json OUT] [--no-check]

Per workload and configuration it also reports the peak RSS of QEMU's own process (through
bench/rsswrap.c: see there why the benchmark cannot measure its children directly), and for
this plugin the size of the profile written. Then, unless --no-check, every deterministic
workload runs once more in fast mode and once in the reference mode (mode=reference), both
writing JSON, and the two profiles must be equal edge for edge and block for block, addresses
compared as (file, offset) through meta.maps. The fast-mode profile of that run also gives the
figures of "where the time goes" (helper calls per block entry, translated instructions, ...).

A full run (no --only) writes its output to bench/results-latest.txt.
"""
import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import profile_compare  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peak_rss  # noqa: E402

QEMU = os.path.join(TOP, ".deps", "qemu")
QEMU_BIN = {arch: os.path.join(QEMU, "bin", "qemu-" + arch) for arch in ("x86_64", "aarch64")}
# QEMU 10.2.2 without the project's patch series (qemu/patches): configurations whose name
# ends with STOCK run on it (--stock)
QEMU_STOCK_BIN = {arch: os.path.join(TOP, ".deps", "qemu-stock", "bin", "qemu-" + arch)
                  for arch in ("x86_64", "aarch64")}
STOCK = " (stock)"


def qemu_bin(arch, config):
    return (QEMU_STOCK_BIN if config.endswith(STOCK) else QEMU_BIN)[arch]
CACHE = os.environ.get("CFLOW_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cflow")
RESULTS = os.path.join(HERE, "results-latest.txt")
NOWRITE = "cflow, nothing written"
# Programs whose control flow depends on addresses (ld.so sorts its libraries by load address;
# cc1 hashes pointers) run different paths when the guest's mappings move, and without a
# reserved guest address space (which x86_64 guests cannot have: the vsyscall page) QEMU places
# them around the host's own mappings, so the plugin's allocations move them. In the exactness
# runs QEMU's own malloc keeps to its brk heap (one arena, no mmap below 32 MiB), away from the
# guest's mappings, and the guest does not see those variables (-U).
CHECK_ENV = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}
CHECK_QEMU_OPTS = [a for k in CHECK_ENV for a in ("-U", k)]


class Workload:
    def __init__(self, name, argv, arch="x86_64", repeat=1, check=True, why_not=""):
        self.name, self.argv, self.arch, self.repeat = name, argv, arch, repeat
        self.check, self.why_not = check, why_not


def build_yardsticks(out):
    """QEMU's contrib plugins, compiled from the QEMU tree we built QEMU from, and
    bench/floor_plugin.c (what the plugin API costs before any bookkeeping, --floor)."""
    os.makedirs(out, exist_ok=True)
    glib = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0"], capture_output=True,
                          text=True, check=True).stdout.split()
    sources = {name: (os.path.join(QEMU, "src", "contrib", "plugins", name + ".c"),
                      "libcontrib_%s.so" % name, []) for name in ("cflow", "hotblocks")}
    sources["floor"] = (os.path.join(HERE, "floor_plugin.c"), "libfloor.so", ["-Wall", "-Wextra"])
    libs = {}
    for name, (src, lib, warnings) in sources.items():
        so = os.path.join(out, lib)
        if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
            subprocess.run(["gcc", "-O2"] + warnings + ["-shared", "-fPIC", "-I",
                                                        os.path.join(QEMU, "include"), "-o", so,
                                                        src] + glib, check=True)
        libs[name] = so
    return libs


def make_inputs(out):
    os.makedirs(out, exist_ok=True)
    text = os.path.join(out, "text.4M")
    if not os.path.exists(text):
        # compressible but not trivial: pseudo-random words from a small vocabulary
        seed, words, size = 7, [], 0
        while size < 4 << 20:
            seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            w = "w%d" % ((seed >> 33) % 20000)
            words.append(w)
            size += len(w) + 1
        with open(text, "w") as f:
            f.write(" ".join(words))
    small = os.path.join(out, "text.1M")
    if not os.path.exists(small):
        with open(text, "rb") as f, open(small, "wb") as g:
            g.write(f.read(1 << 20))
    return text, small


def write_sql(path, rows, lookups):
    """An in-memory SQLite session: `rows` INSERTs in one transaction, two indexes, a GROUP BY,
    a self-join, LIKE and `lookups` indexed lookups (deterministic: a fixed-seed generator).
    Also bench/bolt_e2e.py's workload, scaled."""
    if os.path.exists(path):
        return path
    seed = 11

    def rnd(n):
        nonlocal seed
        seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return (seed >> 33) % n
    lines = ["CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL);", "BEGIN;"]
    for _ in range(rows):
        lines.append("INSERT INTO t(k, name, v) VALUES (%d, 'n%d', %d.%03d);"
                     % (rnd(2000), rnd(100000), rnd(1000), rnd(1000)))
    lines += ["COMMIT;", "CREATE INDEX tk ON t(k);", "CREATE INDEX tn ON t(name);",
              "SELECT k, count(*), sum(v) FROM t GROUP BY k ORDER BY 3 DESC LIMIT 5;",
              "SELECT count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < 2000;",
              "SELECT name FROM t WHERE name LIKE 'n99%' ORDER BY name LIMIT 3;",
              "SELECT avg(length(name)), max(v) FROM t WHERE k BETWEEN 100 AND 900;"]
    for _ in range(lookups):
        lines.append("SELECT sum(v) FROM t WHERE k = %d;" % rnd(2000))
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(path + ".tmp", path)
    return path


def make_sql(out):
    """The benchmark's session: 8,000 rows, 150 lookups."""
    return write_sql(os.path.join(out, "sqlite.sql"), 8000, 150)


def ensure_sqlite3():
    if os.path.exists("/usr/bin/sqlite3"):
        return
    print("bench: installing Debian's sqlite3 (also in scripts/deps)", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                           "-qq", "--no-install-recommends", "sqlite3"], check=True)


def bzip2_source():
    """Debian's bzip2 source package (sid's, the source suite scripts/deps adds), unpacked once
    into the cflow cache."""
    base = os.path.join(CACHE, "bench")
    os.makedirs(base, exist_ok=True)
    for d in sorted(os.listdir(base)):
        if d.startswith("bzip2-") and os.path.exists(os.path.join(base, d, "bzlib.c")):
            return os.path.join(base, d)
    showsrc = subprocess.run(["apt-cache", "showsrc", "bzip2"], capture_output=True, text=True)
    versions = [l.split()[1] for l in showsrc.stdout.splitlines() if l.startswith("Version:")]
    if not versions:
        sys.exit("bench: no source package for bzip2 (run scripts/deps, which adds the source "
                 "suite, then apt-get update)")
    r = subprocess.run(["apt-get", "source", "-qq", "bzip2=" + versions[0]], cwd=base,
                       capture_output=True, text=True)
    for d in sorted(os.listdir(base)):
        if d.startswith("bzip2-") and os.path.exists(os.path.join(base, d, "bzlib.c")):
            return os.path.join(base, d)
    sys.exit("bench: apt-get source bzip2 failed:\n" + r.stdout + r.stderr)


def build_aarch64_bzip2(src, out):
    """bzip2 built here from Debian's sources for aarch64, static (no sysroot needed at run
    time)."""
    exe = os.path.join(out, "bzip2-aarch64")
    if not os.path.exists(exe):
        os.makedirs(out, exist_ok=True)
        files = ["blocksort.c", "huffman.c", "crctable.c", "randtable.c", "compress.c",
                 "decompress.c", "bzlib.c", "bzip2.c"]
        subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-static", "-D_FILE_OFFSET_BITS=64",
                        "-o", exe + ".tmp"] + files, cwd=src, check=True)
        os.rename(exe + ".tmp", exe)
    return exe


def build_rewrite(out):
    """tests/guests/c/rewrite.c: a JIT rewriting one function in place, N times."""
    src = os.path.join(TOP, "tests", "guests", "c", "rewrite.c")
    exe = os.path.join(out, "rewrite")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(out, exist_ok=True)
        subprocess.run(["gcc", "-O1", "-static", "-o", exe, src], check=True)
    return exe


def make_cc1_input(src, out):
    """bzip2's huffman.c, preprocessed by the host gcc, so cc1 can be called directly."""
    path = os.path.join(out, "huffman.i")
    if not os.path.exists(path):
        subprocess.run(["gcc", "-E", "-P", "-o", path + ".tmp", os.path.join(src, "huffman.c")],
                       check=True)
        os.rename(path + ".tmp", path)
    return path


def workloads(work):
    text, small = make_inputs(os.path.join(work, "inputs"))
    ensure_sqlite3()
    sql = make_sql(os.path.join(work, "inputs"))
    src = bzip2_source()
    bz_a64 = build_aarch64_bzip2(src, os.path.join(work, "aarch64"))
    hf = make_cc1_input(src, os.path.join(work, "inputs"))
    rewrite = build_rewrite(os.path.join(work, "rewrite"))
    cc1 = subprocess.run(["gcc", "-print-prog-name=cc1"], capture_output=True, text=True,
                         check=True).stdout.strip()
    return [
        Workload("bzip2 -9 (4 MB)", ["/usr/bin/bzip2", "-9", "-c", text]),
        Workload("xz -6 (1 MB)", ["/usr/bin/xz", "-6", "-T1", "-c", small]),
        Workload("xz -6 -T4 (4 MB, 4 threads)",
                 ["/usr/bin/xz", "-6", "-T4", "--block-size=1MiB", "-c", text],
                 check=False, why_not="4 threads: the interleaving differs from run to run"),
        Workload("python3 (startup + loop)",
                 ["/usr/bin/python3", "-S", "-c", "s=0\nfor i in range(300000): s+=i%7\nprint(s)"]),
        Workload("sqlite3 (in-memory SQL)", ["/usr/bin/sqlite3", ":memory:", ".read " + sql]),
        Workload("python3 -c pass (x3)", ["/usr/bin/python3", "-c", "pass"], repeat=3),
        Workload("cc1 -O1 (huffman.c)", [cc1, "-quiet", "-O1", "-fpreprocessed", hf, "-o",
                                         "/dev/null"]),
        Workload("aarch64 bzip2 -9 (4 MB)", [bz_a64, "-9", "-c", text], arch="aarch64"),
        # a JIT reusing its code space: the per-translation cost must not grow with history
        Workload("rewrite x50,000 (JIT)", [rewrite, "50000"]),
        Workload("rewrite x200,000 (JIT)", [rewrite, "200000"]),
    ]


# ---------------------------------------------------------------------------------------------
# Exactness: scripts/profile_compare.py (shared with the tests)

def json_profile(build, work, w, mode):
    path = os.path.join(work, "check-%s.json" % mode)
    if os.path.exists(path):
        os.unlink(path)
    plugin = ",".join([os.path.join(build, "libcflow.so"), "report=off", "format=json",
                       "mode=" + mode, "output=" + path])
    # no address-space randomisation, as in the integration tests; a fixed hash seed
    cmd = ["setarch", "x86_64", "-R", QEMU_BIN[w.arch]] + CHECK_QEMU_OPTS + ["-plugin", plugin] + w.argv
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, PYTHONHASHSEED="0", **CHECK_ENV))
    dt = time.monotonic() - t0
    if r.returncode != 0 or not os.path.exists(path):
        raise RuntimeError("%s, mode=%s: exit %d\n%s" % (w.name, mode, r.returncode,
                                                         r.stderr[-2000:]))
    with open(path) as f:
        prof = json.load(f)
    os.unlink(path)
    return prof, dt


def check_and_stats(build, work, w):
    """Returns (exact: str, stats: dict). stats come from the fast-mode profile."""
    fast, fast_s = json_profile(build, work, w, "fast")
    meta = fast["meta"]
    stats = {k: int(meta[k]) for k in ("block_entries", "helper_calls", "lean_stores_skipped",
                                       "adaptations", "hotpath_allocations") if k in meta}
    stats["insns"] = len(fast["insns"])
    stats["edges"] = len(fast["edges"])
    stats["blocks"] = len(fast["blocks"])
    stats["fast_json_s"] = fast_s
    if any(meta.get(k, "0") != "0" for k in ("unattributed_entries", "inconsistent_entries")):
        return "NO (bookkeeping did not balance)", stats
    if not w.check:
        return "not checked (%s)" % w.why_not, stats
    ref, ref_s = json_profile(build, work, w, "reference")
    stats["reference_s"] = ref_s
    differ = profile_compare.counts_differ(fast, ref)
    if differ:
        return "NO: " + differ, stats
    return "yes (%d edges)" % len(fast["edges"]), stats


# ---------------------------------------------------------------------------------------------

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def mib(kib):
    return kib / 1024.0


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed runs of bare QEMU and of this plugin before each workload's "
                         "rounds (the first workload of a run came out up to 40%% slower without)")
    ap.add_argument("--json", default="")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the fast-versus-reference comparison (and the figures from it)")
    ap.add_argument("--check", action="store_true", help="(the default) compare with reference")
    ap.add_argument("--stock", action="store_true",
                    help="also time bare QEMU and this plugin (and with --floor the edges "
                         "floor) on stock QEMU 10.2.2, without qemu/patches")
    ap.add_argument("--floor", action="store_true",
                    help="also time bench/floor_plugin.c's four modes: the plugin API's own "
                         "cost with nothing recorded")
    return ap.parse_args()


def make_configs(args, build, libs, prof):
    """Each configuration's QEMU arguments, by name (qemu_bin picks stock QEMU by the name)."""
    configs = {
        "bare": [],
        "cflow (this)": ["-plugin", os.path.join(build, "libcflow.so") +
                         ",report=off,output=" + prof],
        "contrib cflow": ["-plugin", libs["cflow"], "-d", "plugin", "-D", "/dev/null"],
        "contrib hotblocks": ["-plugin", libs["hotblocks"], "-d", "plugin", "-D", "/dev/null"],
        # the same plugin with nothing written at exit: what writing the profile costs
        NOWRITE: ["-plugin", os.path.join(build, "libcflow.so") + ",report=off"],
    }
    if args.floor:
        for m in ("empty", "count", "check", "edges"):
            configs["floor " + m] = ["-plugin", libs["floor"] + ",mode=" + m]
    if args.stock:
        configs["bare" + STOCK] = []
        configs["cflow" + STOCK] = configs["cflow (this)"]
        if args.floor:
            configs["floor edges" + STOCK] = configs["floor edges"]
    return configs


def med(r, key, c):
    return statistics.median(r[key][c])


def time_workload(w, args, configs, tools, prof, env):
    """The workload's untimed runs, then its interleaved rounds: times, peak RSS, profile sizes."""
    times = {c: [] for c in configs}
    rss = {c: [] for c in configs}
    psize = []
    for _ in range(args.warmup):
        for cname in ("bare", "cflow (this)", NOWRITE):
            peak_rss.measure([qemu_bin(w.arch, cname)] + configs[cname] + w.argv, tools,
                             repeat=w.repeat, env=env)
    for _ in range(args.rounds):
        for cname, cargs in configs.items():
            if cname == "cflow (this)" and os.path.exists(prof):
                os.unlink(prof)
            r = peak_rss.measure([qemu_bin(w.arch, cname)] + cargs + w.argv, tools,
                                 repeat=w.repeat, env=env)
            if r.status != 0:
                sys.exit("%s under %s failed with wait status %d" % (w.name, cname, r.status))
            times[cname].append(r.seconds)
            rss[cname].append(r.peak_kib)
            if cname == "cflow (this)":
                psize.append(os.path.getsize(prof))
    return {"seconds": times, "peak_rss_kib": rss, "profile_bytes": psize, "arch": w.arch,
            "repeat": w.repeat, "argv": w.argv}


def say_times(say, results, names):
    say("\n| workload | bare | " + " | ".join(names[1:]) + " | exact |")
    say("|---" * (len(names) + 2) + "|")
    for wname, r in results.items():
        base = med(r, "seconds", "bare")
        cells = ["%.2f s" % base] + ["%.2fx" % (med(r, "seconds", c) / base) for c in names[1:]]
        say("| %s | %s | %s |" % (wname, " | ".join(cells),
                                  r.get("exact", "-").split(" (")[0]))
    gm = {c: geomean([med(r, "seconds", c) / med(r, "seconds", "bare") for r in results.values()])
          for c in names[1:]}
    say("| **geometric mean** | | %s | |" % " | ".join("**%.2fx**" % gm[c] for c in names[1:]))


def say_stock(say, results, floor):
    # stock QEMU against its own bare run, and the patched bare QEMU against stock
    cols = [("bare patched / bare stock", "bare", "bare" + STOCK),
            ("cflow on stock / bare stock", "cflow" + STOCK, "bare" + STOCK)]
    if floor:
        cols += [("floor edges on stock / bare stock", "floor edges" + STOCK, "bare" + STOCK),
                 ("cflow on stock / floor edges on stock", "cflow" + STOCK,
                  "floor edges" + STOCK)]
    say("\nStock QEMU 10.2.2 (no qemu/patches), same rounds:\n")
    say("| workload | bare stock | " + " | ".join(c[0] for c in cols) + " |")
    say("|---" * (len(cols) + 2) + "|")
    for wname, r in results.items():
        say("| %s | %.2f s | %s |" % (wname, med(r, "seconds", "bare" + STOCK), " | ".join(
            "%.2fx" % (med(r, "seconds", a) / med(r, "seconds", b)) for _, a, b in cols)))
    say("| **geometric mean** | | %s |" % " | ".join(
        "**%.2fx**" % geomean([med(r, "seconds", a) / med(r, "seconds", b)
                               for r in results.values()]) for _, a, b in cols))


def say_rss(say, results, names):
    say("\nPeak RSS of QEMU's own process (MiB; for a repeated command the largest run), and the "
        "size of this plugin's profile (format=cflow):\n")
    say("| workload | " + " | ".join(names) + " | profile |")
    say("|---" * (len(names) + 2) + "|")
    for wname, r in results.items():
        say("| %s | %s | %.1f MiB |" % (wname, " | ".join(
            "%.0f" % mib(med(r, "peak_rss_kib", c)) for c in names),
            statistics.median(r["profile_bytes"]) / 2**20))
    gmr = {c: geomean([med(r, "peak_rss_kib", c) / med(r, "peak_rss_kib", "bare")
                       for r in results.values()]) for c in names[1:]}
    say("| geometric mean vs bare | 1.00x | %s | |" % " | ".join("%.2fx" % gmr[c]
                                                              for c in names[1:]))


def say_where_time_goes(say, results):
    say("\nWhere the time goes (this plugin; counts from one fast-mode run writing JSON, "
        "memory from the timed runs' medians):\n")
    say("| workload | cflow - bare | of which writing the profile | translated insns | block entries | helper calls "
        "per entry | lean stores left out | adaptations | distinct edges | "
        "RSS cflow - bare | bytes per insn | bytes per edge |")
    say("|---" * 12 + "|")
    for wname, r in results.items():
        s = r.get("stats") or {}
        if "block_entries" not in s:
            continue
        extra = med(r, "seconds", "cflow (this)") - med(r, "seconds", "bare")
        drss = (med(r, "peak_rss_kib", "cflow (this)") - med(r, "peak_rss_kib", "bare")) * 1024
        reps = r["repeat"]
        # a repeated command: the counts are one run's, the time all runs'
        write = med(r, "seconds", "cflow (this)") - med(r, "seconds", NOWRITE)
        say("| %s | %.2f s | %.2f s | %d | %.1f M | %.3f | %d | %d | %d | %.1f MiB | %.0f | %.0f |" % (
            wname, extra / reps, write / reps, s["insns"], s["block_entries"] / 1e6,
            s["helper_calls"] / max(1, s["block_entries"]),
            s.get("lean_stores_skipped", 0),
            s.get("adaptations", 0), s["edges"], drss / 2**20,
            drss / max(1, s["insns"]), drss / max(1, s["edges"])))
    say("\n(for a repeated command, time and counts are per run)")


def say_translation(say, results):
    # translation: the most translation-heavy workload (most translated instructions per
    # block entry) gives an upper bound of the extra time per translated instruction (all of
    # its extra time counted as translation); applied to the others, an upper bound of the
    # share of their extra time that translation can explain
    rows = [(r["stats"]["insns"] / max(1, r["stats"]["block_entries"]), wname, r)
            for wname, r in results.items() if (r.get("stats") or {}).get("insns")]
    if rows:
        _, tname, tr = max(rows)
        k = ((med(tr, "seconds", NOWRITE) - med(tr, "seconds", "bare")) / tr["repeat"]
             / tr["stats"]["insns"])
        say("\nTranslation: on %s the plugin, writing nothing, adds %.1f us per translated "
            "instruction (all of its extra time counted as translation). At that rate, "
            "translation explains at most (of the extra time without writing):\n"
            % (tname, k * 1e6))
        say("| workload | translated insns per 1000 block entries | extra time | "
            "translation share (at most) |")
        say("|---|---|---|---|")
        for _, wname, r in rows:
            extra = (med(r, "seconds", NOWRITE) - med(r, "seconds", "bare")) / r["repeat"]
            share = k * r["stats"]["insns"] / extra if extra > 0 else float("nan")
            say("| %s | %.2f | %.2f s | %.0f%% |" % (
                wname, 1000.0 * r["stats"]["insns"] / max(1, r["stats"]["block_entries"]),
                extra, 100 * min(1.0, share)))


def main():
    args = parse_args()
    build = os.path.abspath(args.build)
    work = os.path.join(build, "bench")
    tools = os.path.join(work, "tools")
    libs = build_yardsticks(os.path.join(work, "plugins"))
    prof = os.path.join(work, "profile.cflow")
    started = datetime.datetime.now(datetime.timezone.utc)
    out_lines = []

    def say(s=""):
        print(s, flush=True)
        out_lines.append(s)

    configs = make_configs(args, build, libs, prof)
    names = [c for c in configs if c != NOWRITE]
    only = [o for o in args.only.split(",") if o]
    wls = [w for w in workloads(work) if not only or any(o in w.name for o in only)]
    cmdline = "bench/run %s" % " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "bench/run"
    say("%s, %s UTC, %d rounds after %d untimed, QEMU 10.2.2 linux-user, %d cores" % (
        cmdline, started.strftime("%Y-%m-%d %H:%M"), args.rounds, args.warmup, os.cpu_count()))
    env = dict(os.environ, PYTHONHASHSEED="0")
    results = {}
    for w in wls:
        res = time_workload(w, args, configs, tools, prof, env)
        times, rss = res["seconds"], res["peak_rss_kib"]
        base = statistics.median(times["bare"])
        say("%-28s" % w.name + "".join(
            "  %s %.2fs (%.2fx, %.0f MiB)" % (c, statistics.median(t), statistics.median(t) / base,
                                             mib(statistics.median(rss[c])))
            for c, t in times.items()) + "  profile %.1f MiB" % (
                statistics.median(res["profile_bytes"]) / 2**20))
        if not args.no_check:
            try:
                exact, stats = check_and_stats(build, work, w)
            except RuntimeError as e:
                exact, stats = "NO (%s)" % str(e).splitlines()[0], {}
            res["exact"], res["stats"] = exact, stats
            say("%-28s  fast = reference: %s" % ("", exact))
        results[w.name] = res

    # the tables for the README
    say_times(say, results, names)
    if args.stock:
        say_stock(say, results, args.floor)
    say_rss(say, results, names)
    if not args.no_check:
        say_where_time_goes(say, results)
        say_translation(say, results)
    say("\n(median of %d interleaved rounds; time ratios to bare QEMU from the same rounds; "
        "%d cores; exact: the fast mode's profile equals mode=reference's, edge for edge and "
        "block for block)" % (args.rounds, os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if not only:
        with open(RESULTS + ".tmp", "w") as f:
            f.write("\n".join(out_lines) + "\n")
        os.rename(RESULTS + ".tmp", RESULTS)
        print("\n(written to bench/results-latest.txt)")
    if not args.no_check and any(not r.get("exact", "").startswith(("yes", "not checked"))
                                 for r in results.values()):
        sys.exit("bench: a fast-mode profile differs from the reference mode's")


if __name__ == "__main__":
    main()
