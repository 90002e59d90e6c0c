"""
Every way QEMU runs (issue 20): MTTCG and round-robin TCG with several vCPUs running shared
code, icount with one and several vCPUs, record then replay, one instruction per block, a
translation cache that flushes all the time, no block chaining, the gdb stub stepping, and
cflow beside another plugin. Each is checked exact on guests whose counts are known, in
every mode (fast, adaptive, reference). On stock QEMU 10.2.2 (.deps/qemu-stock), which
credits a block to the vCPU that translated it under round-robin, the plugin must refuse
such a run before the guest starts, and stay exact where it does run.
"""
import json
import os
import re
import shutil
import socket
import subprocess

from harness import (ARCHES, MODES, QEMU, QEMU_STOCK, TOP, WORK, assert_clean, assert_eq,
                     canonical_blocks, canonical_edges, check_expect, edge_count, executions,
                     guest, profile_json, qemu_tree_plugin, run, symbols, system_cmd, system_guest,
                     test, unbalanced)


SHARED_SRC = os.path.join(TOP, "tests", "guests", "system", "aarch64-shared.S")

ROUND_ROBIN = ["-accel", "tcg,thread=single"]
MTTCG = ["-accel", "tcg,thread=multi"]
ICOUNT = ["-icount", "shift=0"]


def iterations():
    with open(SHARED_SRC) as f:
        return int(re.search(r"\.equ ITER, (\d+)", f.read()).group(1))


def shared_profile(label, qemu_args, extra, smp, qemu_dir=None, plugins_before=(),
                   timeout=300, popen_hook=None):
    """Runs aarch64-shared under cflow; returns (profile, symbols)."""
    binary = system_guest("shared")
    path = os.path.join(WORK, "exec-modes.json")
    if os.path.exists(path):
        os.unlink(path)
    cmd = system_cmd(binary, ["output=" + path, "format=json", "report=off"] + extra, smp,
                     list(plugins_before) + qemu_args, qemu_dir or QEMU)
    if popen_hook:
        status, err = popen_hook(cmd)
    else:
        r = run(cmd, timeout=timeout)
        status, err = r.returncode, r.stderr
    assert_eq("%s: exit status (%s)" % (label, err[-800:]), status, 0)
    with open(path) as f:
        return json.load(f), symbols(binary, "aarch64")


def check_shared(prof, s, smp, label):
    """The counts aarch64-shared.S states, exactly, and every block's entries balanced."""
    n = iterations()
    even, odd = (smp + 1) // 2, smp // 2
    assert_clean(prof)
    assert_eq(label + " vcpus", prof["meta"]["vcpus"], str(smp))
    assert_eq(label + " path_a -> join", edge_count(prof, s["a_jump"], s["join"], "branch"),
              n * even)
    assert_eq(label + " path_b -> join", edge_count(prof, s["b_jump"], s["join"], "branch"),
              n * odd)
    assert_eq(label + " loop", edge_count(prof, s["back"], s["loop_top"], "branch"),
              (n - 1) * smp)
    # every block but the vCPUs' first ones (_start, secondary) has as many entries as
    # transfers into it
    bad = {a: v for a, v in unbalanced(prof).items() if a not in (s["_start"], s["secondary"])}
    if bad:
        raise AssertionError("%s: transfers into / entries differ: %s"
                             % (label, {hex(a): v for a, v in bad.items()}))


def without_wait_loop(prof, s):
    """prof without the blocks and edges of vCPU 0's wait for the others (wait_top to
    wait_end), whose count depends on how the vCPUs were scheduled: what remains is the same in
    every run."""
    def inside(a):
        return s["wait_top"] <= int(a, 16) <= s["wait_end"]
    out = dict(prof)
    out["edges"] = [e for e in prof["edges"] if not inside(e["from"]) and not inside(e["to"])]
    out["blocks"] = [b for b in prof["blocks"] if not inside(b["addr"])]
    return out


def exact_everywhere(qemu_args, smps, label):
    for smp in smps:
        for mode, extra in MODES.items():
            what = "%s -smp %d %s" % (label, smp, mode)
            prof, s = shared_profile(what, qemu_args, extra, smp)
            check_shared(prof, s, smp, what)


@test
def exec_mttcg_several_vcpus_share_code_exactly():
    exact_everywhere(MTTCG, (2, 4), "MTTCG")


@test
def exec_round_robin_several_vcpus_share_code_exactly():
    exact_everywhere(ROUND_ROBIN, (2, 4), "round-robin")


@test
def exec_icount_one_and_several_vcpus_exact():
    exact_everywhere(ICOUNT, (1, 2, 4), "icount shift=0")


@test
def exec_stock_qemu_refuses_round_robin_with_several_vcpus():
    """Stock QEMU 10.2.2 bakes the translating vCPU into shared blocks under round-robin:
    the plugin must stop QEMU before the guest runs, say why and what to do, write nothing;
    it must run, exactly, where stock QEMU is right (one vCPU, or MTTCG)."""
    if not os.path.exists(os.path.join(QEMU_STOCK, "qemu-system-aarch64")):
        raise AssertionError("no stock QEMU in .deps/qemu-stock (scripts/deps builds it)")
    binary = system_guest("shared")
    path = os.path.join(WORK, "exec-modes-refused.json")
    for qemu_args in (ROUND_ROBIN, ICOUNT):
        for mode in ("fast", "reference"):
            if os.path.exists(path):
                os.unlink(path)
            label = "stock QEMU %s %s -smp 2" % (" ".join(qemu_args), mode)
            r = run(system_cmd(binary, ["output=" + path, "format=json"] + MODES[mode], 2,
                               qemu_args, QEMU_STOCK), timeout=120)
            assert_eq(label + " exit status (%s)" % r.stderr[-500:], r.returncode, 1)
            for words in ("round-robin", "thread=multi", "patch series"):
                if words not in r.stderr:
                    raise AssertionError("%s: message does not say %r: %s"
                                         % (label, words, r.stderr[-800:]))
            if os.path.exists(path):
                raise AssertionError(label + ": a profile was written")
    for qemu_args, smp in ((ICOUNT, 1), (ROUND_ROBIN, 1), (MTTCG, 2)):
        for mode, extra in MODES.items():
            label = "stock QEMU %s -smp %d %s" % (" ".join(qemu_args), smp, mode)
            prof, s = shared_profile(label, qemu_args, extra, smp, qemu_dir=QEMU_STOCK)
            check_shared(prof, s, smp, label)


@test
def exec_record_then_replay_gives_the_same_profile():
    rrfile = os.path.join(WORK, "exec-modes.replay")
    for smp in (1,):  # QEMU 10.2: "Record/replay is not supported with multiple CPUs"
        for mode, extra in MODES.items():
            label = "record -smp %d %s" % (smp, mode)
            recorded, s = shared_profile(label, ["-icount", "shift=auto,rr=record,rrfile="
                                                 + rrfile], extra, smp)
            check_shared(recorded, s, smp, label)
            label = "replay -smp %d %s" % (smp, mode)
            replayed, _ = shared_profile(label, ["-icount", "shift=auto,rr=replay,rrfile="
                                                 + rrfile], extra, smp)
            check_shared(replayed, s, smp, label)
            assert_eq(label + ": edges as recorded", canonical_edges(replayed),
                      canonical_edges(recorded))
            assert_eq(label + ": blocks as recorded", canonical_blocks(replayed),
                      canonical_blocks(recorded))


def insn_executions(prof):
    """Instruction address -> times it ran: its blocks' entries, less the times an earlier
    instruction of the block left it early (a fault)."""
    out = executions(prof)
    for e in prof["edges"]:
        if e["kind"] != "early-exit":
            continue
        for b in prof["blocks"]:
            if e["from"] in b["insns"]:
                for a in b["insns"][b["insns"].index(e["from"]) + 1:]:
                    out[int(a, 16)] -= e["count"]
                break
    return {a: n for a, n in out.items() if n}


@test
def exec_one_insn_per_tb_exact():
    """One instruction per block: every branch edge and every instruction's execution count
    as in an ordinary run; the only edges added are the fall-throughs between the one-insn
    blocks QEMU cut an ordinary block into (from an instruction in the middle of an ordinary
    block to the next one), each as often as that instruction ran."""
    exact_everywhere(["-accel", "tcg,one-insn-per-tb=on"], (2,), "system one-insn-per-tb")
    for arch in ARCHES:
        for name in ("loops", "jumptable", "fault"):
            binary = guest(arch, name)
            ordinary, _ = profile_json(arch, [binary], MODES["reference"] + ["report=off"])
            middle = {int(a, 16) for b in ordinary["blocks"] for a in b["insns"][:-1]}
            ran = insn_executions(ordinary)
            for mode, extra in MODES.items():
                what = "user one-insn-per-tb %s/%s %s" % (arch, name, mode)
                prof, r = profile_json(arch, ["-one-insn-per-tb", binary],
                                       extra + ["report=off"])
                assert_eq(what + " exit status", r.returncode, 0)
                assert_clean(prof)
                if any(len(b["insns"]) != 1 for b in prof["blocks"]):
                    raise AssertionError(what + ": a block of more than one instruction")
                assert_eq(what + " executions", insn_executions(prof), ran)
                split = [e for e in prof["edges"]
                         if e["kind"] == "fallthrough" and int(e["from"], 16) in middle]
                for e in split:
                    assert_eq("%s split at %s" % (what, e["from"]), e["count"],
                              ran[int(e["from"], 16)])
                rest = dict(prof)
                rest["edges"] = [e for e in prof["edges"] if e not in split]
                assert_eq(what + " edges", canonical_edges(rest),
                          canonical_edges(ordinary))


@test
def exec_tiny_translation_cache_exact():
    exact_everywhere(["-accel", "tcg,tb-size=1"], (2,), "tb-size=1")


@test
def exec_nochain_exact():
    exact_everywhere(["-d", "nochain"], (2,), "system nochain")
    user_mode_exact(["-d", "nochain"], "user nochain")


def user_mode_exact(qemu_args, label):
    """The hand-counted user-mode guests (loops, jumptable, fault) on all three architectures,
    with extra QEMU options, checked against their .expect files."""
    for arch in ARCHES:
        for name in ("loops", "jumptable", "fault"):
            binary = guest(arch, name)
            expect = os.path.join(TOP, "tests", "guests", arch, name + ".expect")
            for mode, extra in MODES.items():
                what = "%s %s/%s %s" % (label, arch, name, mode)
                prof, r = profile_json(arch, qemu_args + [binary], extra + ["report=off"])
                assert_eq(what + " exit status", r.returncode, 0)
                assert_clean(prof)
                path = os.path.join(WORK, "exec-modes-user.json")
                with open(path, "w") as f:
                    json.dump(prof, f)
                check_expect(path, binary, expect, arch, what + ": ")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@test
def exec_gdb_stub_stepping_then_continue_exact():
    """QEMU started halted (-S) with its gdb stub; gdb steps a few instructions, then lets the
    guest run to the end: single-stepped blocks must not add or lose a transfer."""
    gdb = shutil.which("gdb-multiarch")
    if not gdb:
        raise AssertionError("gdb-multiarch is missing (scripts/deps installs it)")
    for mode, extra in MODES.items():
        def under_gdb(cmd):
            port = free_port()
            qemu = subprocess.Popen(cmd + ["-gdb", "tcp:127.0.0.1:%d" % port, "-S"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            try:
                # QEMU may not listen yet when gdb starts: gdb retries for up to 30 s
                g = run([gdb, "-nx", "-batch", "-ex", "set architecture aarch64",
                         "-ex", "set tcp auto-retry on", "-ex", "set tcp connect-timeout 30",
                         "-ex", "target remote 127.0.0.1:%d" % port,
                         "-ex", "stepi", "-ex", "stepi", "-ex", "stepi", "-ex", "stepi",
                         "-ex", "info registers pc", "-ex", "continue"], timeout=120)
                _, err = qemu.communicate(timeout=120)
            finally:
                if qemu.poll() is None:
                    qemu.kill()
            pc = re.search(r"pc\s+0x([0-9a-f]+)", g.stdout)
            if not pc or int(pc.group(1), 16) <= 0x40080000:
                raise AssertionError("gdb did not step: %s %s" % (g.stdout[-500:],
                                                                   g.stderr[-500:]))
            return qemu.returncode, err
        label = "gdb stub -smp 2 " + mode
        prof, s = shared_profile(label, [], extra, 2, popen_hook=under_gdb)
        check_shared(prof, s, 2, label)


@test
def exec_beside_another_plugin_same_profile():
    """QEMU's own hotblocks plugin loaded first (its inline counters and callbacks in the same
    blocks): cflow's profile is the same, edge for edge, as alone."""
    hotblocks = qemu_tree_plugin(os.path.join("contrib", "plugins", "hotblocks.c"),
                                 WORK)
    for mode, extra in MODES.items():
        alone, s = shared_profile("alone " + mode, [], extra, 2)
        label = "beside hotblocks " + mode
        beside, _ = shared_profile(label, [], extra, 2,
                                   plugins_before=["-plugin", hotblocks + ",inline=on"])
        check_shared(beside, s, 2, label)
        beside, alone = without_wait_loop(beside, s), without_wait_loop(alone, s)
        assert_eq(label + ": edges", canonical_edges(beside), canonical_edges(alone))
        assert_eq(label + ": blocks", canonical_blocks(beside),
                  canonical_blocks(alone))
