"""
The QEMU patch series (qemu/patches/): each patch's effect, checked on the project's QEMU
(.deps/qemu) against stock QEMU 10.2.2 (.deps/qemu-stock), and QEMU's own behaviour kept.
Patches 0001-0003 (round-robin vCPU indices) are tested in test_exec_modes.py.
"""
import collections
import json
import os
import re
import tempfile

from harness import (ARCHES, MODES, PLUGIN, QEMU, QEMU_STOCK, TOP, WORK, assert_clean, assert_eq,
                     canonical_edges, check_expect, floor_plugin, guest, multiarch_programs, qemu,
                     project_plugin, qemu_tree_plugin, run, symbols, test)


CF_PARALLEL = 0x00008000  # include/exec/translation-block.h


def qemu_plugin_from_tree(name, out_dir):
    """A plugin of QEMU's own tests (tests/tcg/plugins/NAME.c), built from the QEMU tree."""
    return qemu_tree_plugin(os.path.join("tests", "tcg", "plugins", name + ".c"), out_dir)


@test
def qemu_patch_memory_values_still_reach_callbacks_that_read_them():
    """0004 leaves out the store of each accessed value where no callback reads it; QEMU's own
    mem plugin, which prints every access with its value, prints the same on both QEMUs."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = qemu_plugin_from_tree("mem", d)
        data = os.path.join(d, "data")
        with open(data, "wb") as f:
            f.write(bytes(range(256)) * 16)
        out = {}
        for name, qdir in (("patched", QEMU), ("stock", QEMU_STOCK), ("stock again", QEMU_STOCK)):
            log = os.path.join(d, name + ".log")
            r = run([os.path.join(qdir, "qemu-x86_64"), "-plugin",
                     so + ",print-accesses=true", "-d", "plugin", "-D", log,
                     guest("c", "shmap"), data, "ro"])
            assert_eq(name + " exit status", r.returncode, 0)
            with open(log) as f:
                out[name] = [fixed(ln) for ln in f.read().splitlines() if ln.startswith("0x")]
                out[name] = [a for a in out[name] if a]
        stores = [a for a in out["stock"] if a[3] == "store"]
        if len(out["stock"]) < 100 or len({a[4] for a in stores}) < 5:
            raise AssertionError("too few accesses or values: %d, %r" % (len(out["stock"]),
                                                                          stores[:5]))
        # what differs between two stock runs (a thread id) is left out of the comparison
        assert_eq("accesses printed", len(out["patched"]), len(out["stock"]))
        assert_eq("accesses printed (stock, twice)", len(out["stock again"]), len(out["stock"]))
        same = [i for i, a in enumerate(out["stock"]) if a == out["stock again"][i]]
        if len(same) < len(out["stock"]) - 50:
            raise AssertionError("stock runs differ in %d accesses" % (len(out["stock"]) -
                                                                       len(same)))
        assert_eq("accesses and values printed", [out["patched"][i] for i in same],
                  [out["stock"][i] for i in same])


def fixed(line):
    """An access of QEMU's mem plugin (insn,symbol,vaddr,hwaddr,bits,load|store,value) that is
    the same in every run: to the static binary's own data (a fixed address), of a value that is
    no pointer into the stack, heap or mappings QEMU places anew each run; else None."""
    insn, sym, vaddr, _, bits, kind, value = line.split(",")
    if int(vaddr, 16) >= 0x1000000 or int(value, 16) >= 0x1000000:
        return None
    return (insn, sym, vaddr, kind, value, bits)


def op_log(qemu_dir, plugin, argv, path, dump="op"):
    """QEMU's TCG ops (`dump`: -d op, before optimisation, or op_opt, after) of a run under
    `plugin` (its .so and options): (exit status, the translation blocks' op lines, one list
    per block)."""
    r = run([os.path.join(qemu_dir, "qemu-x86_64"), "-d", dump, "-D", path, "-plugin", plugin]
            + argv)
    blocks = []
    with open(path) as f:
        for ln in f.read().splitlines():
            if ln.startswith("OP"):
                blocks.append([])
            elif ln.startswith(" ") and blocks:
                blocks[-1].append(ln.strip())
    return r.returncode, blocks


def value_store_counts(qemu_dir, so, log):
    """From QEMU's optimised ops of guest c/rewrite under the floor plugin (mode=empty: a
    translation callback, nothing else): (guest memory accesses, Counter of the env offsets
    stored to right after one)."""
    status, blocks = op_log(qemu_dir, so + ",mode=empty", [guest("c", "rewrite"), "10"], log,
                            "op_opt")
    assert_eq("exit status", status, 0)
    lines = [ln for b in blocks for ln in b]
    accesses, after = 0, collections.Counter()
    for i, ln in enumerate(lines):
        if ln.startswith(("qemu_ld", "qemu_st")):
            accesses += 1
            for nxt in lines[i + 1:i + 4]:
                m = re.match(r"st(?:_i32|_i64|32|64)?\s+\S+,env,\$(0x[0-9a-f]+)", nxt)
                if m:
                    after[m.group(1)] += 1
                    break
    return accesses, after


@test
def qemu_patch_no_memory_value_store_without_a_reader():
    """0004: stock QEMU stores the value of every guest load and store into the vCPU for a
    memory callback as soon as any plugin translates, even one that registers none; the
    patched QEMU stores none."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = floor_plugin(d)
        accesses, stock = value_store_counts(QEMU_STOCK, so, os.path.join(d, "stock.log"))
        if accesses < 10 or not stock:
            raise AssertionError("stock: %d accesses, stores after them %r" % (accesses, stock))
        offset, n = stock.most_common(1)[0]
        if n < accesses // 2:
            raise AssertionError("stock: no store follows most accesses: %d of %d to %s"
                                 % (n, accesses, offset))
        p_accesses, patched = value_store_counts(QEMU, so, os.path.join(d, "patched.log"))
        assert_eq("patched: accesses", p_accesses, accesses)
        assert_eq("patched: value stores (to %s)" % offset, patched.get(offset, 0), 0)


def traced_cflags(qemu_dir, mode, path):
    """cflags of the translation blocks that ran at shmap's after_map (QEMU's -d exec)."""
    binary = guest("c", "shmap")
    at = symbols(binary)["after_map"]
    with tempfile.NamedTemporaryFile(dir=WORK, suffix=".log") as log:
        r = run([os.path.join(qemu_dir, "qemu-x86_64"), "-d", "exec,nochain", "-D", log.name,
                 binary, path, mode])
        assert_eq("shmap %s exit status (%s)" % (mode, r.stderr[-300:]), r.returncode, 0)
        with open(log.name) as f:
            text = f.read()
    flags = set()
    for m in re.finditer(r"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\]", text):
        if int(m.group(1), 16) == at:
            flags.add(int(m.group(2), 16))
    if not flags:
        raise AssertionError("after_map (%#x) never traced" % at)
    return flags


@test
def qemu_patch_read_only_shared_mapping_keeps_serial_code():
    """0005: a MAP_SHARED mapping of a file opened read-only, without PROT_WRITE, no longer
    switches the process to parallel code (which doubles the cost of every inline operation
    of a plugin); a writable one still does, on both QEMUs."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        path = os.path.join(d, "shared")
        with open(path, "wb") as f:
            f.write(bytes(range(256)) * 16)
        for qdir, mode, parallel in ((QEMU_STOCK, "ro", True), (QEMU, "ro", False),
                                     (QEMU_STOCK, "rw", True), (QEMU, "rw", True)):
            label = "%s %s" % ("stock" if qdir == QEMU_STOCK else "patched", mode)
            flags = traced_cflags(qdir, mode, path)
            assert_eq(label + ": parallel code at after_map",
                      {bool(f & CF_PARALLEL) for f in flags}, {parallel})


# a vCPU index scaled to a scoreboard entry, from a constant or from a value loaded at run time
CONSTANT_INDEX_SHIFT = re.compile(r"shl_i32 \S+,\$0x[0-9a-f]+,\$0x[0-9a-f]+$")
LOADED_INDEX_SHIFT = re.compile(r"shl_i32 \S+,tmp\d+,\$0x[0-9a-f]+$")


@test
def qemu_patch_scoreboard_address_is_one_constant():
    """0007: where one vCPU runs a block, stock QEMU generates a shift, an extension and an add
    of constants for each inline operation's scoreboard address (the optimiser folds them
    back into one constant); the patched QEMU generates the constant. Where several threads
    run the code (parallel mode), both still compute it from the vCPU index loaded at run
    time, and the counts stay exact (test_threads.py checks cflow's)."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = floor_plugin(d)
        shifts = {}
        for name, qdir in (("stock", QEMU_STOCK), ("patched", QEMU)):
            status, blocks = op_log(qdir, so + ",mode=edges", [guest("c", "rewrite"), "10"],
                                    os.path.join(d, name + ".log"))
            assert_eq(name + " exit status", status, 0)
            if len(blocks) < 100:
                raise AssertionError("%s: %d blocks translated" % (name, len(blocks)))
            shifts[name] = (len(blocks), sum(1 for b in blocks for op in b
                                             if CONSTANT_INDEX_SHIFT.match(op)))
        # mode=edges: three inline operations per block (the count, the check, the store)
        n = shifts["stock"][0]
        assert_eq("stock: shifts of a constant vCPU index", shifts["stock"], (n, 3 * n))
        assert_eq("patched: shifts of a constant vCPU index", shifts["patched"], (n, 0))
        status, blocks = op_log(QEMU, so + ",mode=count", [guest("c", "threads")],
                                os.path.join(d, "threads.log"))
        assert_eq("patched, threads: exit status", status, 0)
        loaded = sum(1 for b in blocks if any(LOADED_INDEX_SHIFT.match(op) for op in b))
        if loaded < 10:
            raise AssertionError("patched, threads: %d of %d blocks scale a loaded vCPU index"
                                 % (loaded, len(blocks)))


@test
def qemu_patch_no_flag_stores_around_calls_without_registers():
    """0008: stock QEMU brackets every callback call with two stores of the register-access
    flags, even for callbacks that access no registers (the value stored is the one already
    there); the patched QEMU leaves them out for those only. QEMU's execlog plugin, whose
    per-instruction callback reads a register (it aborts when it cannot), runs and prints
    the same register changes on both QEMUs."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = qemu_tree_plugin(os.path.join("contrib", "plugins", "execlog.c"), d)
        seen = {}
        for name, qdir in (("stock", QEMU_STOCK), ("patched", QEMU)):
            log = os.path.join(d, name + ".log")
            r = run([os.path.join(qdir, "qemu-x86_64"), "-d", "plugin,op", "-D", log, "-plugin",
                     so + ",reg=rsp", guest("c", "rewrite"), "3"])
            assert_eq(name + " exit status (%s)" % r.stderr[-300:], r.returncode, 0)
            with open(log) as f:
                text = f.read()
            stores = collections.Counter(re.findall(r"st_i32 \$(0x[0-9a-f]+),env,\$(0x[0-9a-f]+)",
                                                    text))
            # where the flags live: the offset QEMU stores "may read registers" (1) to
            ones = collections.Counter(off for value, off in stores.elements() if value == "0x1")
            reads = ones.most_common(1)[0][0] if ones else None
            seen[name] = {
                "calls": len(re.findall(r"^ call plugin", text, re.M)),
                "rsp changes": text.count(", rsp -> 0x"),
                "read-regs flag stores": stores[("0x1", reads)],
                "no-regs flag stores": stores[("0x0", reads)],
            }
        stock, patched = seen["stock"], seen["patched"]
        if stock["rsp changes"] < 100 or stock["read-regs flag stores"] < 100:
            raise AssertionError("stock: too little to compare: %r" % stock)
        # every call: a flag store before and after on stock; the register-reading ones only
        assert_eq("stock: flag stores", stock["read-regs flag stores"] +
                  stock["no-regs flag stores"], 2 * stock["calls"])
        if stock["calls"] <= stock["read-regs flag stores"]:
            raise AssertionError("stock: no call without register access: %r" % stock)
        assert_eq("patched", patched, dict(stock, **{
            "no-regs flag stores": stock["read-regs flag stores"]}))


def expected_cond_calls(n, limit=50):
    """Calls each condition gets when a counter takes the values 1..n and is compared with
    `limit` (cond_calls.c, for both of its immediates)."""
    return {"EQ": 1 if n >= limit else 0, "NE": n - (1 if n >= limit else 0),
            "LT": min(n, limit - 1), "LE": min(n, limit), "GT": max(0, n - limit),
            "GE": max(0, n - limit + 1)}


def cond_calls_seen(stderr):
    """cond_calls.c's report: {vcpu: (executions, {(cond, size): (calls, wrong)})}."""
    seen, vcpu = {}, None
    for ln in stderr.splitlines():
        m = re.match(r"vcpu (\d+) executions (\d+)$", ln)
        if m:
            vcpu = int(m.group(1))
            seen[vcpu] = (int(m.group(2)), {})
            continue
        m = re.match(r"(EQ|NE|LT|LE|GT|GE) (small|large) calls (\d+) wrong (\d+)$", ln)
        if m and vcpu is not None:
            seen[vcpu][1][(m.group(1), m.group(2))] = (int(m.group(3)), int(m.group(4)))
    return seen


@test
def qemu_patch_conditional_callback_is_one_op():
    """0009: stock QEMU generates a conditional callback as a load, a brcond, the call and a
    label (two basic blocks); the patched QEMU as one plugin_cond_cb op, on an x86-64 host.
    Each of the six conditions, with an immediate of 32 bits and one of 64, calls its
    callback exactly when the condition holds (qemu/tests/cond_calls.c), in serial code and
    in the threads guest's parallel code (the entry's address computed at run time), on
    both QEMUs."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = project_plugin(os.path.join("qemu", "tests", "cond_calls.c"), "libcond_calls.so",
                            d)
        for name, qdir in (("stock", QEMU_STOCK), ("patched", QEMU)):
            status, blocks = op_log(qdir, so, [guest("c", "rewrite"), "10"],
                                    os.path.join(d, name + ".log"), "op_opt")
            assert_eq(name + " exit status", status, 0)
            if len(blocks) < 100:
                raise AssertionError("%s: %d blocks translated" % (name, len(blocks)))
            ops = collections.Counter(op.split()[0] for b in blocks for op in b)
            calls = sum(1 for b in blocks for op in b if op.startswith("call plugin"))
            # twelve conditional callbacks per block
            want = (0, 12 * len(blocks)) if name == "stock" else (12 * len(blocks), 0)
            assert_eq(name + ": (plugin_cond_cb ops, plugin calls)",
                      (ops["plugin_cond_cb"], calls), want)
            for argv in ([guest("c", "rewrite"), "10"], [guest("c", "threads")]):
                r = run([os.path.join(qdir, "qemu-x86_64"), "-plugin", so] + argv)
                assert_eq("%s %s exit status" % (name, os.path.basename(argv[0])),
                          r.returncode, 0)
                seen = cond_calls_seen(r.stderr)
                if not seen or (len(argv) == 1 and len(seen) < 3):
                    raise AssertionError("%s: no report for enough vCPUs: %s"
                                         % (name, r.stderr[-500:]))
                for vcpu, (n, checks) in seen.items():
                    want = {(c, size): (k, 0) for c, k in expected_cond_calls(n).items()
                            for size in ("small", "large")}
                    assert_eq("%s %s vCPU %d (%d executions): (calls, wrong)" % (
                        name, os.path.basename(argv[0]), vcpu, n), checks, want)
        # the threads guest's parallel code: the entry's address is an input computed at run
        # time, not a constant
        status, blocks = op_log(QEMU, so, [guest("c", "threads")], os.path.join(d, "threads.log"),
                                "op_opt")
        assert_eq("patched, threads: exit status", status, 0)
        computed = sum(1 for b in blocks for op in b if re.match(r"plugin_cond_cb tmp\d+,", op))
        if computed < 12 * 10:
            raise AssertionError("patched, threads: %d plugin_cond_cb ops on a computed address"
                                 % computed)


@test
def qemu_patches_keep_qemus_own_plugin_tests_passing():
    """What QEMU's check-tcg does with its test plugins (tests/tcg/plugins: bb, empty, inline,
    insn, mem, syscall; inline.c checks its inline counts against its callbacks' and aborts on
    a difference), on the patched QEMU: each of QEMU's multiarch test programs exits and
    prints as without a plugin."""
    progs = [p for p in multiarch_programs()
             if os.path.basename(p) in ("sha1", "sha512", "test-mmap", "linux-test",
                                        "testthread", "sigbus", "munmap-pthread")]
    if len(progs) < 5:
        raise AssertionError("only %d of QEMU's multiarch programs built: %s" % (len(progs),
                                                                               progs))
    failures = []
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        plugins = {n: qemu_plugin_from_tree(n, d)
                   for n in ("bb", "empty", "inline", "insn", "mem", "syscall")}
        for exe in progs:
            bare = qemu("x86_64", [exe], timeout=120)
            for name, so in plugins.items():
                r = run([os.path.join(QEMU, "qemu-x86_64"), "-plugin", so, "-d",
                         "plugin", "-D", os.path.join(d, "out.log"), exe], timeout=300)
                if r.returncode != bare.returncode:
                    failures.append("%s under %s: status %d, %d without (%s)" % (
                        os.path.basename(exe), name, r.returncode, bare.returncode,
                        r.stderr[-300:]))
    if failures:
        raise AssertionError("; ".join(failures))


def exact_on_both_qemus(name):
    """tests/guests/x86_64/NAME run under the patched and the stock qemu-x86_64 with the
    plugin: exit status 0, the counts of NAME.expect, a clean profile on both; the profiles'
    meta by QEMU ("patched", "stock")."""
    binary = guest("x86_64", name)
    expect = os.path.join(TOP, "tests", "guests", "x86_64", name + ".expect")
    meta = {}
    for which, qdir in (("patched", QEMU), ("stock", QEMU_STOCK)):
        path = os.path.join(WORK, "%s-%s.json" % (name, which))
        if os.path.exists(path):
            os.unlink(path)
        r = run([os.path.join(qdir, "qemu-x86_64"), "-plugin",
                 ",".join([PLUGIN, "output=" + path, "format=json", "report=off"]),
                 binary])
        assert_eq(which + " exit status", r.returncode, 0)
        check_expect(path, binary, expect, "x86_64", which + ": ")
        with open(path) as f:
            meta[which] = json.load(f)["meta"]
        assert_clean({"meta": meta[which]})
    return meta


@test
def qemu_patch_second_predecessor_counted_inline():
    """0006 (conditional inline operations): where QEMU has them, a re-plan gives each block
    its second most frequent predecessor too, counted inline. settle.S's f is entered from two
    call sites in turn, 2.5 M times each (and `next` from two places): on stock QEMU every
    other entry calls the helper; on the patched QEMU none does once re-planned, and both
    profiles are exact."""
    meta = exact_on_both_qemus("settle")
    seconds = int(meta["patched"].get("second_predecessor_entries", 0))
    if seconds < 2000000:
        raise AssertionError("patched: %d entries counted as from a second predecessor" % seconds)
    assert_eq("stock: second-predecessor entries",
              meta["stock"].get("second_predecessor_entries"), None)
    calls = {n: int(m["helper_calls"]) for n, m in meta.items()}
    # both make the same calls until the re-plan (after 2 M, at the settled loop's pace); after
    # it stock QEMU still calls the helper for every other entry of f and of `next`, the
    # patched one for none of them
    if calls["stock"] < 4000000 or calls["patched"] * 2 > calls["stock"]:
        raise AssertionError("helper calls: %r (patched should make under half)" % calls)


@test
def qemu_patch_second_predecessor_from_the_start():
    """Where QEMU counts a second predecessor inline (0006), a block gets one at its first
    translation: the instruction that can fall through into it, reserved before it is
    translated. headjump.S jumps into a loop head whose latch falls through into it (1,000
    times, 100 iterations each): on the patched QEMU the jump and the fall-through are both
    counted inline from the start, and no entry calls the helper once each block has run;
    stock QEMU, which expects the jump it first came from, calls it for every fall-through.
    Exact on both, with one reservation claimed and one never claimed."""
    meta = exact_on_both_qemus("headjump")
    calls = {n: int(m["helper_calls"]) for n, m in meta.items()}
    # patched: at most the guest's own start (its first block, the syscalls' blocks)
    if calls["patched"] > 5:
        raise AssertionError("patched: %d helper calls (the loop's entries should all be "
                             "counted inline)" % calls["patched"])
    if calls["stock"] < 99000:
        raise AssertionError("stock: %d helper calls, fewer than the 99,000 fall-throughs "
                             "into the head it does not expect" % calls["stock"])
    # the jumps into the head (1,000) and every entry of latch (100,000) from its only
    # predecessor, which its reservation does not name
    assert_eq("patched: second-predecessor entries",
              int(meta["patched"].get("second_predecessor_entries", 0)), 101000)


@test
def stock_qemu_core_subset_exact():
    """The plugin uses what the QEMU it runs in offers and stays exact without it: the
    hand-counted guests of three architectures, in every mode, on stock QEMU 10.2.2, and the
    fast mode's profiles equal to the reference mode's."""
    for arch in ARCHES:
        for name in ("loops", "jumptable", "fault"):
            binary = guest(arch, name)
            expect = os.path.join(TOP, "tests", "guests", arch, name + ".expect")
            profiles = {}
            for mode, extra in MODES.items():
                what = "stock %s/%s %s" % (arch, name, mode)
                path = os.path.join(WORK, "stock-%s-%s-%s.json" % (arch, name, mode))
                if os.path.exists(path):
                    os.unlink(path)
                r = run([os.path.join(QEMU_STOCK, "qemu-" + arch), "-plugin",
                         ",".join([PLUGIN, "output=" + path, "format=json",
                                   "report=off"] + extra), binary])
                assert_eq(what + " exit status", r.returncode, 0)
                with open(path) as f:
                    profiles[mode] = json.load(f)
                assert_clean(profiles[mode])
                check_expect(path, binary, expect, arch, what + ": ")
            for mode in ("fast", "adaptive"):
                assert_eq("stock %s/%s %s = reference" % (arch, name, mode),
                          canonical_edges(profiles[mode]),
                          canonical_edges(profiles["reference"]))
