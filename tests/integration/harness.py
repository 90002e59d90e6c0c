"""
The integration tests' harness, apart from the tests: paths, the helpers that run QEMU with the
plugin and read its profiles, the guests every feature shares (built here), the registry of
tests and the runner. The tests live in test_*.py beside this file, one file per feature; each
registers its tests with @test (or TESTS.append for generated ones) when the runner imports it.

run.py BUILDDIR [NAME-SUBSTRING...] is the entry point: it runs every registered test whose
name contains one of the substrings (all of them without one), prints one line per test
(PASS/FAIL/SKIP with the reason) and ends with 'integration: N passed, M failed, K skipped'.
run.py BUILDDIR --list names each test and its file, and runs none.
"""
import glob
import importlib
import json
import os
import subprocess
import sys
import tempfile
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build"))
FILTERS = sys.argv[2:]
QEMU = os.path.join(TOP, ".deps", "qemu", "bin")
QEMU_STOCK = os.path.join(TOP, ".deps", "qemu-stock", "bin")  # QEMU 10.2.2 without our patches
PLUGIN = os.path.join(BUILD, "libcflow.so")
TOOL = os.path.join(BUILD, "tool", "cflow")
WORK = os.path.join(BUILD, "integration")
GUESTS = os.path.join(WORK, "guests")  # bench/identity.py runs the guests built here
ARCHES = ["x86_64", "aarch64", "riscv64"]
NM = {"x86_64": "nm", "aarch64": "aarch64-linux-gnu-nm", "riscv64": "riscv64-linux-gnu-nm"}
CHECK_EXPECT = os.path.join(TOP, "tests", "integration", "check_expect.py")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "scripts"))
import profile_compare  # noqa: E402  (relocator and canonical forms, shared with bench/)

# ---------------------------------------------------------------------------------------------
# The registry

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Running QEMU and reading profiles

# The plugin's three ways of counting; every exact test runs in each
MODES = {
    "fast": ["mode=fast"],
    # re-plan after the first helper call (and the 16th): the adaptive path, on tiny programs
    "adaptive": ["mode=fast", "adapt_after=1"],
    "reference": ["mode=reference"],
}


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="surrogateescape",
                          timeout=timeout, **kw)


def qemu(arch, prog_args, plugin_args=None, setarch=False, timeout=600, cwd=None):
    cmd = [os.path.join(QEMU, "qemu-" + arch)]
    if plugin_args is not None:
        cmd += ["-plugin", ",".join([PLUGIN] + plugin_args), "-d", "plugin"]
    cmd += prog_args
    if setarch:
        cmd = ["setarch", "x86_64", "-R"] + cmd
    return run(cmd, timeout=timeout, cwd=cwd)


def plugin_run(opts, argv, **kw):
    """qemu-x86_64 ARGV under the plugin with OPTS and no report."""
    cmd = [os.path.join(QEMU, "qemu-x86_64"), "-plugin",
           ",".join([PLUGIN, "report=off"] + opts)] + argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def profile_json(arch, prog_args, extra=None, **kw):
    """Runs prog under the plugin with JSON output; returns (profile dict, CompletedProcess)."""
    fd, path = tempfile.mkstemp(suffix=".json", dir=WORK)
    os.close(fd)
    os.unlink(path)
    r = qemu(arch, prog_args, ["output=" + path, "format=json"] + (extra or []), **kw)
    if not os.path.exists(path):
        raise AssertionError("no profile written; stderr:\n" + r.stderr[-2000:])
    with open(path) as f:
        prof = json.load(f)
    os.unlink(path)
    return prof, r


def check_expect(path, binary, expect, arch, what=""):
    """The profile at PATH (JSON) against the hand-counted EXPECT file of BINARY."""
    c = run([sys.executable, CHECK_EXPECT, path, binary, expect, "--nm", NM[arch]])
    if c.returncode != 0:
        raise AssertionError(what + c.stdout + c.stderr)


def symbols(binary, arch="x86_64"):
    out = run([NM[arch], binary]).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def edge_count(prof, frm, to, kind):
    return sum(e["count"] for e in prof["edges"]
               if int(e["from"], 16) == frm and int(e["to"], 16) == to and e["kind"] == kind)


def executions(prof):
    """Instruction address -> times executed, from the blocks (each entry runs them all)."""
    out = {}
    for b in prof["blocks"]:
        for a in b["insns"]:
            out[int(a, 16)] = out.get(int(a, 16), 0) + b["count"]
    return out


def entries_by_addr(prof):
    out = {}
    for b in prof["blocks"]:
        out[int(b["addr"], 16)] = out.get(int(b["addr"], 16), 0) + b["count"]
    return out


def unbalanced(prof):
    """Blocks whose entries differ from the transfers into them (address -> (in, entries))."""
    into = {}
    for e in prof["edges"]:
        into[int(e["to"], 16)] = into.get(int(e["to"], 16), 0) + e["count"]
    return {a: (into.get(a, 0), n) for a, n in entries_by_addr(prof).items()
            if into.get(a, 0) != n}


def assert_eq(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def assert_clean(prof):
    """Fast-mode bookkeeping must balance exactly."""
    meta = prof["meta"]
    for key in ("unattributed_entries", "inconsistent_entries", "unplaced_early_exits",
                "entries_on_unknown_vcpus"):
        if key in meta and meta[key] != "0":
            raise AssertionError("%s = %s" % (key, meta[key]))


relocator = profile_compare.relocator
canonical_edges = profile_compare.canonical_edges
canonical_blocks = profile_compare.canonical_blocks


# ---------------------------------------------------------------------------------------------
# Guests

def build_guests():
    """The assembly guests (tests/guests/ARCH/*.S) and the C guests of user mode."""
    os.makedirs(GUESTS, exist_ok=True)
    r = run(["bash", os.path.join(TOP, "tests", "guests", "build.sh"), GUESTS])
    if r.returncode != 0:
        raise SystemExit("building the assembly guests failed:\n" + r.stderr)
    cdir = os.path.join(TOP, "tests", "guests", "c")
    for name in ("threads", "lifecycle", "jit", "faults", "relay", "reexec", "callfault",
                 "creds", "rewrite", "shmap"):
        out = os.path.join(GUESTS, "c", name)
        src = os.path.join(cdir, name + ".c")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            r = run(["gcc", "-O1", "-static", "-pthread", "-o", out, src])
            if r.returncode != 0:
                raise SystemExit("building %s failed:\n%s" % (src, r.stderr))


def guest(arch, name):
    return os.path.join(GUESTS, arch, name)


def system_guest(name, defines=()):
    """tests/guests/system/aarch64-NAME.S, a bare-metal guest of the virt board, built once
    (per set of DEFINES, e.g. ["SECONDS=8"], which the preprocessor gets as -D)."""
    src = os.path.join(TOP, "tests", "guests", "system", "aarch64-%s.S" % name)
    out = os.path.join(GUESTS, "system", "-".join(["aarch64-" + name] + list(defines)))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        r = run(["aarch64-linux-gnu-gcc", "-nostdlib", "-static", "-Wl,-Ttext=0x40080000",
                 "-Wl,--build-id=none", "-o", out, src] + ["-D" + d for d in defines])
        if r.returncode != 0:
            raise AssertionError("building %s failed:\n%s" % (src, r.stderr))
    return out


def system_machine(binary, smp=1, qemu_dir=QEMU):
    """qemu-system-aarch64 running a system guest with semihosting (no plugin)."""
    return [os.path.join(qemu_dir, "qemu-system-aarch64"), "-M", "virt", "-cpu", "max",
            "-smp", str(smp), "-nographic", "-nic", "none", "-semihosting", "-kernel", binary]


def system_cmd(binary, plugin_args, smp=1, qemu_args=(), qemu_dir=QEMU):
    """qemu-system-aarch64 running a system guest with semihosting, under the plugin."""
    return (system_machine(binary, smp, qemu_dir) + list(qemu_args)
            + ["-plugin", ",".join([PLUGIN] + plugin_args)])


def check_snapshot(prof, s, label):
    """A profile of aarch64-smp (symbols S) is consistent: every block's entries = transfers
    into it, but the two vCPUs' first."""
    bad = unbalanced(prof)
    starts = {s["_start"]: (0, 1), s["cpu1_entry"]: (0, 1)}
    if bad != {a: v for a, v in starts.items() if a in bad} or len(bad) != len(starts):
        shown = {hex(a): v for a, v in bad.items()}
        raise AssertionError("%s: transfers into / entries differ: %s" % (label, shown))
    assert_eq(label + " thread entries", prof["meta"]["thread_entries"], "2")
    a = edge_count(prof, s["path_a"] + 4, s["join"], "branch")
    b = edge_count(prof, s["path_b"] + 4, s["join"], "fallthrough")
    # vCPU 1 is running while its recording is frozen: after the freeze it may still make one
    # entry that needs no helper (counted inline) before stopping at the next helper's door,
    # and one entry may be in flight (helped, not yet counted): the paths differ by 2 at most
    if abs(a - b) > 2 or a == 0:
        raise AssertionError("%s: the alternating paths into join: %d and %d" % (label, a, b))


MULTIARCH_SKIP = {
    # need gdb, special kernels or files, or are timing dependent
    "gdbstub", "test-plugin-mem-access", "linux-madvise", "sigreturn-sigmask", "vma-pthread",
}


def multiarch_programs():
    """QEMU's own tests/tcg/multiarch programs that build from one file, built for x86_64."""
    src = os.path.join(TOP, ".deps", "qemu", "src", "tests", "tcg", "multiarch")
    out = os.path.join(WORK, "multiarch")
    os.makedirs(out, exist_ok=True)
    progs = []
    for f in sorted(os.listdir(src)):
        if not f.endswith(".c") or f[:-2] in MULTIARCH_SKIP:
            continue
        exe = os.path.join(out, f[:-2])
        if not os.path.exists(exe):
            r = run(["gcc", "-O2", "-static", "-pthread", "-w", "-I", src, "-o", exe,
                     os.path.join(src, f), "-lm"])
            if r.returncode != 0:
                continue  # needs more than one file or special flags: not run here
        progs.append(exe)
    return progs


# ---------------------------------------------------------------------------------------------
# Other plugins the tests load: QEMU's own, the benchmark's floor

def qemu_tree_plugin(path, out_dir):
    """One of QEMU's own plugins (PATH in the QEMU tree, e.g. contrib/plugins/hotblocks.c),
    built from the tree the set-up built QEMU from, with its headers; returns the .so."""
    src = os.path.join(TOP, ".deps", "qemu", "src", path)
    so = os.path.join(out_dir, "lib%s.so" % os.path.basename(path)[:-2])
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        glib = run(["pkg-config", "--cflags", "--libs", "glib-2.0"]).stdout.split()
        inc = os.path.join(TOP, ".deps", "qemu", "src", "include")
        r = run(["gcc", "-O2", "-shared", "-fPIC", "-I", os.path.join(inc, "qemu"), "-I", inc,
                 "-o", so, src] + glib)
        if r.returncode != 0:
            raise AssertionError("building QEMU's %s failed:\n%s" % (path, r.stderr[-2000:]))
    return so


def project_plugin(path, so_name, out_dir):
    """A small plugin of this repository (PATH from its top), built against the project's
    QEMU plugin header and GLib, warnings as errors; returns the .so."""
    so = os.path.join(out_dir, so_name)
    glib = run(["pkg-config", "--cflags", "glib-2.0"]).stdout.split()
    r = run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I",
             os.path.join(TOP, ".deps", "qemu", "include"), "-o", so,
             os.path.join(TOP, path)] + glib)
    if r.returncode != 0:
        raise AssertionError("%s does not build:\n%s" % (path, r.stderr[-3000:]))
    return so


def floor_plugin(out_dir):
    """bench/floor_plugin.c built as bench.py builds it (QEMU's plugin header, GLib)."""
    return project_plugin(os.path.join("bench", "floor_plugin.c"), "libfloor.so", out_dir)


# ---------------------------------------------------------------------------------------------
# The runner

def load_tests():
    """Imports every test_*.py beside this file, in name order; each registers its tests."""
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        importlib.import_module(os.path.basename(path)[:-3])


def main():
    load_tests()
    if FILTERS == ["--list"]:  # which file holds each test, without running any
        for t in TESTS:
            print("%s %s" % (os.path.basename(sys.modules[t.__module__].__file__), t.__name__))
        print("integration: %d tests" % len(TESTS))
        return 0
    os.makedirs(WORK, exist_ok=True)
    build_guests()
    passed = failed = skipped = 0
    for t in TESTS:
        if FILTERS and not any(f in t.__name__ for f in FILTERS):
            continue
        try:
            t()
            print("PASS %s" % t.__name__, flush=True)
            passed += 1
        except Skip as e:
            print("SKIP %s: %s" % (t.__name__, e), flush=True)
            skipped += 1
        except Exception as e:  # a failed assertion or a crash of the test itself
            msg = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
            print("FAIL %s: %s" % (t.__name__, msg.strip()), flush=True)
            failed += 1
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0
