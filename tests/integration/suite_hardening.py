"""
Hardening (issue 5): thread churn, forked children, instructions QEMU re-executes, faulting
transfers, disas=qemu, and a guest that closes or redirects stderr.
"""
import os
import subprocess

import run
from run import assert_clean, assert_eq, edge_count, guest, profile_json, symbols, test

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


@test
def forked_child_replans_from_its_own_counts():
    """A child that re-plans (adapt_after=1) starts from zero: exact, and no inconsistency."""
    binary = guest("c", "lifecycle")
    d = run.tempfile.mkdtemp(dir=run.WORK)
    r = run.qemu("x86_64", [binary, "fork"],
                 ["output=" + os.path.join(d, "p.%p.json"), "format=json", "report=off",
                  "adapt_after=1"])
    assert_eq("exit status", r.returncode, 0)
    files = sorted(os.listdir(d))
    assert_eq("profiles", len(files), 2)
    for f in files:
        with open(os.path.join(d, f)) as fh:
            assert_clean(run.json.load(fh))


def reexec_check(prof, s, label):
    for insn in ("rep_insn", "lock_insn"):
        selfs = [e for e in prof["edges"]
                 if int(e["from"], 16) == s[insn] and int(e["to"], 16) == s[insn]]
        if selfs:
            raise AssertionError("%s: edges from %s to itself: %s" % (label, insn, selfs))
    assert_eq(label + " rep loop", edge_count(prof, s["rep_branch"], s["rep_top"], "branch"), 2)
    assert_eq(label + " lock loop", edge_count(prof, s["lock_branch"], s["lock_top"], "branch"),
              999)
    executed = insn_executions(prof)
    for insn, want in (("rep_top", 3), ("rep_insn", 3), ("lock_top", 1000), ("lock_insn", 1000),
                       ("lock_branch", 1000)):
        assert_eq("%s executions of %s" % (label, insn), executed.get(s[insn]), want)


def insn_executions(prof):
    """Instruction address -> times executed, from the blocks (each entry runs them all)."""
    executed = {}
    for b in prof["blocks"]:
        for a in b["insns"]:
            executed[int(a, 16)] = executed.get(int(a, 16), 0) + b["count"]
    return executed


@test
def instructions_qemu_reexecutes_are_not_edges():
    binary = guest("c", "reexec")
    s = symbols(binary)
    for args in ([], ["thread"]):
        for mode in ("fast", "reference"):
            prof, r = profile_json("x86_64", [binary] + args, ["mode=" + mode, "report=off"])
            assert_eq("exit status", r.returncode, 0)
            reexec_check(prof, s, "%s %s" % (mode, " ".join(args) or "single"))


@test
def faulting_call_and_ret_are_early_exits():
    binary = guest("c", "callfault")
    s = symbols(binary)
    profiles = {}
    for name, extra in (("fast", []), ("reference", ["mode=reference"]),
                        ("disas=qemu", ["disas=qemu"])):
        prof, r = profile_json("x86_64", [binary], extra + ["report=off"])
        assert_eq(name + " exit status", r.returncode, 0)
        for insn in ("call_insn", "ret_insn"):
            assert_eq("%s %s early exits" % (name, insn),
                      edge_count(prof, s[insn], s["on_segv"], "early-exit"), 5)
            branches = [e for e in prof["edges"]
                        if int(e["from"], 16) == s[insn] and e["kind"] == "branch"]
            if branches:
                raise AssertionError("%s: %s reported as a branch: %s" % (name, insn, branches))
        assert_eq(name + " real call of the handler",
                  edge_count(prof, s["ind_call"], s["on_segv"], "branch"), 1)
        profiles[name] = [(e["from"], e["to"], e["kind"], e["count"]) for e in prof["edges"]]
    # disas=qemu changes the text only
    assert_eq("disas=qemu edges", sorted(profiles["disas=qemu"]), sorted(profiles["fast"]))


def report_through(cmd_prefix, guest_argv):
    """Runs QEMU with the report on; returns (stderr, status)."""
    cmd = cmd_prefix + [os.path.join(run.QEMU, "qemu-x86_64"), "-plugin",
                        run.PLUGIN + ",sort=edges,topn=3", "-d", "plugin"] + guest_argv
    r = run.run(cmd)
    return r.stderr, r.returncode


@test
def report_survives_a_guest_that_closes_or_replaces_stderr():
    hostname = os.path.join(run.WORK, "hostname.txt")
    with open(hostname, "w") as f:
        f.write("a-host\n")
    cases = {
        # coreutils close stdout and stderr at exit
        "cat": ["/usr/bin/cat", hostname],
        # a shell that dup2()s /dev/null over fd 2
        "dup2": ["/bin/sh", "-c", "exec 2>/dev/null; echo to-stderr >&2; true"],
        # a guest that closes fd 2 outright
        "close": ["/bin/sh", "-c", "exec 2>&-; true"],
    }
    for name, argv in cases.items():
        err, status = report_through([], argv)
        assert_eq(name + " status", status, 0)
        if "(sort=edges)" not in err:
            raise AssertionError("%s: no report on stderr: %r" % (name, err[-500:]))
        if "to-stderr" in err:
            raise AssertionError("%s: the guest's redirected stderr leaked: %r" % (name, err))


def plugin_run(opts, argv, **kw):
    cmd = [os.path.join(run.QEMU, "qemu-x86_64"), "-plugin",
           ",".join([run.PLUGIN, "report=off"] + opts)] + argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def loops_guest():
    return [guest("x86_64", "loops")]


@test
def output_paths_symlink_fifo_device_long_names_umask():
    import stat
    import threading
    d = run.tempfile.mkdtemp(dir=run.WORK)
    # a symlink is followed, the link kept
    target = os.path.join(d, "real.cflow")
    link = os.path.join(d, "link.cflow")
    os.symlink("real.cflow", link)
    r = plugin_run(["output=" + link], loops_guest())
    assert_eq("symlink status", r.returncode, 0)
    if not os.path.islink(link) or not os.path.isfile(target):
        raise AssertionError("the symlink was replaced or its target not written")
    assert_eq("tool check of the target", run.run([run.TOOL, "check", target]).returncode, 0)
    # a FIFO is written in place, never replaced
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["data"] = f.read()
    t = threading.Thread(target=reader)
    t.start()
    r = plugin_run(["output=" + fifo, "format=json"], loops_guest())
    t.join(60)
    assert_eq("fifo status", r.returncode, 0)
    if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
        raise AssertionError("the FIFO was replaced")
    if not got.get("data", b"").startswith(b"{"):
        raise AssertionError("no JSON profile came through the FIFO: %r" % got.get("data"))
    run.json.loads(got["data"])
    # a character device (a private /dev/null) is written in place, never renamed over
    dev = os.path.join(d, "null")
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        dev = None
    if dev:
        r = plugin_run(["output=" + dev], loops_guest())
        assert_eq("device status", r.returncode, 0)
        if not stat.S_ISCHR(os.lstat(dev).st_mode):
            raise AssertionError("the device node was replaced")
    # a socket is refused before the guest runs
    import socket
    sock_path = os.path.join(d, "sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock_path)
    r = plugin_run(["output=" + sock_path], ["/bin/echo", "guest-ran"])
    s.close()
    if r.returncode == 0 or "guest-ran" in r.stdout or "socket" not in r.stderr:
        raise AssertionError("a socket output was not refused: %r %r" % (r.returncode, r.stderr))
    # a file name so long that name + pid + suffix would pass NAME_MAX
    long_name = os.path.join(d, "p" * 240 + ".%p")
    r = plugin_run(["output=" + long_name], loops_guest())
    assert_eq("long name status", r.returncode, 0)
    written = [f for f in os.listdir(d) if f.startswith("p" * 240)]
    assert_eq("long-named profiles", len(written), 1)
    # leftovers: no temporary file stays behind
    leftovers = [f for f in os.listdir(d) if f.startswith(".cflow-")]
    assert_eq("temporary files left", leftovers, [])
    # the guest's umask does not decide the profile's permissions
    out = os.path.join(d, "umask.cflow")
    r = plugin_run(["output=" + out], ["/bin/sh", "-c", "umask 077; true"],
                   preexec_fn=lambda: os.umask(0o022))
    assert_eq("umask status", r.returncode, 0)
    assert_eq("profile mode", oct(os.stat(out).st_mode & 0o777), oct(0o644))


TSAN_LIB = "/usr/lib/x86_64-linux-gnu/libtsan.so.2"


def tsan_plugin():
    """The plugin built with -fsanitize=thread (BUILD-tsan), built here when missing."""
    b = run.BUILD + "-tsan"
    if not os.path.exists(os.path.join(b, "build.ninja")):
        r = run.run(["meson", "setup", b, "-Db_sanitize=thread", "-Db_lundef=false",
                     "-Dbuildtype=debug"], cwd=run.TOP)
        if r.returncode != 0:
            raise AssertionError("meson setup of the TSan build failed:\n" + r.stdout + r.stderr)
    r = run.run(["ninja", "-C", b, "libcflow.so"])
    if r.returncode != 0:
        raise AssertionError("the TSan build failed:\n" + r.stdout[-3000:])
    return os.path.join(b, "libcflow.so")


@test
def threads_fork_exec_under_thread_sanitizer():
    """The plugin built with TSan, loaded by the uninstrumented QEMU through LD_PRELOAD of
    libtsan: no report on threads, thread churn, fork and exec, in both modes; the threads'
    counts still exact. tests/tsan/suppressions.txt names what is QEMU's, not ours."""
    if not os.path.exists(TSAN_LIB):
        raise run.Skip("libtsan is not installed")
    plugin = tsan_plugin()
    env = dict(os.environ, LD_PRELOAD=TSAN_LIB,
               TSAN_OPTIONS="halt_on_error=0 exitcode=66 die_after_fork=0 suppressions=" +
               os.path.join(run.TOP, "tests", "tsan", "suppressions.txt"))
    s = symbols(guest("c", "threads"))
    for args in (["threads"], ["relay", "200"], ["lifecycle", "fork"], ["lifecycle", "exec"]):
        for mode in ("fast", "reference"):
            d = run.tempfile.mkdtemp(dir=run.WORK)
            cmd = [os.path.join(run.QEMU, "qemu-x86_64"), "-plugin",
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
                    prof = run.json.load(f)
                assert_eq(label + " taken",
                          edge_count(prof, s["spin_branch"], s["spin_top"], "branch"),
                          2 * 4 * (100000 - 1))


@test
def guest_chroot_setuid_umask_do_not_move_or_lose_the_profile():
    binary = guest("c", "creds")
    s = symbols(binary)
    if os.geteuid() != 0:
        raise run.Skip("chroot and setuid need root")
    d = run.tempfile.mkdtemp(dir=run.WORK)  # 0700, root's: nobody may create files here
    jail = run.tempfile.mkdtemp(dir=run.WORK)
    cases = {"chroot": [jail], "setuid": ["65534"], "umask": []}
    for name, extra in cases.items():
        for fmt in ("cflow", "json"):
            out = os.path.join(d, "%s.%s" % (name, fmt))
            r = plugin_run(["output=" + out, "format=" + fmt], [binary, name] + extra,
                           preexec_fn=lambda: os.umask(0o022))
            assert_eq("%s %s status (%s)" % (name, fmt, r.stderr[-300:]), r.returncode, 0)
            if not os.path.isfile(out):
                raise AssertionError("%s: no profile at %s; stderr %r" % (name, out, r.stderr))
            assert_eq(name + " mode", oct(os.stat(out).st_mode & 0o777), oct(0o644))
            if fmt == "json":
                with open(out) as f:
                    prof = run.json.load(f)
                assert_eq(name + " loop", edge_count(prof, s["creds_branch"], s["creds_top"],
                                                     "branch"), 999)
    if os.listdir(jail):
        raise AssertionError("something was written inside the chroot: %s" % os.listdir(jail))
    leftovers = [f for f in os.listdir(d) if f.startswith(".cflow-")]
    assert_eq("temporary files left", leftovers, [])


@test
def user_mode_dumps_while_threads_churn():
    """dump=1 in user mode: a thread of the plugin's own writes consistent, complete profiles
    while an 8,000-thread relay runs (several seconds); every one parses, counts only grow, the
    last is the exit."""
    import json as _json
    s = symbols(guest("c", "relay"))
    d = run.tempfile.mkdtemp(dir=run.WORK)
    out = os.path.join(d, "relay.json")
    cmd = [os.path.join(run.QEMU, "qemu-x86_64"), "-plugin",
           ",".join([run.PLUGIN, "report=off", "format=json", "dump=1", "output=" + out]),
           guest("c", "relay"), "8000"]
    status, seen = run.watch_dumps(cmd, out, 300)
    assert_eq("status", status, 0)
    with open(out) as f:
        final = _json.load(f)
    assert_eq("final", final["meta"]["written_at"], "exit")
    dumps = [x for x in seen if x["meta"]["written_at"] == "dump"]
    if not dumps:
        raise AssertionError("no dump seen during the run")
    prev = -1
    for x in dumps + [final]:
        assert_clean(x)
        taken = edge_count(x, s["relay_branch"], s["relay_top"], "branch")
        if taken < prev:
            raise AssertionError("counts went down: %d after %d" % (taken, prev))
        prev = taken
        if x["meta"].get("guest", "").split("/")[-1] != "relay":
            raise AssertionError("meta.guest in a dump: %r" % x["meta"].get("guest"))
    assert_eq("final loop", prev, 8000 * 999)


@test
def priv_kernel_in_user_mode_is_refused():
    r = plugin_run(["priv=kernel"], ["/bin/echo", "guest-ran"])
    if r.returncode == 0 or "guest-ran" in r.stdout or "priv=kernel" not in r.stderr:
        raise AssertionError("priv=kernel was not refused in user mode: %r" % r.stderr)
