#!/usr/bin/python3
"""
The system-mode overhead benchmark behind `make bench-linux`: Debian's x86_64 Linux 6.1 booting
a busybox initramfs that runs a small workload and powers off (tests/guests/linux/build.sh), on
qemu-system-x86_64 -smp 2, bare and with the plugin writing a JSON profile. Interleaved rounds
(each round boots every configuration once, in turn); the median wall time, its ratio to bare
QEMU from the same rounds, and each QEMU's own peak RSS (os.wait4's rusage of that child).

    linux_boot.py BUILDDIR [--rounds N] [--json OUT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU_SYS = os.path.join(TOP, ".deps", "qemu", "bin", "qemu-system-x86_64")
MARKER = "CFLOW-WORKLOAD-DONE"
TIMEOUT = 600


def build_guest(out):
    r = subprocess.run(["bash", os.path.join(TOP, "tests", "guests", "linux", "build.sh"), out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("building the Linux guest failed:\n" + r.stderr)
    return out


def boot(cmd, log):
    """Runs one boot; returns (seconds, peak RSS in MiB). Exits on failure or timeout."""
    with open(log, "w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = t0 + TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, 9)
                os.wait4(proc.pid, 0)
                sys.exit("boot timed out after %d s (QEMU killed): %s" % (TIMEOUT, log))
            time.sleep(0.05)
        dt = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = open(log, errors="replace").read()
    if proc.returncode != 0 or MARKER not in text:
        sys.exit("boot failed (status %d, marker %s): see %s"
                 % (proc.returncode, "seen" if MARKER in text else "missing", log))
    return dt, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.join(build, "bench", "linux")
    os.makedirs(work, exist_ok=True)
    g = build_guest(os.path.join(build, "bench", "linux-guest"))
    base = [QEMU_SYS, "-M", "q35", "-smp", "2", "-m", "512", "-nographic", "-no-reboot",
            "-nic", "none", "-L", os.path.join(g, "fw"), "-kernel", os.path.join(g, "vmlinuz"),
            "-initrd", os.path.join(g, "initrd.gz"),
            "-append", "console=ttyS0 quiet panic=-1"]
    prof = os.path.join(work, "P.json")
    configs = {
        "bare": [],
        "cflow (this)": ["-plugin", os.path.join(build, "libcflow.so") +
                         ",output=%s,format=json,report=off" % prof],
    }
    times = {c: [] for c in configs}
    rss = {c: [] for c in configs}
    for rnd in range(args.rounds):
        for cname, cargs in configs.items():
            log = os.path.join(work, "console-%s-%d.txt" % (cname.split()[0], rnd))
            dt, mib = boot(base + cargs, log)
            times[cname].append(dt)
            rss[cname].append(mib)
            print("round %d %-14s %6.1f s %5.0f MiB" % (rnd + 1, cname, dt, mib), flush=True)
    bare = statistics.median(times["bare"])
    print("\n| Linux 6.1 boot + workload, -smp 2 | median wall | vs bare | peak RSS |")
    print("|---|---|---|---|")
    for c in configs:
        t = statistics.median(times[c])
        print("| %s | %.1f s | %.2fx | %.0f MiB |" % (c, t, t / bare, statistics.median(rss[c])))
    print("\n(median of %d interleaved rounds; each boot: firmware, kernel, busybox /init, "
          "workload, poweroff; %d cores)" % (args.rounds, os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seconds": times, "max_rss_mib": rss}, f, indent=1)


if __name__ == "__main__":
    main()
