#!/usr/bin/python3
"""
The overhead benchmark behind `make bench`. Runs every workload under every configuration,
interleaved (a round runs each configuration once, in turn), and reports the median wall time
and its ratio to bare QEMU taken in the same rounds: these machines are shared and noisy, so
only side-by-side ratios mean anything.

    bench.py BUILDDIR [--rounds N] [--only NAME,...] [--json OUT]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = os.path.join(TOP, ".deps", "qemu")
QEMU_X86 = os.path.join(QEMU, "bin", "qemu-x86_64")


def build_yardsticks(out):
    """QEMU's contrib plugins, compiled from the QEMU tree we built QEMU from."""
    os.makedirs(out, exist_ok=True)
    glib = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0"], capture_output=True,
                          text=True, check=True).stdout.split()
    libs = {}
    for name in ("cflow", "hotblocks"):
        src = os.path.join(QEMU, "src", "contrib", "plugins", name + ".c")
        so = os.path.join(out, "libcontrib_%s.so" % name)
        if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", os.path.join(QEMU, "include"),
                            "-o", so, src] + glib, check=True)
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.join(build, "bench")
    libs = build_yardsticks(os.path.join(work, "plugins"))
    text, small = make_inputs(os.path.join(work, "inputs"))
    prof = os.path.join(work, "profile.cflow")

    workloads = {
        "bzip2 -9 (4 MB)": ["/usr/bin/bzip2", "-9", "-c", text],
        "xz -6 (1 MB)": ["/usr/bin/xz", "-6", "-T1", "-c", small],
        "xz -6 -T4 (4 MB, 4 threads)": ["/usr/bin/xz", "-6", "-T4", "--block-size=1MiB", "-c",
                                        text],
        "python3 (startup + loop)": ["/usr/bin/python3", "-S", "-c",
                                     "s=0\nfor i in range(300000): s+=i%7\nprint(s)"],
    }
    configs = {
        "bare": [],
        "cflow (this)": ["-plugin", os.path.join(build, "libcflow.so") +
                         ",report=off,output=" + prof],
        "contrib cflow": ["-plugin", libs["cflow"], "-d", "plugin", "-D", "/dev/null"],
        "contrib hotblocks": ["-plugin", libs["hotblocks"], "-d", "plugin", "-D", "/dev/null"],
    }
    only = [o for o in args.only.split(",") if o]
    results = {}
    for wname, wargv in workloads.items():
        if only and not any(o in wname for o in only):
            continue
        times = {c: [] for c in configs}
        rss = {c: [] for c in configs}
        for _ in range(args.rounds):
            for cname, cargs in configs.items():
                t0 = time.monotonic()
                proc = subprocess.Popen([QEMU_X86] + cargs + wargv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                _, status, usage = os.wait4(proc.pid, 0)
                dt = time.monotonic() - t0
                if os.waitstatus_to_exitcode(status) != 0:
                    sys.exit("%s under %s failed with status %d" % (wname, cname, status))
                times[cname].append(dt)
                rss[cname].append(usage.ru_maxrss / 1024.0)  # MiB
        results[wname] = {"seconds": times, "max_rss_mib": rss}
        base = statistics.median(times["bare"])
        print("%-30s" % wname + "".join(
            "  %s %.2fs (%.2fx, %.0f MiB)" % (c, statistics.median(t), statistics.median(t) / base,
                                             statistics.median(rss[c]))
            for c, t in times.items()), flush=True)

    # the table for the README
    names = list(configs)
    print("\n| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for wname, r in results.items():
        times = r["seconds"]
        base = statistics.median(times["bare"])
        cells = ["%.2f s" % base] + ["%.2fx" % (statistics.median(times[c]) / base)
                                      for c in names[1:]]
        print("| %s | %s |" % (wname, " | ".join(cells)))
    print("\nPeak memory (max RSS, MiB):\n")
    print("| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for wname, r in results.items():
        print("| %s | %s |" % (wname, " | ".join(
            "%.0f" % statistics.median(r["max_rss_mib"][c]) for c in names)))
    print("\n(median of %d interleaved rounds; time ratios to bare QEMU from the same rounds; "
          "%d cores)" % (args.rounds, os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
