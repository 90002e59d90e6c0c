"""
System mode on a real Linux (issue 6): Debian's x86_64 kernel 6.1 with a busybox initramfs
(tests/guests/linux/build.sh: from Debian packages, cached) boots under the plugin on 2 vCPUs,
runs a counted workload (tests/guests/linux/workload.c), prints CFLOW-WORKLOAD-DONE and powers
off. The profile must be exact on the workload's loop and hold what a kernel does: timer
interrupts, page faults, system calls, on both vCPUs.

The same guest on aarch64 (Debian's arm64 kernel, qemu-system-aarch64 -M virt -cpu max, no
firmware) boots in seconds; one boot under the plugin checks the same things there.

Boots are sequential (the machine has 2 cores) and shared between tests: one per
configuration (the main one with symbols=, priv=user, priv=kernel), ~50 s each under the
plugin. A guest that cannot be built (no network, no apt lists) is a FAIL, not a skip.

Assertions on features of the system-mode work (symbols=, the JSON "priv" field, priv=,
meta.code_identity) are marked FEATURE; when the plugin lacks one (an option refused, a key
absent) they fail with a message naming the missing feature.
"""
import bisect
import json
import os
import re
import signal
import subprocess
import time

from harness import (PLUGIN, QEMU, TOP, WORK, assert_clean, assert_eq, edge_count, executions, run,
                     symbols, test)


KERNEL_BASE = 0xffffffff80000000  # x86_64 kernel text (and modules) live above this
USER_TOP = 0x0000800000000000  # canonical lower half: user space
LOOPS = 200000  # iterations of the workload's counted loop, run by a parent and a child
BOOT_TIMEOUT = 300
PRIVS = ("user", "kernel", "hypervisor", "firmware")

_guest = {}
_boots = {}


def guest_dir():
    """Builds (or finds cached) the Linux guest; fails with build.sh's message if it cannot."""
    if "dir" not in _guest:
        out = os.path.join(WORK, "linux")
        r = run(["bash", os.path.join(TOP, "tests", "guests", "linux", "build.sh"), out],
                timeout=1800)
        if r.returncode != 0:
            raise AssertionError("cannot build the Linux guest (Debian's kernel, busybox, "
                                 "firmware via apt-get download):\n" + r.stderr[-3000:])
        _guest["dir"] = out
        _guest["syms"] = symbols(os.path.join(out, "workload"))
    return _guest["dir"]


def boot_cmd(plugin_args):
    g = guest_dir()
    # nokaslr: the kernel where System.map says, the same addresses in every boot
    cmd = [os.path.join(QEMU, "qemu-system-x86_64"), "-M", "q35", "-smp", "2", "-m", "512",
           "-nographic", "-no-reboot", "-nic", "none", "-L", os.path.join(g, "fw"),
           "-kernel", os.path.join(g, "vmlinuz"), "-initrd", os.path.join(g, "initrd.gz"),
           "-append", "console=ttyS0 quiet panic=-1 nokaslr CFLOW_LOOPS=%d" % LOOPS]
    if plugin_args is not None:
        cmd += ["-plugin", ",".join([PLUGIN] + plugin_args)]
    return cmd


def run_boot(cmd, timeout=BOOT_TIMEOUT):
    """(exit status, console + stderr, seconds); QEMU is killed on timeout."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError("the Linux boot did not end within %d s; QEMU killed. Console:\n%s"
                             % (timeout, out.decode(errors="replace")[-2000:]))
    return proc.returncode, out.decode(errors="replace"), time.monotonic() - t0


def boot(name, extra, feature=None, report=False):
    """Boots once per name with the plugin (JSON profile + extra options); returns a dict with
    status, console, prof, report, seconds. `feature` names what extra asks of the plugin: if
    QEMU refuses the options, the failure says that feature is missing."""
    if name in _boots:
        if isinstance(_boots[name], AssertionError):
            raise _boots[name]
        return _boots[name]
    d = os.path.join(WORK, "linux-boots")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".json")
    rpt = os.path.join(d, name + ".report.txt")
    for f in (path, rpt):
        if os.path.exists(f):
            os.unlink(f)
    args = ["output=" + path, "format=json"] + extra
    if not report:
        args.append("report=off")
    cmd = boot_cmd(args)
    if report:
        cmd += ["-d", "plugin", "-D", rpt]
    try:
        status, console, secs = run_boot(cmd)
        if status != 0 and "CFLOW-WORKLOAD-START" not in console:
            raise AssertionError("QEMU stopped before the guest ran (status %d)%s:\n%s"
                                 % (status, "; missing plugin feature: " + feature
                                    if feature else "", console[-2000:]))
        if not os.path.exists(path):
            raise AssertionError("no profile written (status %d); console:\n%s"
                                 % (status, console[-2000:]))
        with open(path) as f:
            prof = json.load(f)
        text = open(rpt, errors="replace").read() if report and os.path.exists(rpt) else ""
    except AssertionError as e:
        _boots[name] = e
        raise
    _boots[name] = {"status": status, "console": console, "prof": prof, "report": text,
                    "seconds": secs}
    return _boots[name]


def main_boot(need_symbols=False):
    """The main boot: JSON profile, and the report ranked by edges with kernel symbols. If the
    plugin refuses symbols=, the tests that do not need it use a boot without it."""
    g = guest_dir()
    try:
        return boot("main", ["sort=edges", "topn=40",
                             "symbols=" + os.path.join(g, "System.map")],
                    feature="option symbols=PATH", report=True)
    except AssertionError as e:
        if need_symbols or "stopped before the guest ran" not in str(e):
            raise
    return boot("main-without-symbols", [])


def system_map():
    if "map" not in _guest:
        addrs, names = [], []
        with open(os.path.join(guest_dir(), "System.map")) as f:
            for line in f:
                a, t, n = line.split()
                if t.lower() in ("t", "w"):
                    addrs.append(int(a, 16))
                    names.append(n)
        order = sorted(range(len(addrs)), key=lambda i: addrs[i])
        _guest["map"] = ([addrs[i] for i in order], [names[i] for i in order],
                         {names[i]: addrs[i] for i in order})
    return _guest["map"]


def kernel_symbol(addr):
    """Names of the text symbols at the greatest System.map address <= addr (aliases too)."""
    addrs, names, _ = system_map()
    i = bisect.bisect_right(addrs, addr) - 1
    if i < 0:
        return set()
    at = addrs[i]
    out = set()
    while i >= 0 and addrs[i] == at:
        out.add(names[i])
        i -= 1
    return out


def ksym(name):
    return system_map()[2][name]


def wl(name):
    guest_dir()
    return _guest["syms"][name]


def check_guest_ran(b):
    c = b["console"]
    assert_eq("QEMU exit status (poweroff -f)", b["status"], 0)
    if "CFLOW-WORKLOAD-DONE" not in c:
        raise AssertionError("no CFLOW-WORKLOAD-DONE marker; console:\n" + c[-2000:])
    if "workload ok %d " % (2 * LOOPS) not in c:
        raise AssertionError("the workload did not report %d loops:\n%s" % (2 * LOOPS, c[-2000:]))
    if "cpus=2" not in c:
        raise AssertionError("the guest did not see 2 CPUs:\n" + c[-2000:])


def workload_text():
    """[start, end) of the workload's .text (static, non-PIE: where it runs)."""
    out = run(["readelf", "-SW", os.path.join(guest_dir(), "workload")]).stdout
    m = re.search(r"\s\.text\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out)
    if not m:
        raise AssertionError("no .text in the workload:\n" + out)
    return int(m.group(1), 16), int(m.group(1), 16) + int(m.group(2), 16)


def insn_records(prof):
    return {(i["addr"], i["generation"]): i for i in prof["insns"]}


def source_of(recs, e):
    return recs[(e["from"], e.get("from_generation", 0))]


def check_loop_exact(prof, label):
    """Every execution of the loop's branch is followed by exactly one transfer: taken, not
    taken, or an interrupt taken right after it; 2 * LOOPS in all (parent and child)."""
    br, top, after = wl("wl_branch"), wl("wl_top"), wl("wl_after")
    out = [e for e in prof["edges"] if int(e["from"], 16) == br]
    kinds = {}
    for e in out:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + e["count"]
    assert_eq(label + ": transfers out of the loop's branch (all kinds)",
              sum(kinds.values()), 2 * LOOPS)
    # the 2 exits fall through to wl_after, but for one an interrupt was taken right after (it
    # then shows as that interrupt: the sum above counts it)
    exits = edge_count(prof, br, after, "fallthrough")
    interrupted = sum(n for k, n in kinds.items() if k not in ("branch", "fallthrough"))
    if not 2 - interrupted <= exits <= 2:
        raise AssertionError("%s: loop exits (fallthrough wl_branch -> wl_after): %d, want 2 "
                             "(or 2 less the %d interrupted transfers); out of the branch: %s"
                             % (label, exits, interrupted,
                                sorted((e["kind"], e["to"], e["count"]) for e in out
                                       if e["to"] != hex(top))))
    taken = edge_count(prof, br, top, "branch")
    if taken < 2 * LOOPS - 1000:
        raise AssertionError("%s: only %d taken branches to wl_top: %s" % (label, taken, kinds))
    assert_eq(label + ": executions of the loop's branch (from blocks)",
              executions(prof).get(br), 2 * LOOPS)


# ---------------------------------------------------------------------------------------------

@test
def linux_x86_64_boots_and_profiles_on_2_vcpus():
    b = main_boot()
    check_guest_ran(b)
    prof = b["prof"]
    meta = prof["meta"]
    assert_eq("meta.mode", meta.get("mode"), "system")
    assert_eq("meta.arch", meta.get("arch"), "x86_64")
    if int(meta.get("vcpus", 0)) < 2:
        raise AssertionError("meta.vcpus = %s: both vCPUs should have run" % meta.get("vcpus"))
    if "inconsistent_entries" in meta:
        raise AssertionError("fast-mode bookkeeping does not balance: inconsistent_entries = %s"
                             % meta["inconsistent_entries"])
    assert_clean(prof)
    kinds = {}
    for e in prof["edges"]:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + e["count"]
    for k in ("branch", "fallthrough", "interrupt", "exception"):
        if not kinds.get(k):
            raise AssertionError("no %s edges; kinds: %s" % (k, kinds))
    froms = [int(e["from"], 16) for e in prof["edges"]]
    n_kernel = sum(a >= KERNEL_BASE for a in froms)
    if n_kernel < 10000:
        raise AssertionError("only %d edges from kernel addresses" % n_kernel)
    # user space: the workload's own loop, at the address nm gives, exact
    check_loop_exact(prof, "main boot")


@test
def linux_x86_64_kernel_entries_are_exact():
    """Timer interrupts, page faults and system calls arrive where System.map says, and every
    entry of those handlers comes with an edge: transfers into a handler = its block entries."""
    b = main_boot()
    prof = b["prof"]
    recs = insn_records(prof)
    entries = {}
    for blk in prof["blocks"]:
        entries[int(blk["addr"], 16)] = entries.get(int(blk["addr"], 16), 0) + blk["count"]
    into = {}
    for e in prof["edges"]:
        into.setdefault(int(e["to"], 16), []).append(e)

    def kinds_into(sym):
        out = {}
        for e in into.get(ksym(sym), []):
            out[e["kind"]] = out.get(e["kind"], 0) + e["count"]
        return out

    # the local APIC timer: QEMU reports interrupts
    timer = kinds_into("asm_sysvec_apic_timer_interrupt")
    if timer.get("interrupt", 0) < 10:
        raise AssertionError("timer interrupts (into asm_sysvec_apic_timer_interrupt): %s"
                             % timer)
    # page faults, from user space too (the workload is paged in on demand): exceptions
    pf = [e for e in into.get(ksym("asm_exc_page_fault"), [])]
    pf_kinds = {e["kind"] for e in pf}
    assert_eq("kinds of the edges into asm_exc_page_fault", pf_kinds, {"exception"})
    lo, hi = workload_text()
    if not any(lo <= int(e["from"], 16) < hi for e in pf):
        raise AssertionError("no page fault from the workload's code [%#x, %#x)" % (lo, hi))
    # system calls: QEMU's x86 `syscall` jumps to MSR_LSTAR without an exception callback, so
    # the kind is whatever the plugin reports (branch today); each comes from a `syscall`
    sc = into.get(ksym("entry_SYSCALL_64"), [])
    bad = [(e["from"], source_of(recs, e)["disas"]) for e in sc
           if not source_of(recs, e)["disas"].startswith("syscall")]
    assert_eq("edges into entry_SYSCALL_64 not from a syscall instruction", bad[:5], [])
    if sum(e["count"] for e in sc) < 500:
        raise AssertionError("only %d system calls" % sum(e["count"] for e in sc))
    for sym in ("asm_sysvec_apic_timer_interrupt", "asm_exc_page_fault", "entry_SYSCALL_64"):
        got = sum(e["count"] for e in into.get(ksym(sym), []))
        assert_eq("transfers into %s vs its block entries" % sym, got,
                  entries.get(ksym(sym), 0))
    # and back: sysretq lands in user space (or in an interrupt taken right after it)
    back = [e for e in prof["edges"] if source_of(recs, e)["disas"].startswith("sysretq")]
    if not back or any(int(e["to"], 16) >= USER_TOP and e["kind"] != "interrupt"
                       for e in back):
        raise AssertionError("sysretq edges: %s" % back[:5])


@test
def linux_x86_64_report_names_kernel_functions_from_system_map():
    """FEATURE symbols=PATH (System.map): every kernel address in the report's hottest edges is
    followed by the System.map function that holds it."""
    b = main_boot(need_symbols=True)
    text = b["report"]
    if "hottest edges" not in text:
        raise AssertionError("no edge report in the -D file (missing feature: report in "
                             "system mode?):\n" + text[:2000])
    named = 0
    wrong = []
    # "COUNT KIND 0xFROM SYMBOL: DISAS -> 0xTO SYMBOL: DISAS", SYMBOL "?" when unknown
    ends = []
    for line in text.split("hottest edges", 1)[-1].splitlines()[1:]:
        if " -> " not in line:
            break
        left, right = line.split(" -> ", 1)
        m = re.match(r"\s*\d+ \S+\s+0x([0-9a-f]+) (\S+?)(\+0x[0-9a-f]+)?: ", left)
        n = re.match(r"0x([0-9a-f]+) (\S+?)(\+0x[0-9a-f]+)?: ", right)
        if not m or not n:
            raise AssertionError("unexpected report line: " + line)
        ends += [m.groups()[:2], n.groups()[:2]]
    for addr, name in ends:
        addr = int(addr, 16)
        if addr < KERNEL_BASE:
            continue
        want = kernel_symbol(addr)
        if name in want:
            named += 1
        else:
            wrong.append((hex(addr), name, sorted(want)))
    if wrong:
        raise AssertionError("missing feature: symbols=System.map (kernel addresses not named "
                             "by System.map): %s" % wrong[:5])
    if named < 5:
        raise AssertionError("only %d kernel addresses named in the report:\n%s"
                             % (named, text[:3000]))
    # the JSON profile names them too
    recs = [i for i in b["prof"]["insns"] if int(i["addr"], 16) >= KERNEL_BASE]
    unnamed = [i["addr"] for i in recs if not i.get("symbol")]
    assert_eq("kernel instructions without a symbol in the JSON profile", unnamed[:5], [])
    bad = [(i["addr"], i["symbol"]) for i in recs[::97]
           if i["symbol"] not in kernel_symbol(int(i["addr"], 16))]
    assert_eq("kernel instructions whose JSON symbol is not System.map's", bad[:5], [])


@test
def linux_x86_64_insn_records_carry_privilege():
    """FEATURE JSON "priv": kernel addresses are "kernel", the workload's code and every
    `syscall` instruction "user", the reset vector "firmware"."""
    prof = main_boot()["prof"]
    missing = [i["addr"] for i in prof["insns"] if "priv" not in i]
    if missing:
        raise AssertionError("missing feature: JSON insn records without \"priv\" (%d of %d, "
                             "e.g. %s)" % (len(missing), len(prof["insns"]), missing[:3]))
    odd = sorted({i["priv"] for i in prof["insns"]} - set(PRIVS))
    assert_eq("priv values outside %s" % (PRIVS,), odd, [])
    kern = [(i["addr"], i["priv"]) for i in prof["insns"]
            if int(i["addr"], 16) >= KERNEL_BASE and i["priv"] != "kernel"]
    assert_eq("kernel addresses not \"kernel\"", kern[:5], [])
    recs = insn_records(prof)
    for sym in ("wl_top", "wl_branch"):
        assert_eq("priv of the workload's %s" % sym, recs[(hex(wl(sym)), 0)]["priv"], "user")
    sc = [(i["addr"], i["priv"]) for i in prof["insns"] if i["disas"].startswith("syscall")]
    if not sc:
        raise AssertionError("no syscall instruction recorded")
    assert_eq("syscall instructions not \"user\"", [s for s in sc if s[1] != "user"][:5], [])
    sr = [(i["addr"], i["priv"]) for i in prof["insns"]
          if i["disas"].startswith(("sysretq", "iretq"))]
    assert_eq("sysretq/iretq not \"kernel\"", [s for s in sr if s[1] != "kernel"][:5], [])
    reset = recs.get(("0xfffffff0", 0))
    if reset is None:
        raise AssertionError("the reset vector 0xfffffff0 is not in the profile")
    assert_eq("priv of the reset vector (SeaBIOS)", reset["priv"], "firmware")


@test
def linux_x86_64_code_identity_is_physical():
    """FEATURE meta.code_identity: system mode identifies code by physical address."""
    meta = main_boot()["prof"]["meta"]
    if "code_identity" not in meta:
        raise AssertionError("missing feature: meta.code_identity")
    assert_eq("meta.code_identity", meta["code_identity"], "physical")


@test
def linux_x86_64_priv_user_records_only_user_code():
    """FEATURE priv=user: no kernel address among edge sources or blocks; the workload's loop
    still exact."""
    b = boot("priv-user", ["priv=user"], feature="option priv=user")
    check_guest_ran(b)
    prof = b["prof"]
    assert_clean(prof)
    kern = [e["from"] for e in prof["edges"] if int(e["from"], 16) >= KERNEL_BASE]
    assert_eq("priv=user: edges from kernel addresses", kern[:5], [])
    kb = [blk["addr"] for blk in prof["blocks"] if int(blk["addr"], 16) >= KERNEL_BASE]
    assert_eq("priv=user: blocks at kernel addresses", kb[:5], [])
    if any("priv" in i for i in prof["insns"]):
        other = [(i["addr"], i["priv"]) for i in prof["insns"] if i.get("priv") != "user"]
        assert_eq("priv=user: instructions recorded that are not user", other[:5], [])
    if not any(i["disas"].startswith("syscall") for i in prof["insns"]):
        raise AssertionError("priv=user: no syscall instruction recorded")
    # an interrupt that ran unrecorded kernel code in between still counts as one transfer
    # out of the branch (to wherever user code went on)
    check_loop_exact(prof, "priv=user")


@test
def linux_x86_64_priv_kernel_records_only_kernel_code():
    """FEATURE priv=kernel: nothing of user space (the workload's loop, syscall instructions,
    "user" records); the kernel's interrupts still there."""
    b = boot("priv-kernel", ["priv=kernel"], feature="option priv=kernel")
    check_guest_ran(b)
    prof = b["prof"]
    assert_clean(prof)
    lo, hi = wl("wl_top") & ~0xfff, (wl("wl_after") | 0xfff) + 1
    user = [e["from"] for e in prof["edges"] if lo <= int(e["from"], 16) < hi]
    user += [blk["addr"] for blk in prof["blocks"] if lo <= int(blk["addr"], 16) < hi]
    # (low addresses alone do not mean user code: the decompressor and early boot run at
    # physical addresses; the workload's page is user code only)
    assert_eq("priv=kernel: edges or blocks in the workload's loop page", user[:5], [])
    sc = [i["addr"] for i in prof["insns"] if i["disas"].startswith("syscall")]
    assert_eq("priv=kernel: syscall instructions recorded", sc[:5], [])
    if any("priv" in i for i in prof["insns"]):
        other = [(i["addr"], i["priv"]) for i in prof["insns"] if i.get("priv") != "kernel"]
        assert_eq("priv=kernel: instructions recorded that are not kernel", other[:5], [])
    n_kernel = sum(int(e["from"], 16) >= KERNEL_BASE for e in prof["edges"])
    if n_kernel < 10000:
        raise AssertionError("priv=kernel: only %d edges from kernel addresses" % n_kernel)
    if not any(e["kind"] == "interrupt" for e in prof["edges"]):
        raise AssertionError("priv=kernel: no interrupt edges")


# ---------------------------------------------------------------------------------------------
# aarch64: Debian's arm64 kernel on -M virt -cpu max (tests/guests/linux/build.sh OUT aarch64)

ARM64_KERNEL_BASE = 0xffff800000000000  # arm64 kernel half (48-bit VA)


@test
def linux_aarch64_boots_and_profiles_on_2_vcpus():
    out = os.path.join(WORK, "linux-aarch64")
    r = run(["bash", os.path.join(TOP, "tests", "guests", "linux", "build.sh"), out,
             "aarch64"], timeout=1800)
    if r.returncode != 0:
        raise AssertionError("cannot build the aarch64 Linux guest (Debian's arm64 kernel and "
                             "busybox via apt-get download):\n" + r.stderr[-3000:])
    syms = symbols(os.path.join(out, "workload"), "aarch64")
    d = os.path.join(WORK, "linux-boots")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "aarch64.json")
    if os.path.exists(path):
        os.unlink(path)
    cmd = [os.path.join(QEMU, "qemu-system-aarch64"), "-M", "virt", "-cpu", "max",
           "-smp", "2", "-m", "512", "-nographic", "-no-reboot", "-nic", "none",
           "-kernel", os.path.join(out, "vmlinuz"), "-initrd", os.path.join(out, "initrd.gz"),
           "-append", "console=ttyAMA0 quiet panic=-1 CFLOW_LOOPS=%d" % LOOPS,
           "-plugin", ",".join([PLUGIN, "output=" + path, "format=json", "report=off"])]
    status, console, _ = run_boot(cmd)
    check_guest_ran({"status": status, "console": console})
    if not os.path.exists(path):
        raise AssertionError("no profile written")
    with open(path) as f:
        prof = json.load(f)
    meta = prof["meta"]
    assert_eq("meta.mode", meta.get("mode"), "system")
    assert_eq("meta.arch", meta.get("arch"), "aarch64")
    if int(meta.get("vcpus", 0)) < 2:
        raise AssertionError("meta.vcpus = %s" % meta.get("vcpus"))
    if "inconsistent_entries" in meta:
        raise AssertionError("inconsistent_entries = %s" % meta["inconsistent_entries"])
    assert_clean(prof)
    kinds = {}
    for e in prof["edges"]:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + e["count"]
    # timer interrupts; svc and page faults are exceptions on aarch64
    for k in ("interrupt", "exception"):
        if not kinds.get(k):
            raise AssertionError("no %s edges; kinds: %s" % (k, kinds))
    n_kernel = sum(int(e["from"], 16) >= ARM64_KERNEL_BASE for e in prof["edges"])
    if n_kernel < 10000:
        raise AssertionError("only %d edges from kernel addresses" % n_kernel)
    recs = insn_records(prof)
    svc = [e for e in prof["edges"] if source_of(recs, e)["disas"].startswith("svc")]
    if sum(e["count"] for e in svc) < 500 or {e["kind"] for e in svc} != {"exception"}:
        raise AssertionError("system calls (svc): %d, kinds %s"
                             % (sum(e["count"] for e in svc), {e["kind"] for e in svc}))
    # the workload's loop, exact (as on x86_64)
    br, top, after = syms["wl_branch"], syms["wl_top"], syms["wl_after"]
    assert_eq("aarch64: transfers out of the loop's branch (all kinds)",
              sum(e["count"] for e in prof["edges"] if int(e["from"], 16) == br), 2 * LOOPS)
    assert_eq("aarch64: loop exits", edge_count(prof, br, after, "fallthrough"), 2)
    assert_eq("aarch64: executions of the loop's branch", executions(prof).get(br),
              2 * LOOPS)
    if edge_count(prof, br, top, "branch") < 2 * LOOPS - 1000:
        raise AssertionError("aarch64: too few taken loop branches")
    # FEATURE JSON "priv" (from CPSR): kernel half "kernel", the loop and every svc "user"
    if any("priv" not in i for i in prof["insns"]):
        raise AssertionError("missing feature: aarch64 JSON insn records without \"priv\"")
    kern = [(i["addr"], i["priv"]) for i in prof["insns"]
            if int(i["addr"], 16) >= ARM64_KERNEL_BASE and i["priv"] != "kernel"]
    assert_eq("aarch64: kernel addresses not \"kernel\"", kern[:5], [])
    assert_eq("aarch64: priv of wl_branch", recs[(hex(br), 0)]["priv"], "user")
    bad = [(i["addr"], i["priv"]) for i in prof["insns"]
           if i["disas"].startswith("svc") and i["priv"] != "user"]
    assert_eq("aarch64: svc instructions not \"user\"", bad[:5], [])
    # FEATURE meta.code_identity
    assert_eq("aarch64: meta.code_identity", meta.get("code_identity"), "physical")
