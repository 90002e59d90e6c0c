"""
`cflow annotate`: a function's source lines with its instructions' and branches' counts.
"""
import os
import re

from cflow_tool import CSRC, ROUNDS, branchy, marker_line, ok, record, tool
from harness import assert_eq, test


@test
def annotate_shows_counts_and_source():
    prog = branchy()
    src = os.path.join(CSRC, "branchy.c")
    changed = marker_line(src, "/* CHANGED-BRANCH */")
    path = record("branchy3", [prog, "3"])
    out = ok(tool("annotate", path, "main"), "annotate").stdout
    # the if line, with its text, then its branch's counts
    m = re.search(r"branchy\.c:%d\s+if \(i %% k == 0\).*?\n((?:.*\n){1,12})" % changed, out)
    if not m:
        raise AssertionError("no source line %d in:\n%s" % (changed, out))
    block = m.group(1)
    if not re.search(r"taken %d -> " % (ROUNDS - ROUNDS // 3), block) or \
            not re.search(r"fallthrough %d -> " % (ROUNDS // 3), block):
        raise AssertionError("branch counts missing after line %d:\n%s" % (changed, block))
    # instructions of the loop body ran ROUNDS times
    if not re.search(r"^\s+%d\s+[\d.]+\s+0x" % ROUNDS, out, re.M):
        raise AssertionError("no instruction executed %d times:\n%s" % (ROUNDS, out))
    r = tool("annotate", path, "no_such_function")
    assert_eq("unknown function", r.returncode, 1)
