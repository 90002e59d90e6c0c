"""
What the tests that look at pictures share (test_tool_dot.py, test_export_callgrind.py,
test_export_lcov.py): the folder their pictures are kept in for a person to look at after the
run (PICTURES, build/integration/pictures), SVG to PNG, what an SVG shows (its text, its nodes
and edges, their connected pieces), a PNG checked not blank, and screenshots: of a program's
windows under Xvfb, of a web page in headless chromium.
"""
import os
import re
import shutil
import xml.etree.ElementTree as ET

from cflow_tool import ok
from harness import WORK, Skip, run

PICTURES = os.path.join(WORK, "pictures")
SVG_NS = "{http://www.w3.org/2000/svg}"
SCREEN = "1280x900"


def need_packages(*programs):
    """Skips (naming the Debian package scripts/deps installs) where a program is missing."""
    packages = {"rsvg-convert": "librsvg2-bin", "identify": "imagemagick",
                "import": "imagemagick", "xvfb-run": "xvfb", "xwininfo": "x11-utils",
                "dbus-run-session": "dbus",
                "kcachegrind": "kcachegrind", "chromium": "chromium", "dot": "graphviz",
                "genhtml": "lcov", "callgrind_annotate": "valgrind"}
    for p in programs:
        if not shutil.which(p):
            raise Skip("%s is not installed (Debian package %s, scripts/deps installs it)"
                       % (p, packages.get(p, p)))


def picture(name):
    """PICTURES/NAME, the folder made."""
    os.makedirs(PICTURES, exist_ok=True)
    path = os.path.join(PICTURES, name)
    if os.path.exists(path):
        os.unlink(path)
    return path


def check_png(png, min_colours=8):
    """The PNG exists, has a size and shows something: at least MIN_COLOURS distinct colours
    (a blank screen or an empty page has one or two). Returns (width, height, colours)."""
    need_packages("identify")
    r = ok(run(["identify", "-format", "%w %h %k", png]), "identify " + png)
    w, h, colours = (int(v) for v in r.stdout.split())
    if w < 100 or h < 100 or colours < min_colours:
        raise AssertionError("%s looks blank: %dx%d, %d colours" % (png, w, h, colours))
    return w, h, colours


def png_of_svg(svg):
    """Renders SVG to a PNG beside it in PICTURES (rsvg-convert, as an image viewer would) and
    checks it shows something."""
    need_packages("rsvg-convert")
    png = picture(os.path.splitext(os.path.basename(svg))[0] + ".png")
    ok(run(["rsvg-convert", "-b", "white", "-o", png, svg]), "rsvg-convert " + svg)
    check_png(png)
    return png


DASHES = {None: "solid", "5,2": "dashed", "1,5": "dotted"}  # Graphviz's stroke-dasharray


class SvgGraph:
    """What Graphviz drew: nodes and edges by their DOT names (the <title> of each group), the
    text of each, and each edge's line: solid, dashed, dotted, or double (two strokes of a
    colour with a white one between)."""

    def __init__(self, svg):
        root = ET.parse(svg).getroot()
        self.nodes, self.edges, self.texts = {}, [], []
        for g in root.iter(SVG_NS + "g"):
            kind = g.get("class")
            title = g.find(SVG_NS + "title")
            texts = [t.text or "" for t in g.iter(SVG_NS + "text")]
            if kind == "node":
                self.nodes[title.text] = texts
            elif kind == "edge":
                a, b = title.text.split("->")
                paths = g.findall(SVG_NS + "path")
                line = DASHES.get(paths[0].get("stroke-dasharray"), "other")
                if len(paths) == 3 and paths[1].get("stroke") == "white":
                    line = "double"
                self.edges.append((a, b, texts, line))
        self.texts = [t.text or "" for t in root.iter(SVG_NS + "text")]

    def components(self, keep):
        """The connected pieces (sets of node names) of the nodes for which keep(name) holds,
        joined by the edges between two such nodes, whatever their direction."""
        parent = {n: n for n in self.nodes if keep(n)}

        def find(n):
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n
        for a, b, _, _ in self.edges:
            if a in parent and b in parent:
                parent[find(a)] = find(b)
        pieces = {}
        for n in parent:
            pieces.setdefault(find(n), set()).add(n)
        return list(pieces.values())


def assert_no_literal_escapes(svg_graph, what):
    """No text a person sees holds a DOT escape written out (\\n, \\l, a doubled backslash):
    what a label with its line breaks escaped twice looks like."""
    bad = [t for t in svg_graph.texts if re.search(r"\\[nlrNGETHL\\]", t)]
    if bad:
        raise AssertionError("%s: text with literal escapes: %r" % (what, bad[:5]))


def screenshot_window(cmd, title, png, env=None, settle=3, timeout=60):
    """Runs CMD under a fresh Xvfb screen and its own D-Bus session (KDE programs quit without
    one), waits until a window whose name holds TITLE is up, lets it paint, and takes a
    screenshot of the whole screen into PNG. Returns the names of the top-level windows then
    (to find error dialogs) and the program's output."""
    need_packages("xvfb-run", "dbus-run-session", "xwininfo", "import")
    log = png + ".log"
    script = r"""
"$@" > "$LOG" 2>&1 &
pid=$!
for i in $(seq 1 $TIMEOUT); do
    xwininfo -root -tree 2>/dev/null | grep -qF -- "$TITLE" && break
    sleep 1
done
sleep $SETTLE
xwininfo -root -children > "$LOG.windows"
import -window root "$PNG"
kill $pid 2>/dev/null
wait $pid 2>/dev/null
exit 0
"""
    env = dict(os.environ, **(env or {}), LOG=log, TITLE=title, PNG=png, SETTLE=str(settle),
               TIMEOUT=str(timeout), QT_QPA_PLATFORM="xcb")
    ok(run(["xvfb-run", "-a", "-s", "-screen 0 %sx24" % SCREEN, "dbus-run-session", "bash",
            "-c", script, "shot"] + list(cmd), env=env, timeout=timeout + 60),
       "xvfb-run " + cmd[0])
    with open(log + ".windows") as f:
        windows = re.findall(r'^\s+0x[0-9a-f]+ "([^"]*)"', f.read(), re.M)
    with open(log) as f:
        output = f.read()
    if not os.path.exists(png):
        raise AssertionError("no screenshot of %s; its output:\n%s" % (cmd[0], output[-2000:]))
    return windows, output


def screenshot_page(url, png, size="1200,900"):
    """A web page as chromium shows it (headless), into PNG."""
    need_packages("chromium")
    ok(run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--window-size=" + size, "--screenshot=" + png, url], timeout=120),
       "chromium --screenshot " + url)
    check_png(png)
    return png
