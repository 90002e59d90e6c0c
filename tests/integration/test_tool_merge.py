"""
`cflow merge`: exact sums, associative and commutative; different architectures refused unless
forced.
"""
import os

from cflow_tool import TOOLDIR, as_json, branchy, example, ok, record, tool
from harness import assert_eq, guest, test


def counts(prof):
    edges = {(e["from"], e["from_generation"], e["to"], e["kind"]): e["count"]
             for e in prof["edges"]}
    blocks = {}
    for b in prof["blocks"]:
        key = (b["addr"], tuple(b["insns"]))
        blocks[key] = blocks.get(key, 0) + b["count"]
    return edges, blocks


@test
def merge_with_itself_doubles_every_count():
    path = record("primes", [example(), "20000"])
    out = os.path.join(TOOLDIR, "primes2.cflow")
    ok(tool("merge", "-o", out, path, path), "merge")
    e1, b1 = counts(as_json(path))
    e2, b2 = counts(as_json(out))
    assert_eq("edges doubled", e2, {k: 2 * v for k, v in e1.items()})
    assert_eq("blocks doubled", b2, {k: 2 * v for k, v in b1.items()})
    assert_eq("merged_profiles", as_json(out)["meta"]["merged_profiles"], "2")


@test
def merge_is_exact_associative_and_commutative():
    prog = branchy()
    paths = [record("branchy%d" % k, [prog, str(k)]) for k in (3, 5, 7)]
    a, b, c = paths
    ab = os.path.join(TOOLDIR, "m-ab.cflow")
    ab_c = os.path.join(TOOLDIR, "m-ab-c.cflow")
    c_ba = os.path.join(TOOLDIR, "m-c-ba.cflow")
    ok(tool("merge", "-o", ab, a, b), "merge a b")
    ok(tool("merge", "-o", ab_c, ab, c), "merge ab c")
    ba = os.path.join(TOOLDIR, "m-ba.cflow")
    ok(tool("merge", "-o", ba, b, a), "merge b a")
    ok(tool("merge", "-o", c_ba, c, ba), "merge c ba")
    x, y = as_json(ab_c), as_json(c_ba)
    assert_eq("(a+b)+c == c+(b+a): edges", x["edges"], y["edges"])
    assert_eq("blocks", x["blocks"], y["blocks"])
    assert_eq("insns", x["insns"], y["insns"])
    # exact sums, edge by edge
    want = {}
    for p in paths:
        for k, v in counts(as_json(p))[0].items():
            want[k] = want.get(k, 0) + v
    assert_eq("sums", counts(x)[0], want)
    # different architectures are refused unless forced
    arm = record("loops-aarch64", [guest("aarch64", "loops")])
    out = os.path.join(TOOLDIR, "m-bad.cflow")
    if os.path.exists(out):
        os.unlink(out)
    r = tool("merge", "-o", out, a, arm)
    assert_eq("different arch refused", r.returncode, 2)
    if "arch" not in r.stderr or "--force" not in r.stderr:
        raise AssertionError(r.stderr)
    assert_eq("nothing written", os.path.exists(out), False)
    ok(tool("merge", "--force", "-o", out, a, arm), "merge --force")
    assert_eq("forced sum's edges", len(as_json(out)["edges"]),
              len(as_json(a)["edges"]) + len(as_json(arm)["edges"]))
    assert_eq("merge without -o", tool("merge", a).returncode, 1)
