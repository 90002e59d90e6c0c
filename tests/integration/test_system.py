"""
System mode, exact (issue 6), on bare-metal aarch64 guests written here
(tests/guests/system/aarch64-*.S), in every mode: a semihosting guest on 2 vCPUs counted by hand,
privilege levels and the priv= filter, aliased code, device accesses, an exit while another vCPU
runs. (Periodic dumps: test_dumps.py; Linux booted: test_linux.py; every way QEMU runs:
test_exec_modes.py.)
"""
import json
import os

from harness import (MODES, TESTS, TOP, WORK, assert_clean, assert_eq, check_expect,
                     check_snapshot, edge_count, entries_by_addr, executions, run, symbols,
                     system_cmd, system_guest, test)


def make_system_test(mode):
    def t():
        binary = system_guest("semihost")
        path = os.path.join(WORK, "system-%s.json" % mode)
        if os.path.exists(path):
            os.unlink(path)
        r = run(system_cmd(binary, ["output=" + path, "format=json"] + MODES[mode], smp=2)
                + ["-d", "plugin"], timeout=120)
        assert_eq("exit status", r.returncode, 0)
        if "semihost ok" not in r.stdout + r.stderr:
            raise AssertionError("the guest did not run: " + r.stdout + r.stderr)
        prof = json.load(open(path))
        assert_eq("mode", prof["meta"]["mode"], "system")
        assert_eq("vcpus", prof["meta"]["vcpus"], "2")
        assert_clean(prof)
        expect = os.path.join(TOP, "tests", "guests", "system", "aarch64-semihost.expect")
        check_expect(path, binary, expect, "aarch64")
    t.__name__ = "system_mode_aarch64_semihosting_%s" % mode
    return t


for _mode in MODES:
    TESTS.append(make_system_test(_mode))


def profile(name, extra, smp=1):
    binary = system_guest(name)
    path = os.path.join(WORK, "system-%s.json" % name)
    if os.path.exists(path):
        os.unlink(path)
    r = run(system_cmd(binary, ["output=" + path, "format=json", "report=off"] + extra, smp),
            timeout=120)
    assert_eq("%s %s exit status (%s)" % (name, extra, r.stderr[-500:]), r.returncode, 0)
    with open(path) as f:
        return json.load(f), symbols(binary, "aarch64")


def insn_priv(prof):
    return {int(i["addr"], 16): i.get("priv") for i in prof["insns"]}


@test
def system_privilege_levels_and_filter():
    for mode in MODES:
        prof, s = profile("priv", MODES[mode])
        label = "priv " + mode
        assert_clean(prof)
        assert_eq(label + " user loop", edge_count(prof, s["user_branch"], s["user_top"],
                                                   "branch"), 2999)
        assert_eq(label + " svc", edge_count(prof, s["svc_insn"], s["el0_sync"], "exception"), 1)
        assert_eq(label + " kernel loop", edge_count(prof, s["kern_branch"], s["kern_top"],
                                                     "branch"), 1999)
        levels = insn_priv(prof)
        for a, level in levels.items():
            want = "user" if s["user_entry"] <= a <= s["svc_insn"] else "kernel"
            if level != want:
                raise AssertionError("%s: insn %#x is %r, want %r" % (label, a, level, want))
    for only, inside in (("user", True), ("kernel", False)):
        for mode in ("fast", "reference"):
            prof, s = profile("priv", MODES[mode] + ["priv=" + only])
            label = "priv=%s %s" % (only, mode)
            levels = insn_priv(prof)
            if set(levels.values()) != {only}:
                raise AssertionError("%s: levels recorded %s" % (label, set(levels.values())))
            for e in prof["edges"]:
                a = int(e["from"], 16)
                if (s["user_entry"] <= a <= s["svc_insn"]) != inside:
                    raise AssertionError("%s: an edge from the other level: %s" % (label, e))
            loop = ("user_branch", "user_top") if inside else ("kern_branch", "kern_top")
            assert_eq(label + " loop", edge_count(prof, s[loop[0]], s[loop[1]], "branch"),
                      2999 if inside else 1999)
            # the transfer from the other level is no edge, but it is counted
            assert_eq(label + " entries from the other level",
                      prof["meta"].get("entries_from_unrecorded"), "1")


@test
def system_aliased_code_is_identified_physically():
    alias = 0x40000000
    for mode in MODES:
        prof, s = profile("alias", MODES[mode])
        label = "alias " + mode
        assert_clean(prof)
        assert_eq(label + " identity", prof["meta"].get("code_identity"), "physical")
        assert_eq(label + " f entries", entries_by_addr(prof).get(s["f"]), 500)
        assert_eq(label + " direct calls", edge_count(prof, s["call_direct"], s["f"], "branch"),
                  300)
        assert_eq(label + " calls through the alias",
                  edge_count(prof, s["call_alias"] + alias, s["f"], "branch"), 200)
        assert_eq(label + " direct loop",
                  edge_count(prof, s["direct_branch"], s["direct_top"], "branch"), 299)
        assert_eq(label + " alias loop",
                  edge_count(prof, s["alias_branch"] + alias, s["alias_top"] + alias,
                             "branch"), 199)
        # every address named was executed there: the alias only for the alias loop, which
        # never ran at its own address; f only at its own
        ran_at_alias = {a + alias for a in range(s["alias_loop"], s["f"], 4)}
        named = {int(e["from"], 16) for e in prof["edges"]} | \
                {int(e["to"], 16) for e in prof["edges"]} | \
                {int(b["addr"], 16) for b in prof["blocks"]}
        for a in named:
            if a >= 0x80000000 and a not in ran_at_alias:
                raise AssertionError("%s: %#x names code through an alias it did not run at"
                                     % (label, a))
            if s["alias_loop"] <= a < s["f"]:
                raise AssertionError("%s: %#x names the alias loop at an address where it never"
                                     " ran" % (label, a))


@test
def system_device_access_mid_block_is_no_early_exit():
    for mode in MODES:
        prof, s = profile("mmio", MODES[mode])
        label = "mmio " + mode
        assert_clean(prof)
        early = [e for e in prof["edges"] if e["kind"] == "early-exit"]
        assert_eq(label + " early exits", early, [])
        out_of_load = [e for e in prof["edges"] if int(e["from"], 16) == s["mmio_load"]]
        assert_eq(label + " edges out of the load", out_of_load, [])
        assert_eq(label + " loop", edge_count(prof, s["mmio_branch"], s["mmio_top"], "branch"),
                  499)
        ex = executions(prof)
        for sym in ("mmio_top", "mmio_load", "mmio_branch"):
            assert_eq("%s executions of %s" % (label, sym), ex.get(s[sym]), 500)


@test
def system_exit_while_another_vcpu_runs_is_a_consistent_snapshot():
    for name, extra in (("fast", MODES["fast"]), ("fast, never re-planned",
                        MODES["fast"] + ["adapt_after=0"]), ("reference", MODES["reference"])):
        prof, s = profile("smp", extra, smp=2)
        label = "smp " + name
        assert_eq(label + " vcpus", prof["meta"]["vcpus"], "2")
        assert_eq(label + " vCPU 0's loop",
                  edge_count(prof, s["zero_branch"], s["zero_top"], "branch"), 99999)
        check_snapshot(prof, s, label)
