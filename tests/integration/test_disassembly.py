"""
Disassembly: disas=auto (capstone at exit) prints what QEMU's own disassembler prints.
"""
from harness import assert_eq, guest, profile_json, test


@test
def deferred_disassembly_matches_qemus():
    """disas=auto (capstone at exit) must print what QEMU's disassembler prints."""
    # static, non-PIE guests: the same addresses in both runs, so operands compare as text
    # threads: which library paths run (a futex wait or not) depends on the interleaving, so
    # the two runs' instruction sets may differ a little; the text is compared where both ran
    for arch, args, same_set in (("x86_64", [guest("c", "lifecycle"), "exit3"], True),
                                 ("x86_64", [guest("c", "threads")], False),
                                 ("aarch64", [guest("aarch64", "jumptable")], True)):
        auto, _ = profile_json(arch, args)
        qemu_, _ = profile_json(arch, args, ["disas=qemu"])
        a = {(i["addr"], i["generation"]): i["disas"] for i in auto["insns"]}
        q = {(i["addr"], i["generation"]): i["disas"] for i in qemu_["insns"]}
        if len(a) < 20:
            raise AssertionError("too few instructions to compare: %d" % len(a))
        both = [k for k in a if k in q]
        if same_set:
            assert_eq(arch + " instructions", sorted(a), sorted(q))
        elif len(both) < 0.9 * max(len(a), len(q)):
            raise AssertionError("%s: only %d of %d/%d instructions in both runs"
                                 % (arch, len(both), len(a), len(q)))
        diff = [(k, a[k], q[k]) for k in both if a[k] != q[k]]
        assert_eq(arch + " disassembly differences", diff[:5], [])
