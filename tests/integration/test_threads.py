"""
Threads in user mode: exact counts with several threads running the same code, thread churn
(indices climbing to ~600, per-block counters kept or retired), and the plugin built with
ThreadSanitizer on threads, fork and exec.
"""
import json
import os
import subprocess
import tempfile

from harness import (BUILD, MODES, QEMU, Skip, TOP, WORK, assert_clean, assert_eq, edge_count,
                     guest, profile_json, run, symbols, test)


@test
def threads_exact():
    binary = guest("c", "threads")
    s = symbols(binary)
    for mode in MODES:
        prof, r = profile_json("x86_64", [binary], MODES[mode])
        assert_eq("exit status", r.returncode, 0)
        assert_clean(prof)
        assert_eq(mode + " taken", edge_count(prof, s["spin_branch"], s["spin_top"], "branch"),
                  2 * 4 * (100000 - 1))
        assert_eq(mode + " not taken",
                  edge_count(prof, s["spin_branch"], s["spin_after"], "fallthrough"), 2 * 4)
        if int(prof["meta"]["vcpus"]) < 9:
            raise AssertionError("vcpus meta %s: expected >= 9 vCPU starts"
                                 % prof["meta"]["vcpus"])


RELAY_THREADS = 600


def relay_profile(extra, threads=RELAY_THREADS):
    prof, r = profile_json("x86_64", [guest("c", "relay"), str(threads)], extra + ["report=off"])
    assert_eq("exit status", r.returncode, 0)
    assert_clean(prof)
    return prof


@test
def thread_churn_relay_is_exact():
    """Indices climb to ~600: per-block counters kept, retired mid-run (counter_mib=1) or from
    the start (counter_mib=0): exact counts, and nothing attributed across dead threads (a
    churning program's runs differ in their spin-waits, so runs are not compared whole)."""
    s = symbols(guest("c", "relay"))
    want_taken, want_out = RELAY_THREADS * (1000 - 1), RELAY_THREADS
    for name, extra in (("reference", ["mode=reference"]), ("fast", []),
                        ("retired mid-run", ["counter_mib=1"]),
                        ("retired at once", ["counter_mib=0"]),
                        ("adaptive, retired", ["counter_mib=1", "adapt_after=1"])):
        prof = relay_profile(extra)
        assert_eq(name + " taken", edge_count(prof, s["relay_branch"], s["relay_top"], "branch"),
                  want_taken)
        assert_eq(name + " not taken",
                  edge_count(prof, s["relay_branch"], s["relay_after"], "fallthrough"), want_out)
        # every thread's first block has no predecessor: nothing left by a dead thread
        assert_eq(name + " thread entries", int(prof["meta"]["thread_entries"]),
                  RELAY_THREADS + 1)
        if "counter_mib" in " ".join(extra):
            assert_eq(name + " counters retired", prof["meta"].get("counters_retired"), "yes")
        if "hotpath_allocations" in prof["meta"]:
            assert_eq(name + " hot-path allocations", prof["meta"]["hotpath_allocations"], "0")
        # every thread enters its function once, from the same call in the thread library
        into_spin = sum(e["count"] for e in prof["edges"] if int(e["to"], 16) == s["spin"])
        assert_eq(name + " entries of spin", into_spin, RELAY_THREADS)


TSAN_LIB = "/usr/lib/x86_64-linux-gnu/libtsan.so.2"


def tsan_plugin():
    """The plugin built with -fsanitize=thread (BUILD-tsan), built here when missing."""
    b = BUILD + "-tsan"
    if not os.path.exists(os.path.join(b, "build.ninja")):
        r = run(["meson", "setup", b, "-Db_sanitize=thread", "-Db_lundef=false",
                 "-Dbuildtype=debug"], cwd=TOP)
        if r.returncode != 0:
            raise AssertionError("meson setup of the TSan build failed:\n" + r.stdout + r.stderr)
    r = run(["ninja", "-C", b, "libcflow.so"])
    if r.returncode != 0:
        raise AssertionError("the TSan build failed:\n" + r.stdout[-3000:])
    return os.path.join(b, "libcflow.so")


@test
def threads_fork_exec_under_thread_sanitizer():
    """The plugin built with TSan, loaded by the uninstrumented QEMU through LD_PRELOAD of
    libtsan: no report on threads, thread churn, fork and exec, in both modes; the threads'
    counts still exact. tests/tsan/suppressions.txt names what is QEMU's, not ours."""
    if not os.path.exists(TSAN_LIB):
        raise Skip("libtsan is not installed")
    plugin = tsan_plugin()
    env = dict(os.environ, LD_PRELOAD=TSAN_LIB,
               TSAN_OPTIONS="halt_on_error=0 exitcode=66 die_after_fork=0 suppressions=" +
               os.path.join(TOP, "tests", "tsan", "suppressions.txt"))
    s = symbols(guest("c", "threads"))
    for args in (["threads"], ["relay", "200"], ["lifecycle", "fork"], ["lifecycle", "exec"]):
        for mode in ("fast", "reference"):
            d = tempfile.mkdtemp(dir=WORK)
            cmd = [os.path.join(QEMU, "qemu-x86_64"), "-plugin",
                   ",".join([plugin, "mode=" + mode, "report=off", "format=json",
                             "output=" + os.path.join(d, "p.%p.json")]),
                   guest("c", args[0])] + args[1:]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
            label = "%s %s" % (mode, " ".join(args))
            if "ThreadSanitizer" in r.stderr:
                i = r.stderr.index("ThreadSanitizer")
                raise AssertionError("%s: %s" % (label, r.stderr[max(0, i - 200):i + 2500]))
            assert_eq(label + " status", r.returncode, 0)
            files = os.listdir(d)
            if not files:
                raise AssertionError(label + ": no profile written")
            if args == ["threads"]:
                with open(os.path.join(d, files[0])) as f:
                    prof = json.load(f)
                assert_eq(label + " taken",
                          edge_count(prof, s["spin_branch"], s["spin_top"], "branch"),
                          2 * 4 * (100000 - 1))
