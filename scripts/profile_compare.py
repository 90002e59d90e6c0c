"""profile_compare.py: comparing two JSON profiles of the same program (tests and benchmarks).

Runs of one program load its libraries at different addresses (the plugin's own memory use
moves them), so addresses are compared as 'file+offset' through each profile's code mappings
(meta "maps").

QEMU cuts a translation block short when the host code it generated for it is too large (64 KB
at most): how densely a mode instruments decides where long straight-line code is cut, so the
same run can have a 137-instruction block in one mode and two of 68 and 69 in another, joined
by a fall-through edge out of an instruction that transfers nothing. `counts_differ` compares
what does not depend on those cuts: every edge but such a fall-through (its source ends a block
in one profile and not in the other), and how many times each instruction's block was entered.
"""
import os


def relocator(prof):
    """Address -> 'file+offset' using the profile's code mappings."""
    maps = []
    for line in prof["meta"].get("maps", "").splitlines():
        rng, off, path = line.split(" ", 2)
        lo, hi = (int(x, 16) for x in rng.split("-"))
        maps.append((lo, hi, int(off, 16), os.path.basename(path)))

    def reloc(addr):
        a = int(addr, 16)
        for lo, hi, off, name in maps:
            if lo <= a < hi:
                return "%s+%x" % (name, a - lo + off)
        return addr
    return reloc


def canonical_edges(prof):
    r = relocator(prof)
    return sorted((r(e["from"]), e.get("from_generation", 0), r(e["to"]), e["kind"], e["count"])
                  for e in prof["edges"])


def canonical_blocks(prof):
    r = relocator(prof)
    return sorted((r(b["addr"]), len(b["insns"]), b["count"]) for b in prof["blocks"])


def _block_ends(prof, r):
    return {r(b["insns"][-1]) for b in prof["blocks"] if b["insns"]}


def _entries_per_insn(prof, r):
    out = {}
    for b in prof["blocks"]:
        for a in b["insns"]:
            k = r(a)
            out[k] = out.get(k, 0) + b["count"]
    return out


def counts_differ(a, b):
    """None when the two profiles count the same, else a short description of the difference
    (translation-block cuts aside, see above)."""
    ra, rb = relocator(a), relocator(b)
    ends_a, ends_b = _block_ends(a, ra), _block_ends(b, rb)
    cuts = ends_a ^ ends_b  # a block ends there in one profile only: a cut, not a transfer

    def edges(prof, r):
        return sorted(e for e in ((r(x["from"]), x.get("from_generation", 0), r(x["to"]),
                                   x["kind"], x["count"]) for x in prof["edges"])
                      if not (e[3] == "fallthrough" and e[0] in cuts))
    ea, eb = edges(a, ra), edges(b, rb)
    if ea != eb:
        return "%d vs %d edges, %d differ" % (len(ea), len(eb), len(set(ea) ^ set(eb)))
    xa, xb = _entries_per_insn(a, ra), _entries_per_insn(b, rb)
    if xa != xb:
        diff = [k for k in set(xa) | set(xb) if xa.get(k) != xb.get(k)]
        return "block entries differ at %d instructions (e.g. %s)" % (len(diff), diff[0])
    return None
