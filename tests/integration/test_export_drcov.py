"""
`cflow export drcov`: read here from the format's description (DynamoRIO's), its blocks are the
profile's executed blocks and its hit counts theirs.
"""
import os
import re
import struct

from cflow_tool import EXPORTEE_ROUNDS, EXPORT_DIR, as_json, export, exportee, record_for_export
from harness import assert_eq, guest, test


def read_drcov(path):
    """A drcov file as DynamoRIO documents it: text header, module table, binary BB table."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        text = data[pos:end].decode()
        pos = end + 1
        return text
    assert_eq("version line", line(), "DRCOV VERSION: 2")
    if not line().startswith("DRCOV FLAVOR:"):
        raise AssertionError("no flavor line")
    m = re.match(r"Module Table: version 2, count (\d+)$", line())
    if not m:
        raise AssertionError("bad module table header")
    cols = [c.strip() for c in line().split(":", 1)[1].split(",")]
    assert_eq("columns", cols, ["id", "base", "end", "entry", "checksum", "timestamp",
                                "path"])
    modules = []
    for _ in range(int(m.group(1))):
        f = [x.strip() for x in line().split(",", len(cols) - 1)]
        modules.append({"id": int(f[0]), "base": int(f[1], 16), "end": int(f[2], 16),
                        "path": f[6]})
    m = re.match(r"BB Table: (\d+) bbs$", line())
    if not m:
        raise AssertionError("bad BB table header")
    n = int(m.group(1))
    assert_eq("BB table size", len(data) - pos, 8 * n)
    bbs = [struct.unpack_from("<IHH", data, pos + 8 * i) for i in range(n)]
    return modules, bbs


@test
def export_drcov_blocks_match_the_profile():
    for name, argv in (("loops-x86_64", [guest("x86_64", "loops")]),
                       ("exportee-o2-small", [exportee("x86_64"), str(EXPORTEE_ROUNDS)])):
        prof = record_for_export(name, argv)
        hits = os.path.join(EXPORT_DIR, name + ".hits")
        out = export("drcov", prof, "--hits", hits)
        modules, bbs = read_drcov(out)
        pj = as_json(prof)
        sizes = {}
        for i in pj["insns"]:
            sizes[i["addr"]] = i["size"]
        want = {}
        for b in pj["blocks"]:
            if b["count"]:
                last = b["insns"][-1]
                key = (int(b["addr"], 16), int(last, 16) + sizes[last] - int(b["addr"], 16))
                want[key] = want.get(key, 0) + b["count"]
        got = set()
        for start, size, mod in bbs:
            got.add((modules[mod]["base"] + start, size))
        assert_eq("%s: drcov blocks == the profile's executed blocks" % name, got,
                  set(want))
        if name.startswith("loops"):
            assert_eq("one module", [os.path.basename(m["path"]) for m in modules],
                      ["loops"])
            assert_eq("module base", modules[0]["base"], 0x400000)
        with open(hits) as f:
            rows = [l.split() for l in f if not l.startswith("#")]
        assert_eq("hits: one line per BB", len(rows), len(bbs))
        for (start, size, mod), row in zip(bbs, rows):
            key = (modules[mod]["base"] + start, size)
            assert_eq("hits of %x" % key[0], int(row[3]), want[key])
