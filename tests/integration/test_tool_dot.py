"""
`cflow dot`: the control-flow graph of a function, rendered by graphviz.
"""
import os
import re
import shutil

from cflow_tool import TOOLDIR, as_json, example, marker_line, ok, record, tool
from harness import Skip, TOP, test


@test
def dot_svg_renders_the_examples_hot_loop():
    if not shutil.which("dot"):
        raise Skip("graphviz is not installed")
    prog = example()
    path = record("primes", [prog, "20000"])
    loop = marker_line(os.path.join(TOP, "examples", "primes.c"), "while (n != 1)")
    svg = os.path.join(TOOLDIR, "primes.svg")
    dotf = os.path.join(TOOLDIR, "primes.dot")
    for f in (svg, dotf):
        if os.path.exists(f):
            os.unlink(f)
    ok(tool("dot", "--function", "main", "-o", dotf, "--svg", svg, path), "dot --svg")
    text = open(svg).read()
    if "<svg" not in text:
        raise AssertionError("not an SVG")
    # the collatz loop's block is labelled with its line, and its back edge with the exact
    # count: every step but the last of each chain, n = 2..20000
    steps = 0
    for n in range(1, 20001):
        while n != 1:
            n = 3 * n + 1 if n & 1 else n // 2
            steps += 1
    if not re.search(r"primes\.c:[\d,]*\b%d\b" % loop, text):
        raise AssertionError("no block labelled primes.c:%d in the SVG" % loop)
    if ">%d<" % (steps - 19999) not in text:
        raise AssertionError("no edge labelled %d in the SVG" % (steps - 19999))
    # the graph's nodes are basic blocks: every branch into main lands on a node's start
    d = open(dotf).read()
    starts = set(re.findall(r'b\d+ \[label="(0x[0-9a-f]+) ', d))
    prof = as_json(path)
    main_insns = {i["addr"] for i in prof["insns"] if i["symbol"] == "main"}
    targets = {e["to"] for e in prof["edges"] if e["kind"] == "branch" and e["to"] in main_insns}
    if not targets or targets - starts:
        raise AssertionError("branch targets that start no block: %r" % sorted(targets - starts))
    # --min-count leaves cold blocks out
    hot = ok(tool("dot", "--min-count", "100000", path), "dot --min-count").stdout
    if hot.count("[label=") >= d.count("[label=") or "primes.c:" not in hot:
        raise AssertionError("--min-count kept everything:\n" + hot[:2000])
