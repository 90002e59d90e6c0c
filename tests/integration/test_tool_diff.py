"""
`cflow diff`: the branch whose behaviour changed most comes first.
"""
import json
import os

from cflow_tool import CSRC, ROUNDS, as_json, branchy, example, marker_line, ok, record, tool
from harness import assert_eq, test


@test
def diff_puts_the_changed_branch_first():
    prog = branchy()
    src = os.path.join(CSRC, "branchy.c")
    changed = marker_line(src, "/* CHANGED-BRANCH */")
    a, b = record("branchy3", [prog, "3"]), record("branchy7", [prog, "7"])
    j = json.loads(ok(tool("diff", "--format", "json", a, b), "diff").stdout)
    first = j["branches"][0]
    assert_eq("first branch", first["where"], "branchy.c:%d" % changed)
    assert_eq("its counts", (first["taken_a"] + first["fallthrough_a"],
                             first["taken_b"] + first["fallthrough_b"]), (ROUNDS, ROUNDS))
    # the loop's own branch did not change: it is not ranked above
    hot = marker_line(src, "/* HOT-LOOP */")
    loop = [x for x in j["branches"] if x["where"] == "branchy.c:%d" % hot]
    if loop and abs(loop[0]["ratio_change"]) > 1e-6:
        raise AssertionError("loop branch changed: %r" % loop)
    text = ok(tool("diff", a, b), "diff text").stdout
    lines = text.splitlines()
    i = lines.index([l for l in lines if l.startswith("top ") and "branches" in l][0])
    if "branchy.c:%d" % changed not in lines[i + 2]:
        raise AssertionError("text diff's first branch:\n" + text)
    # a profile compared with itself: nothing changed
    same = json.loads(ok(tool("diff", "--format", "json", a, a), "diff a a").stdout)
    assert_eq("no change", max(abs(x["rate_change"]) for x in same["edges"]), 0)


@test
def diff_of_the_example_with_another_input():
    """primes 20000 vs 2000: the branch the tool ranks first is the one whose taken ratio
    changed most, computed here from the two profiles independently."""
    prog = example()
    a, b = record("primes", [prog, "20000"]), record("primes2000", [prog, "2000"])
    pa, pb = as_json(a), as_json(b)

    def ratios(p):
        t, f = {}, {}
        for e in p["edges"]:
            if e["kind"] == "branch":
                t[e["from"]] = t.get(e["from"], 0) + e["count"]
            elif e["kind"] == "fallthrough":
                f[e["from"]] = f.get(e["from"], 0) + e["count"]
        cond = {k for k in t if f.get(k)}
        total = sum(t[k] + f[k] for k in cond)
        return {k: (t.get(k, 0), f.get(k, 0)) for k in set(t) | set(f)}, total
    ra, ta = ratios(pa)
    rb, tb = ratios(pb)
    best = None
    for k in set(ra) & set(rb):
        (t0, f0), (t1, f1) = ra[k], rb[k]
        if not ((t0 and f0) or (t1 and f1)):
            continue
        if not (t0 + f0 >= ta // 1000 or t1 + f1 >= tb // 1000):
            continue
        ch = abs(t1 / (t1 + f1) - t0 / (t0 + f0))
        if best is None or ch > best[0]:
            best = (ch, k)
    j = json.loads(ok(tool("diff", "--format", "json", a, b), "diff").stdout)
    assert_eq("first branch", j["branches"][0]["addr"], best[1])
    if not j["branches"][0]["where"] or not j["branches"][0]["where"].startswith("primes.c:"):
        raise AssertionError("no source line: %r" % j["branches"][0])
