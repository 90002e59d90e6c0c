"""
Disassembly: disas=auto (capstone at exit) prints what QEMU's own disassembler prints.
"""
from harness import assert_eq, guest, profile_json, test


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
