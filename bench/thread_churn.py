#!/usr/bin/python3
"""
Thread churn: peak memory and time of a relay of N threads (tests/guests/c/relay.c: each thread
created before the previous one is joined, so QEMU's vCPU index climbs to N) under bare QEMU and
under the plugin writing a profile. Peak RSS is each QEMU process's own, from wait4()'s
rusage of that child alone (nothing of this script's is carried into it). Also checks the
profile is exact: N thread entries, N x 999 loop branches.

    thread_churn.py BUILDDIR [--threads 5000,50000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = os.path.join(TOP, ".deps", "qemu", "bin", "qemu-x86_64")


def run_child(cmd):
    """(wall seconds, peak RSS in MiB, exit status) of one child, measured alone."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--threads", default="5000,50000")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    plugin = os.path.join(build, "libcflow.so")
    guest = os.path.join(build, "bench", "relay")
    os.makedirs(os.path.dirname(guest), exist_ok=True)
    subprocess.run(["gcc", "-O1", "-static", "-pthread", "-o", guest,
                    os.path.join(TOP, "tests", "guests", "c", "relay.c")], check=True)
    syms = {}
    for line in subprocess.run(["nm", guest], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    print("| threads | bare time | bare peak RSS | cflow time | cflow peak RSS | RSS ratio | exact |")
    print("|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.threads.split(",")]:
        bt, brss, bst = run_child([QEMU, guest, str(n)])
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "p.json")
            ct, crss, cst = run_child([QEMU, "-plugin", plugin + ",format=json,report=off,output="
                                       + out, guest, str(n)])
            with open(out) as f:
                prof = json.load(f)
        taken = sum(e["count"] for e in prof["edges"]
                    if int(e["from"], 16) == syms["relay_branch"]
                    and int(e["to"], 16) == syms["relay_top"])
        exact = (bst == 0 and cst == 0 and taken == n * 999 and
                 int(prof["meta"]["thread_entries"]) == n + 1)
        print("| %d | %.1f s | %.0f MiB | %.1f s | %.0f MiB | %.2fx | %s |" %
              (n, bt, brss, ct, crss, crss / brss, "yes" if exact else "NO"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
