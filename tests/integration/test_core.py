"""
Exact counts on guests whose control flow is counted by hand, and the fast path against the
reference (the oracle): the assembly guests of three architectures (tests/guests/ARCH/*.S and
their .expect files) in every mode, a loop that settles after a long start-up, and real programs
(bzip2, xz, sort), edge for edge.
"""
import json
import os
import shutil
import sys

from harness import (ARCHES, CHECK_EXPECT, MODES, Skip, TESTS, TOP, WORK, assert_clean, assert_eq,
                     canonical_blocks, canonical_edges, check_expect, guest, profile_json, qemu,
                     run, test)


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
        check_expect(path, binary, expect, arch)
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
    check_expect(path, binary, expect, "x86_64")


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
