"""
`cflow dot`: the control-flow graph of a function, rendered by graphviz, and looked at as a
person would: every SVG also rendered to PNG (kept in build/integration/pictures), its text
free of escapes written out, a function whose code all ran one connected piece, calls drawn to
where they return with their known counts, names with quotes, backslashes and <>& shown as they
are.
"""
import os
import re
import shutil

from cflow_tool import (CHARCLASS, CHARCLASS_COPIES, CSRC, TOOLDIR, as_json, charclass, example,
                        marker_line, ok, record, record_charclass, tool)
from harness import TOP, Skip, assert_eq, run, test
from pictures import SvgGraph, assert_no_literal_escapes, need_packages, picture, png_of_svg



def draw(name, prof, *args):
    """cflow dot ARGS PROF into PICTURES/NAME.dot and .svg, the SVG rendered to PNG; returns
    the DOT text and what the SVG shows, checked free of literal escapes."""
    need_packages("dot")
    dotf, svg = picture(name + ".dot"), picture(name + ".svg")
    r = ok(tool("dot", *args, "-o", dotf, "--svg", svg, prof), "dot " + name)
    if r.stderr:
        raise AssertionError("dot %s said: %s" % (name, r.stderr))
    png_of_svg(svg)
    shown = SvgGraph(svg)
    assert_no_literal_escapes(shown, svg)
    return open(dotf).read(), shown


def block_nodes(name):
    """Basic blocks are b0, b1...; functions outside the graph x..., and the legend."""
    return re.fullmatch(r"b\d+", name) is not None


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
    png_of_svg(svg)
    shown = SvgGraph(svg)
    assert_no_literal_escapes(shown, svg)
    # main calls strtoul, twice or square and printf from its loops: one piece all the same
    pieces = shown.components(block_nodes)
    if len(pieces) != 1:
        raise AssertionError("primes' main drawn in %d pieces: %r" % (len(pieces), pieces))
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


@test
def dot_main_loop_of_charclass_is_one_connected_piece():
    """charclass.c -O1 -g (the issue's character classifier, getchar and the ctype functions
    called in its loop): main's graph is one piece, every block's label broken into lines,
    the call to getchar drawn as a double line to where it returns, with its known count: once per
    character and once more for EOF."""
    prof = record_charclass("charclass-O1", charclass("-O1"))
    dot, shown = draw("charclass-main", prof, "--function", "main")
    blocks = [n for n in shown.nodes if block_nodes(n)]
    pieces = shown.components(block_nodes)
    if len(blocks) < 5 or len(pieces) != 1:
        raise AssertionError("main's %d blocks drawn in %d pieces: %r"
                             % (len(blocks), len(pieces), pieces))
    loop = marker_line(CHARCLASS, "/* CC-LOOP */")
    for n, texts in shown.nodes.items():
        if block_nodes(n) and (len(texts) < 2 or not texts[0].startswith("0x") or
                               not texts[-1].endswith(("insn", "insns"))):
            raise AssertionError("block %s is not drawn on separate lines: %r" % (n, texts))
    if not any(re.fullmatch(r"charclass\.c:[\d,]*\b%d\b[\d,]*" % loop, t)
               for texts in shown.nodes.values() for t in texts):
        raise AssertionError("no block labelled charclass.c:%d" % loop)
    calls = [(a, b, texts, dash) for a, b, texts, dash in shown.edges
             if texts and texts[0].startswith("call ")]
    getchar = [c for c in calls if c[2][-1] == str(6 * CHARCLASS_COPIES + 1)]
    if len(getchar) != 1:
        raise AssertionError("no call edge with %d returns: %r"
                             % (6 * CHARCLASS_COPIES + 1, calls))
    a, b, texts, line = getchar[0]
    if not (block_nodes(a) and block_nodes(b)) or line != "double":
        raise AssertionError("the call to getchar is not a double line from block to block: %r"
                             % (getchar[0],))
    # the loop is visible: the block getchar returns to reaches the calling block again
    succ = {}
    for x, y, _, _ in shown.edges:
        succ.setdefault(x, set()).add(y)
    seen, todo = set(), [b]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(succ.get(n, ()))
    if a not in seen:
        raise AssertionError("no cycle through the call to getchar: %s -> %s" % (a, b))
    if "legend" not in shown.nodes:
        raise AssertionError("no legend of the edge styles")


@test
def dot_shows_hostile_names_as_they_are():
    """hostile-names.S: functions named with quotes, a backslash, <, > and & (a C++ name too)
    show exactly as named in the SVG, Graphviz takes the DOT without a warning, and the call
    in the loop is drawn to where it returns: 3 returns, the loop's back edge 2; a long name is
    cut on an edge's label and whole on its block."""
    d = os.path.join(TOOLDIR, "hostile")
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(d, "hostile-names")
    r = run(["gcc", "-nostdlib", "-static", "-no-pie", "-o", binary,
             os.path.join(CSRC, "hostile-names.S")])
    if r.returncode != 0:
        raise AssertionError("building hostile-names.S failed:\n" + r.stderr)
    prof = record("hostile-names", [binary], where=d)
    loop_name = 'loop "q" <T> & a\\b'
    callee = "std::vector<int>::push_back(int const&)"
    _, whole = draw("hostile-names", prof)
    _, loop = draw("hostile-names-loop", prof, "--function", loop_name)
    for what, shown in (("whole", whole), ("--function", loop)):
        heads = [texts[0] for texts in shown.nodes.values() if texts]
        if not any(t.endswith(" " + loop_name) for t in heads):
            raise AssertionError("%s: no block of %r: %r" % (what, loop_name, heads))
        calls = [texts for _, _, texts, dash in shown.edges
                 if texts[:1] == ["call " + callee] and dash == "double"]
        assert_eq("%s: call edges to %s and their returns" % (what, callee), calls,
                  [["call " + callee, "3"]])
    backs = [texts for a, b, texts, _ in loop.edges
             if block_nodes(a) and block_nodes(b) and int(a[1:]) > int(b[1:])]
    assert_eq("the loop's back edges", backs, [["2"]])
    # the program ends in its exit system call, right before the C++-named function: nothing
    # flows from there into it
    into = [(a, texts) for a, b, texts, _ in whole.edges
            if whole.nodes.get(b, [""])[0].endswith(" " + callee) and block_nodes(a) and
            whole.nodes[a][0].split(" ", 1)[1] == loop_name and texts == ["1"]]
    assert_eq("flow from the exit into the next function", into, [])
    # a name too long for an edge's label is cut there, and whole on its function's block
    long_name = ("std::map<std::basic_string<char, std::char_traits<char>, std::allocator<char>"
                 " >, int>::operator[](std::string const&)")
    cut = [texts for _, _, texts, line in whole.edges if line == "double" and
           texts == ["call " + long_name[:59] + "\u2026", "1"]]
    heads = [texts[0] for texts in whole.nodes.values() if texts]
    if len(cut) != 1 or not any(h.endswith(" " + long_name) for h in heads):
        raise AssertionError("the long name: edges %r, blocks %r" % (whole.edges, heads))
    if ["std::vector<int>::push_back(int const&)"] not in list(loop.nodes.values()):
        raise AssertionError("no node for the function called: %r" % loop.nodes)
