#!/usr/bin/python3
"""
Same profiles before and after a change that must not change behaviour (a refactoring).

    identity.py BUILDDIR_BEFORE BUILDDIR_AFTER [--quick] [--only NAME,...] [--keep DIR]

Runs every deterministic guest of the test suite (the hand-written assembly guests of three
architectures, the single-threaded C guests, the system-mode guests on one vCPU) and every
deterministic bench workload under the plugin of each build directory, in fast and in
reference mode, writing binary profiles. Two profiles are the same when they are equal byte
for byte once the meta values that differ between any two runs of one program are blanked
(pid, elapsed_seconds, written_time, and in system mode cmdline, which names the plugin's
path and the output file): each file is decoded with BUILDDIR_AFTER's tool to JSON (which
holds every section of the file: meta, strings, instructions and their bytes, edges, blocks),
those values dropped, and the rest compared as text. --quick leaves out the bench workloads (minutes) and keeps
the suite's guests (seconds).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402

QEMU = os.path.join(TOP, ".deps", "qemu", "bin")
# differ between any two runs; cmdline (system mode) names the plugin's path and the output
VOLATILE = ("pid", "elapsed_seconds", "written_time", "cmdline")


def suite_jobs(build):
    """(name, argv before -plugin, argv after) of the test suite's deterministic guests."""
    guests = os.path.join(build, "integration", "guests")
    if not os.path.isdir(guests):
        sys.exit("identity: %s has no guests: run the integration tests there first" % guests)
    jobs = []
    for arch in ("x86_64", "aarch64", "riscv64"):
        d = os.path.join(guests, arch)
        for g in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            jobs.append(("%s/%s" % (arch, g), [os.path.join(QEMU, "qemu-" + arch)],
                         [os.path.join(d, g)]))
    c = os.path.join(guests, "c")
    # single-threaded C guests with fixed arguments (the threaded ones interleave differently)
    for g, args in (("callfault", []), ("faults", []), ("jit", []), ("rewrite", ["2000"])):
        if os.path.exists(os.path.join(c, g)):
            jobs.append(("c/" + g, [os.path.join(QEMU, "qemu-x86_64")],
                         [os.path.join(c, g)] + args))
    s = os.path.join(guests, "system")
    for g in sorted(os.listdir(s)) if os.path.isdir(s) else []:
        if g in ("aarch64-smp", "aarch64-shared"):
            continue  # several vCPUs: the interleaving differs from run to run
        jobs.append(("system/" + g,
                     [os.path.join(QEMU, "qemu-system-aarch64"), "-M", "virt", "-cpu", "max",
                      "-smp", "1", "-nographic", "-nic", "none", "-semihosting", "-kernel",
                      os.path.join(s, g)], []))
    return jobs


def bench_jobs(work):
    return [(w.name, [bench.QEMU_BIN[w.arch]] + bench.CHECK_QEMU_OPTS, w.argv)
            for w in bench.workloads(work) if w.check]


def profile(build, job, mode, out):
    name, pre, post = job
    if os.path.exists(out):
        os.unlink(out)
    plugin = ",".join([os.path.join(build, "libcflow.so"), "report=off", "mode=" + mode,
                       "output=" + out])
    cmd = ["setarch", "x86_64", "-R"] + pre + ["-plugin", plugin] + post
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, PYTHONHASHSEED="0", **bench.CHECK_ENV),
                       stdin=subprocess.DEVNULL, timeout=1800)
    if not os.path.exists(out):
        raise RuntimeError("%s, mode=%s: no profile (exit %d)\n%s"
                           % (name, mode, r.returncode, r.stderr[-2000:]))


def decoded(tool, path):
    r = subprocess.run([tool, "json", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (path, r.stderr))
    p = json.loads(r.stdout)
    for k in VOLATILE:
        p.get("meta", {}).pop(k, None)
    return json.dumps(p, sort_keys=True, indent=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="cflow-identity-")
    os.makedirs(work, exist_ok=True)
    jobs = suite_jobs(a.after) + ([] if a.quick else bench_jobs(os.path.join(work, "bench")))
    only = [o for o in a.only.split(",") if o]
    jobs = [j for j in jobs if not only or any(o in j[0] for o in only)]
    tool = os.path.join(a.after, "tool", "cflow")
    same = differ = 0
    for job in jobs:
        for mode in ("fast", "reference"):
            files = []
            for side, build in (("before", a.before), ("after", a.after)):
                f = os.path.join(work, "%s.%s.%s.cflow" % (job[0].replace("/", "_").replace(
                    " ", "_"), mode, side))
                profile(build, job, mode, f)
                files.append(f)
            ok = decoded(tool, files[0]) == decoded(tool, files[1])
            same, differ = same + ok, differ + (not ok)
            print("%-8s %-40s %s" % ("same" if ok else "DIFFERS", job[0], mode), flush=True)
    print("%d same, %d differ" % (same, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
