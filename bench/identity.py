#!/usr/bin/python3
"""
Same profiles before and after a change that must not change behaviour (a refactoring).

    identity.py BUILDDIR_BEFORE BUILDDIR_AFTER [--quick] [--only NAME,...] [--keep DIR]

Runs every deterministic guest of the test suite (the hand-written assembly guests of three
architectures, the single-threaded C guests, the system-mode guests on one vCPU) and every
deterministic bench workload under the plugin of each build directory, in fast and in
reference mode, writing binary profiles, and compares each pair:

- "same": equal byte for byte once the meta values that differ between any two runs of one
  program are blanked (pid, elapsed_seconds, written_time, and in system mode cmdline, which
  names the plugin's path and the output file): each file is decoded with BUILDDIR_AFTER's tool
  to JSON (which holds every section of the file: meta, strings, instructions and their bytes,
  edges, blocks), those values dropped, and the rest compared as text. The suite's guests are
  static, at fixed addresses: they must all be "same".
- "same relocated": a dynamically linked program's libraries land where QEMU finds room
  around its own mappings, which include the plugin's, so two builds of the plugin see them
  at other addresses (bench/bench.py says more). Then every address is compared as
  file+offset through meta maps (scripts/profile_compare.py), and every instruction, edge,
  block and meta value must be equal but the maps themselves and the fast path's plan
  statistics (helper calls, second-predecessor entries, adaptations, stores left out): its
  tie-breaks between equally good plans follow addresses. Counts are compared exactly.
- "DIFFERS": anything else; the script then exits 1.

--quick leaves out the bench workloads (minutes) and keeps the suite's guests (seconds). The
workloads whose path depends on their layout (LAYOUT_DEPENDENT) are left out.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "scripts"))
import profile_compare  # noqa: E402

QEMU = os.path.join(TOP, ".deps", "qemu", "bin")
# differ between any two runs; cmdline (system mode) names the plugin's path and the output
VOLATILE = ("pid", "elapsed_seconds", "written_time", "cmdline")
# how the fast path carried the counts: helper calls, inline second-predecessor counts, ...
PLAN_META = ("helper_calls", "second_predecessor_entries", "adaptations", "lean_stores_skipped",
             "in_flight_entries")


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


# Programs whose path depends on where their mappings land (python3 hashes objects by address,
# cc1 hashes pointers; bench/bench.py): under two builds of the plugin, which take other
# mappings, they run other paths, so their profiles cannot be compared across builds. Each
# build's fast mode is compared with its own reference mode by `make bench` instead.
LAYOUT_DEPENDENT = ("python3", "cc1")


def bench_jobs(work):
    return [(w.name, [bench.QEMU_BIN[w.arch]] + bench.CHECK_QEMU_OPTS, w.argv)
            for w in bench.workloads(work)
            if w.check and not any(n in w.name for n in LAYOUT_DEPENDENT)]


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
    return p


def relocated(p):
    """The profile with every address as file+offset (meta maps), and without the meta that
    follows from where the libraries were loaded: the maps themselves and the fast path's
    plan statistics (PLAN_META), whose tie-breaks follow addresses."""
    r = profile_compare.relocator(p)
    meta = {k: v for k, v in p["meta"].items() if k != "maps" and k not in PLAN_META}
    edges = sorted(json.dumps(dict(e, **{"from": r(e["from"]), "to": r(e["to"])}),
                              sort_keys=True) for e in p["edges"])
    # a direct branch's text names its target's run-time address
    insns = sorted(json.dumps(dict(i, addr=r(i["addr"]), disas=re.sub(
        r"0x[0-9a-f]+", lambda m: r(m.group(0)), i.get("disas") or "")), sort_keys=True)
        for i in p["insns"])
    blocks = sorted(json.dumps(dict(b, addr=r(b["addr"]), insns=[r(a) for a in b["insns"]]),
                               sort_keys=True) for b in p["blocks"])
    return meta, edges, insns, blocks


def compare(tool, before, after):
    """'same', 'same relocated' (see the module's comment) or 'DIFFERS'."""
    a, b = decoded(tool, before), decoded(tool, after)
    if a == b:
        return "same"
    if relocated(a) == relocated(b):
        return "same relocated"
    return "DIFFERS"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: compare the profiles an earlier run left there")
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
                # a plugin option's value cannot hold a comma: a plain name
                f = os.path.join(work, "%s.%s.%s.cflow" % (re.sub(r"[^A-Za-z0-9]+", "_", job[0]),
                                                           mode, side))
                if not (a.reuse and os.path.exists(f)):
                    profile(build, job, mode, f)
                files.append(f)
            verdict = compare(tool, *files)
            ok = verdict != "DIFFERS"
            same, differ = same + ok, differ + (not ok)
            print("%-15s %-40s %s" % (verdict, job[0], mode), flush=True)
    print("%d same, %d differ" % (same, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
