"""
Self-modifying code: generations of code written at one address are kept apart, and a JIT that
rewrites its code space 3,000 times keeps every generation exact.
"""
import re

from harness import MODES, assert_clean, assert_eq, guest, profile_json, test


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
