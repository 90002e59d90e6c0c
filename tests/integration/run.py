#!/usr/bin/python3
"""
The integration tests: run QEMU with libcflow.so on guests whose control flow is known and
check the profiles. Usage: run.py BUILDDIR [NAME-SUBSTRING...]

Prints one line per test (PASS/FAIL/SKIP with the reason) and ends with a summary line
'integration: N passed, M failed'.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build"))
FILTERS = sys.argv[2:]
QEMU = os.path.join(TOP, ".deps", "qemu", "bin")
PLUGIN = os.path.join(BUILD, "libcflow.so")
TOOL = os.path.join(BUILD, "tool", "cflow")
WORK = os.path.join(BUILD, "integration")
GUESTS = os.path.join(WORK, "guests")
ARCHES = ["x86_64", "aarch64", "riscv64"]
NM = {"x86_64": "nm", "aarch64": "aarch64-linux-gnu-nm", "riscv64": "riscv64-linux-gnu-nm"}
CHECK_EXPECT = os.path.join(TOP, "tests", "integration", "check_expect.py")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import profile_compare  # noqa: E402  (relocator and canonical forms, shared with bench/)

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


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


def watch_dumps(cmd, path, timeout):
    """Runs cmd (QEMU with dump=, output=path, JSON) and parses every version of path seen while
    it runs (a half-written file would fail to parse). Returns (exit status, profiles seen)."""
    import time
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen, last = [], None
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        if (st.st_ino, st.st_mtime_ns) != last:
            last = (st.st_ino, st.st_mtime_ns)
            with open(path) as f:
                seen.append(json.load(f))
        time.sleep(0.05)
    if p.poll() is None:
        p.kill()
        raise AssertionError("QEMU did not exit within %d s: %s" % (timeout, cmd[-1]))
    return p.returncode, seen


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


def build_system_guest():
    src = os.path.join(TOP, "tests", "guests", "system", "aarch64-semihost.S")
    out = os.path.join(GUESTS, "system", "aarch64-semihost")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        r = run(["aarch64-linux-gnu-gcc", "-nostdlib", "-static", "-Wl,-Ttext=0x40080000",
                 "-Wl,--build-id=none", "-o", out, src])
        if r.returncode != 0:
            raise AssertionError("building %s failed:\n%s" % (src, r.stderr))
    return out


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


def guest(arch, name):
    return os.path.join(GUESTS, arch, name)


# ---------------------------------------------------------------------------------------------
# Exact counts on hand-written assembly, both modes, three architectures

MODES = {
    "fast": ["mode=fast"],
    # re-plan after the first helper call (and the 16th): the adaptive path, on tiny programs
    "adaptive": ["mode=fast", "adapt_after=1"],
    "reference": ["mode=reference"],
}


def make_exact_test(arch, name, mode):
    def t():
        binary = guest(arch, name)
        expect = os.path.join(TOP, "tests", "guests", arch, name + ".expect")
        prof, r = profile_json(arch, [binary], MODES[mode])
        # with adapt_after=1 the first helper call re-plans (loops needs none: every block's
        # first predecessor is its only one), and re-planned hot blocks go lean
        if mode == "adaptive" and int(prof["meta"]["helper_calls"]) > 0:
            if int(prof["meta"].get("adaptations", 0)) < 1:
                raise AssertionError("no adaptation: %s" % prof["meta"].get("adaptations"))
            if int(prof["meta"]["lean_stores_skipped"]) == 0:
                raise AssertionError("no lean block: the store-skipping path went untested")
        if mode == "adaptive" and name != "loops" and int(prof["meta"]["helper_calls"]) == 0:
            raise AssertionError("expected helper calls (indirect jumps, faults)")
        assert_eq("exit status", r.returncode, 0)
        assert_clean(prof)
        path = os.path.join(WORK, "%s-%s-%s.json" % (arch, name, mode))
        with open(path, "w") as f:
            json.dump(prof, f)
        c = run([sys.executable, CHECK_EXPECT, path, binary, expect, "--nm", NM[arch]])
        if c.returncode != 0:
            raise AssertionError(c.stdout + c.stderr)
    t.__name__ = "exact_%s_%s_%s" % (arch, name, mode)
    return t


for _arch in ARCHES:
    for _name in ("loops", "jumptable", "fault"):
        for _mode in MODES:
            TESTS.append(make_exact_test(_arch, _name, _mode))


@test
def settled_loop_is_replanned():
    """After a start-up of 40,000 blocks, a loop whose hot block has two predecessors in turn:
    re-planning weighs the helper calls made since the program settled against the blocks
    translated since then, so the loop gets a plan (2.5 M helper calls would never pay for
    40,000 blocks x 256), and the counts stay exact."""
    binary = guest("x86_64", "settle")
    expect = os.path.join(TOP, "tests", "guests", "x86_64", "settle.expect")
    prof, r = profile_json("x86_64", [binary], ["mode=fast", "report=off"])
    assert_eq("exit status", r.returncode, 0)
    assert_clean(prof)
    if int(prof["meta"].get("adaptations", 0)) < 1:
        raise AssertionError("the settled loop was not re-planned (helper calls %s)"
                             % prof["meta"]["helper_calls"])
    path = os.path.join(WORK, "x86_64-settle-fast.json")
    with open(path, "w") as f:
        json.dump(prof, f)
    c = run([sys.executable, CHECK_EXPECT, path, binary, expect, "--nm", NM["x86_64"]])
    if c.returncode != 0:
        raise AssertionError(c.stdout + c.stderr)


@test
def expectation_checker_self_test():
    """The checker that judges the exact-count tests must itself reject wrong profiles."""
    c = run([sys.executable, CHECK_EXPECT, "--self-test"])
    assert_eq("check_expect.py --self-test", c.returncode, 0)


@test
def fast_equals_reference_on_assembly():
    """Every edge and block count identical between the fast path and the oracle."""
    for arch in ARCHES:
        for name in ("loops", "jumptable", "fault"):
            ref, _ = profile_json(arch, [guest(arch, name)], MODES["reference"])
            for mode in ("fast", "adaptive"):
                fast, _ = profile_json(arch, [guest(arch, name)], MODES[mode])
                what = "%s/%s %s" % (arch, name, mode)
                assert_eq(what + " edges", canonical_edges(fast), canonical_edges(ref))
                assert_eq(what + " blocks", canonical_blocks(fast), canonical_blocks(ref))


def make_system_test(mode):
    def t():
        binary = build_system_guest()
        path = os.path.join(WORK, "system-%s.json" % mode)
        if os.path.exists(path):
            os.unlink(path)
        r = run([os.path.join(QEMU, "qemu-system-aarch64"), "-M", "virt", "-cpu", "max",
                 "-smp", "2", "-nographic", "-nic", "none", "-semihosting", "-kernel", binary,
                 "-plugin", ",".join([PLUGIN, "output=" + path, "format=json"] + MODES[mode]),
                 "-d", "plugin"], timeout=120)
        assert_eq("exit status", r.returncode, 0)
        if "semihost ok" not in r.stdout + r.stderr:
            raise AssertionError("the guest did not run: " + r.stdout + r.stderr)
        prof = json.load(open(path))
        assert_eq("mode", prof["meta"]["mode"], "system")
        assert_eq("vcpus", prof["meta"]["vcpus"], "2")
        assert_clean(prof)
        expect = os.path.join(TOP, "tests", "guests", "system", "aarch64-semihost.expect")
        c = run([sys.executable, CHECK_EXPECT, path, binary, expect, "--nm", NM["aarch64"]])
        if c.returncode != 0:
            raise AssertionError(c.stdout + c.stderr)
    t.__name__ = "system_mode_aarch64_semihosting_%s" % mode
    return t


for _mode in MODES:
    TESTS.append(make_system_test(_mode))


# ---------------------------------------------------------------------------------------------
# Real programs: the fast path against the reference, edge for edge

def real_program_input():
    path = os.path.join(WORK, "input.txt")
    if not os.path.exists(path):
        words = []
        seed = 12345
        for i in range(40000):
            seed = (seed * 1103515245 + 12345) & 0x7fffffff
            words.append("w%d" % (seed % 5000))
        with open(path, "w") as f:
            f.write(" ".join(words))
    return path


def make_real_test(name, argv_fn):
    def t():
        prog = shutil.which(name)
        if not prog:
            raise Skip(name + " is not installed")
        args = argv_fn(prog)
        bare = qemu("x86_64", args, setarch=True)
        ref, rr = profile_json("x86_64", args, ["mode=reference"], setarch=True, timeout=1200)
        re_ = canonical_edges(ref)
        if len(re_) < 1000:
            raise AssertionError("suspiciously few edges: %d" % len(re_))
        # the default fast path, and one that re-plans early and often (adapt_after=2000)
        for extra in (["mode=fast"], ["mode=fast", "adapt_after=2000"]):
            fast, rf = profile_json("x86_64", args, extra, setarch=True)
            assert_eq("exit status (bare, fast, reference)", (rf.returncode, rr.returncode),
                      (bare.returncode, bare.returncode))
            assert_eq("output under the plugin", rf.stdout, bare.stdout)
            assert_clean(fast)
            fe = canonical_edges(fast)
            if fe != re_:
                only_f = sorted(set(fe) - set(re_))[:10]
                only_r = sorted(set(re_) - set(fe))[:10]
                raise AssertionError("%s: %d vs %d edges differ; fast only %s; reference only %s"
                                     % (extra, len(fe), len(re_), only_f, only_r))
            assert_eq("blocks", canonical_blocks(fast), canonical_blocks(ref))
            if "adapt_after=2000" in extra and int(fast["meta"]["adaptations"]) < 2:
                raise AssertionError("expected 2 adaptations or more, got %s"
                                     % fast["meta"]["adaptations"])
    t.__name__ = "fast_equals_reference_" + name
    return t


TESTS.append(make_real_test("bzip2", lambda p: [p, "-9", "-c", real_program_input()]))
TESTS.append(make_real_test("xz", lambda p: [p, "-3", "-T1", "-c", real_program_input()]))
TESTS.append(make_real_test("sort", lambda p: ["/usr/bin/sort", real_program_input()]))


@test
def deferred_disassembly_matches_qemus():
    """disas=auto (capstone at exit) must print what QEMU's disassembler prints."""
    # static, non-PIE guests: the same addresses in both runs, so operands compare as text
    for arch, args in (("x86_64", [guest("c", "lifecycle"), "exit3"]),
                       ("x86_64", [guest("c", "threads")]),
                       ("aarch64", [guest("aarch64", "jumptable")])):
        auto, _ = profile_json(arch, args)
        qemu_, _ = profile_json(arch, args, ["disas=qemu"])
        a = {(i["addr"], i["generation"]): i["disas"] for i in auto["insns"]}
        q = {(i["addr"], i["generation"]): i["disas"] for i in qemu_["insns"]}
        if len(a) < 20:
            raise AssertionError("too few instructions to compare: %d" % len(a))
        assert_eq(arch + " instructions", sorted(a), sorted(q))
        diff = [(k, a[k], q[k]) for k in a if a[k] != q[k]]
        assert_eq(arch + " disassembly differences", diff[:5], [])


# ---------------------------------------------------------------------------------------------
# Threads, fork, exec, death by signal, non-zero exit, self-modifying code

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


def loop_counts(prof, s, name):
    top, br = s["loop_%s_top" % name], s["loop_%s_branch" % name]
    return edge_count(prof, br, top, "branch")


@test
def fork_child_has_only_its_own_counts():
    binary = guest("c", "lifecycle")
    s = symbols(binary)
    d = tempfile.mkdtemp(dir=WORK)
    r = qemu("x86_64", [binary, "fork"],
             ["output=" + os.path.join(d, "p.%p.json"), "format=json", "report=off"])
    assert_eq("exit status", r.returncode, 0)
    files = sorted(os.listdir(d))
    assert_eq("profiles written", len(files), 2)
    profs = [json.load(open(os.path.join(d, f))) for f in files]
    child = [p for p in profs if "parent_pid" in p["meta"]]
    parent = [p for p in profs if "parent_pid" not in p["meta"]]
    assert_eq("one child, one parent", (len(child), len(parent)), (1, 1))
    child, parent = child[0], parent[0]
    assert_eq("child's parent", child["meta"]["parent_pid"], parent["meta"]["pid"])
    assert_eq("parent loop A", loop_counts(parent, s, "a"), 999)
    assert_eq("parent loop B", loop_counts(parent, s, "b"), 499)
    assert_eq("child loop A (ran before the fork: the parent's)", loop_counts(child, s, "a"), 0)
    assert_eq("child loop B", loop_counts(child, s, "b"), 299)
    assert_clean(child)
    assert_clean(parent)


@test
def guest_command_line_through_a_symlink():
    """/bin/sh is a link to dash: the meta's command line is still the guest's own."""
    prof, r = profile_json("x86_64", ["/bin/sh", "-c", "exit 0"])
    assert_eq("exit status", r.returncode, 0)
    assert_eq("cmdline", prof["meta"]["cmdline"], "/bin/sh -c exit 0")


@test
def relative_output_survives_a_guest_chdir():
    d = tempfile.mkdtemp(dir=WORK)
    r = run([os.path.join(QEMU, "qemu-x86_64"), "-plugin",
             PLUGIN + ",output=rel.%p.cflow,report=off", "/bin/sh", "-c", "cd / && exit 0"],
            cwd=d)
    assert_eq("exit status", r.returncode, 0)
    files = [f for f in os.listdir(d) if f.startswith("rel.")]
    assert_eq("profiles in the starting folder", len(files), 1)
    c = run([TOOL, "check", os.path.join(d, files[0])])
    assert_eq("cflow check", c.returncode, 0)


@test
def exec_writes_the_profile_first():
    binary = guest("c", "lifecycle")
    s = symbols(binary)
    prof, r = profile_json("x86_64", [binary, "exec"])
    assert_eq("exit status of /bin/true", r.returncode, 0)
    assert_eq("written at", prof["meta"]["written_at"], "exec")
    assert_eq("loop A", loop_counts(prof, s, "a"), 999)


def make_death_test(what, want_status):
    def t():
        binary = guest("c", "lifecycle")
        s = symbols(binary)
        prof, r = profile_json("x86_64", [binary, what])
        assert_eq("exit status", r.returncode, want_status)
        assert_eq("written at", prof["meta"]["written_at"], "exit")
        assert_eq("loop A", loop_counts(prof, s, "a"), 999)
        assert_clean(prof)
    t.__name__ = "profile_complete_after_" + what
    return t


TESTS.append(make_death_test("crash", -signal.SIGSEGV))
TESTS.append(make_death_test("abort", -signal.SIGABRT))
TESTS.append(make_death_test("exit3", 3))


@test
def faults_in_hot_lean_blocks_are_exact(late=False):
    """Blocks skip stores on instructions in their middle (user mode: all but the first and the
    last; the signal frame or QEMU's restart point places an exit): faults must stay exact."""
    binary = guest("c", "faults")
    s = symbols(binary)
    args = [binary] + (["late"] if late else [])
    ref, r = profile_json("x86_64", args, MODES["reference"])
    assert_eq("exit status", r.returncode, 0)
    want = {"fault_load": ("early-exit", 3000), "fault_store": ("early-exit", 3000),
            "fault_div": ("exception", 3000), "fault_rep": ("early-exit", 3000)}
    for mode in ("fast", "adaptive"):
        prof, r = profile_json("x86_64", args, MODES[mode])
        assert_eq("exit status", r.returncode, 0)
        assert_clean(prof)
        for label, (kind, n) in want.items():
            got = sum(e["count"] for e in prof["edges"]
                      if int(e["from"], 16) == s[label] and e["kind"] == kind)
            assert_eq("%s %s %s" % (mode, label, kind), got, n)
        assert_eq(mode + " edges", canonical_edges(prof), canonical_edges(ref))
    if int(prof["meta"]["adaptations"]) < 1:
        raise AssertionError("the adaptive run never re-planned")


@test
def faults_exact_when_the_handler_ran_before_it_was_installed():
    """The handler's first block was translated as plain code before sigaction: the plugin
    must translate it again as a handler (it reads the signal frame there)."""
    faults_in_hot_lean_blocks_are_exact(late=True)


@test
def self_modifying_code_keeps_generations_apart():
    binary = guest("c", "jit")
    for mode in MODES:
        prof, r = profile_json("x86_64", [binary], MODES[mode])
        assert_eq("exit status", r.returncode, 0)
        page = int(re.search(r"jit page (0x[0-9a-f]+)", r.stdout).group(1), 16)
        at = [i for i in prof["insns"] if int(i["addr"], 16) == page]
        gens = sorted((i["generation"], i["disas"]) for i in at)
        if len(gens) != 2 or "$1" not in gens[0][1] or "$2" not in gens[1][1]:
            raise AssertionError("instructions at the JIT page: %r" % gens)
        rets = {}
        for e in prof["edges"]:
            frm = int(e["from"], 16)
            if frm in (page + 5, page + 6) and e["kind"] == "branch":
                rets[frm] = rets.get(frm, 0) + e["count"]
        assert_eq(mode + " returns from the old and the new code", rets,
                  {page + 5: 5, page + 6: 7})


@test
def jit_rewriting_its_code_space_keeps_every_generation_exact():
    """tests/guests/c/rewrite.c: one function rewritten 3,000 times in place, called once after
    each rewrite: 3,000 generations of its mov (each a block entered once), one of its ret
    (the same bytes every time), which returns 3,000 times."""
    n = 3000
    binary = guest("c", "rewrite")
    for mode in MODES:
        prof, r = profile_json("x86_64", [binary, str(n)], MODES[mode] + ["report=off"])
        assert_eq(mode + " exit status", r.returncode, 0)
        assert_clean(prof)
        page = int(re.search(r"rewrite page (0x[0-9a-f]+)", r.stdout).group(1), 16)
        for at, what, want in ((page, "mov", n), (page + 5, "ret", 1)):
            gens = sorted(i["generation"] for i in prof["insns"] if int(i["addr"], 16) == at)
            if gens != list(range(want)):
                raise AssertionError("%s: %d generations of the %s (%s...), want 0..%d"
                                     % (mode, len(gens), what, gens[:5], want - 1))
        into = sum(e["count"] for e in prof["edges"]
                   if int(e["to"], 16) == page and e["kind"] == "branch")
        entries = [b["count"] for b in prof["blocks"] if int(b["addr"], 16) == page]
        out = sorted((e["from_generation"], e["count"]) for e in prof["edges"]
                     if int(e["from"], 16) == page + 5 and e["kind"] == "branch")
        assert_eq(mode + " calls into the page", into, n)
        if entries != [1] * n:
            raise AssertionError("%s: %d blocks at the page, entries %s..., want %d of 1"
                                 % (mode, len(entries), entries[:5], n))
        assert_eq(mode + " returns (one unchanged ret)", out, [(0, n)])


# ---------------------------------------------------------------------------------------------
# Options, output, report

def make_bad_option_test(opt, must_mention):
    def t():
        r = qemu("x86_64", [guest("x86_64", "loops")], [opt])
        if r.returncode == 0:
            raise AssertionError("QEMU accepted %s" % opt)
        if "loops ok" in r.stdout:
            raise AssertionError("the guest ran despite %s" % opt)
        if must_mention not in r.stderr:
            raise AssertionError("stderr does not mention %r: %s" % (must_mention, r.stderr))
    t.__name__ = "bad_option_" + re.sub(r"\W", "_", opt)
    return t


for _opt, _m in (("colour=red", "'colour'"), ("sort=fastest", "'fastest'"),
                 ("topn=ten", "'ten'"), ("format=xml", "'xml'"), ("mode=turbo", "'turbo'"),
                 ("output=/nonexistent-dir/p.cflow", "/nonexistent-dir"),
                 ("output=/proc/p.cflow", "/proc/p.cflow")):
    TESTS.append(make_bad_option_test(_opt, _m))


@test
def binary_profile_round_trips_through_the_tool():
    binary = guest("x86_64", "loops")
    path = os.path.join(WORK, "loops.cflow")
    r = qemu("x86_64", [binary], ["output=" + path, "report=off"])
    assert_eq("exit status", r.returncode, 0)
    c = run([TOOL, "check", path])
    assert_eq("cflow check", c.returncode, 0)
    j = run([TOOL, "json", path])
    assert_eq("cflow json", j.returncode, 0)
    from_binary = json.loads(j.stdout)
    from_json, _ = profile_json("x86_64", [binary])
    assert_eq("edges", canonical_edges(from_binary), canonical_edges(from_json))
    assert_eq("insn count", len(from_binary["insns"]), len(from_json["insns"]))
    for key in ("arch", "mode", "qemu_version", "vcpus", "cmdline", "plugin_api"):
        if key not in from_binary["meta"]:
            raise AssertionError("meta lacks " + key)
    assert_eq("arch", from_binary["meta"]["arch"], "x86_64")
    assert_eq("guest command line", from_binary["meta"]["cmdline"], binary)
    assert_eq("mode", from_binary["meta"]["mode"], "user")
    # every edge source has an instruction record with disassembly
    addrs = {i["addr"] for i in from_binary["insns"] if i["disas"]}
    missing = [e["from"] for e in from_binary["edges"] if e["from"] not in addrs]
    assert_eq("edge sources without an instruction", missing, [])
    # a damaged file is refused with a message, not a crash
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x40
    bad = os.path.join(WORK, "damaged.cflow")
    open(bad, "wb").write(bytes(data))
    c = run([TOOL, "report", bad])
    assert_eq("exit status on a damaged profile", c.returncode, 2)
    if bad not in c.stderr or c.returncode < 0:
        raise AssertionError("no clear message: " + c.stderr)


def report_of(sort, arch="x86_64", name="loops", topn=None):
    extra = ["sort=" + sort] + (["topn=%d" % topn] if topn else [])
    r = qemu(arch, [guest(arch, name)], extra)
    assert_eq("exit status", r.returncode, 0)
    return r.stderr + r.stdout


@test
def report_sorts():
    s = symbols(guest("x86_64", "loops"))
    out = report_of("hottest", topn=1)
    # the hottest source instruction is the inner loop's branch, taken 84 times
    m = re.search(r"top 1 .*\n\s+0x([0-9a-f]+) .*\n\s+taken (\d+)", out)
    if not m:
        raise AssertionError("no ranked entry in:\n" + out)
    assert_eq("hottest source", int(m.group(1), 16), s["inner_branch"])
    assert_eq("its taken count", int(m.group(2)), 84)
    out = report_of("bias")
    m = re.search(r"0x%x [^\n]*\n\s+taken 3, fallthrough 4, taken ratio 42.9%%" % s["bump_branch"],
                  out)
    if not m:
        raise AssertionError("bias report lacks bump_branch 3/4:\n" + out)
    out = report_of("edges", topn=2)
    if not re.search(r"\s84 branch\s+0x%x .* -> 0x%x" % (s["inner_branch"], s["inner_top"]), out):
        raise AssertionError("edges report lacks the hottest edge:\n" + out)
    sf = symbols(guest("x86_64", "fault"))
    out = report_of("early", name="fault")
    if "early exits" not in out:
        raise AssertionError("early report has no early exits:\n" + out)
    out = report_of("exceptions", name="fault")
    if "exceptions" not in out or "(none)" in out.split("sort=exceptions")[1]:
        raise AssertionError("exceptions report is empty:\n" + out)
    out = report_of("popular", name="jumptable", topn=1)
    if "5 branch destinations" not in out:
        raise AssertionError("popular report lacks the 5-way jump:\n" + out)


# ---------------------------------------------------------------------------------------------
# QEMU's own tests/tcg/multiarch programs: same status and output with the plugin

MULTIARCH_SKIP = {
    # need gdb, special kernels or files, or are timing dependent
    "gdbstub", "test-plugin-mem-access", "linux-madvise", "sigreturn-sigmask", "vma-pthread",
}


def multiarch_programs():
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


def make_multiarch_test():
    def t():
        progs = multiarch_programs()
        if len(progs) < 10:
            raise AssertionError("only %d multiarch programs built" % len(progs))
        failures = []
        for exe in progs:
            name = os.path.basename(exe)
            try:
                bare = qemu("x86_64", [exe], timeout=120)
                bare2 = qemu("x86_64", [exe], timeout=120)
            except subprocess.TimeoutExpired:
                continue
            deterministic = bare.stdout == bare2.stdout
            plug = qemu("x86_64", [exe], ["report=off"], timeout=300)
            if plug.returncode != bare.returncode:
                failures.append("%s: status %d vs %d" % (name, plug.returncode, bare.returncode))
            elif deterministic and sorted(plug.stdout.splitlines()) != \
                    sorted(bare.stdout.splitlines()):
                # as a multiset of lines: threads may interleave their lines differently
                failures.append("%s: output differs" % name)
        if failures:
            raise AssertionError("; ".join(failures))
    t.__name__ = "multiarch_same_status_and_output"
    return t


TESTS.append(make_multiarch_test())


# ---------------------------------------------------------------------------------------------
# More tests live in suite_*.py beside this file (one per area: the tool, hardening, ...); they
# import what they share from this module as `run` and register with @run.test.

def load_suites():
    import glob
    import importlib
    sys.modules.setdefault("run", sys.modules[__name__])
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "suite_*.py"))):
        importlib.import_module(os.path.basename(path)[:-3])


def main():
    load_suites()
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


if __name__ == "__main__":
    sys.exit(main())
