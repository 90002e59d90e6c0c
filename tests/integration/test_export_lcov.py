"""
`cflow export lcov`: line coverage equal to gcov's own of a native run (exportee.c built -O0 -g
--coverage), known counts on marked lines, rendered by genhtml; the pictures' guest's pages
opened in headless chromium, their screenshots kept in build/integration/pictures.
"""
import glob
import json
import os
import re
import shutil
import tempfile

from cflow_tool import (CHARCLASS, CHARCLASS_COPIES, EXPORT_DIR, EXPORTEE, EXPORTEE_ROUNDS,
                        charclass, export, marker_line, need, ok, record_charclass, tool)
from harness import TOOL, WORK, assert_eq, run, test
from pictures import PICTURES, need_packages, picture, screenshot_page



@test
def export_lcov_matches_gcov():
    """-O0 -g --coverage: lines hit / not hit equal gcov's for every line gcov reports; genhtml
    renders it; functions, branches and marked lines have their known counts."""
    need("gcov", "genhtml")
    d = tempfile.mkdtemp(dir=WORK)
    src = os.path.join(d, "exportee.c")
    shutil.copy(EXPORTEE, src)
    ok(run(["gcc", "-O0", "-g", "--coverage", "-o", "excov", "exportee.c"], cwd=d), "build")
    ok(run([os.path.join(d, "excov"), str(EXPORTEE_ROUNDS)], cwd=d), "native run")
    g = ok(run(["gcov", "-i", "-t", "excov-exportee.gcda"], cwd=d), "gcov")
    gcov = {}
    for f in json.loads(g.stdout)["files"]:
        if f["file"].endswith("exportee.c"):
            gcov = {l["line_number"]: l["count"] for l in f["lines"]}
    if len(gcov) < 20:
        raise AssertionError("gcov reported %d lines" % len(gcov))
    # the same binary under QEMU; its .gcda go elsewhere
    prof = os.path.join(d, "excov.cflow")
    env = dict(os.environ, GCOV_PREFIX=os.path.join(d, "qemu-gcda"))
    ok(run([TOOL, "record", "-o", prof, "--", os.path.join(d, "excov"), str(EXPORTEE_ROUNDS)],
           cwd=d, env=env), "record")
    info = os.path.join(d, "excov.info")
    ok(tool("export", "lcov", prof, "-o", info, "--binary", os.path.join(d, "excov")), "export")
    da, fnda, brda, sf = {}, {}, {}, None
    with open(info) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("SF:"):
            sf = line[3:]
        elif sf == src and line.startswith("DA:"):
            n, c = line[3:].split(",")[:2]
            da[int(n)] = int(c)
        elif sf == src and line.startswith("FNDA:"):
            c, name = line[5:].split(",", 1)
            fnda[name] = int(c)
        elif sf == src and line.startswith("BRDA:"):
            n, block, branch, taken = line[5:].split(",")
            brda.setdefault(int(n), []).append(taken)
    for key in ("TN:", "LF:", "LH:", "BRF:", "BRH:", "FNF:", "FNH:", "end_of_record"):
        if key not in text:
            raise AssertionError("no %s in the tracefile" % key)
    wrong = ["line %d: gcov %d, cflow %s" % (n, c, da.get(n)) for n, c in sorted(gcov.items())
             if n not in da or (da[n] > 0) != (c > 0)]
    if wrong:
        raise AssertionError("lines where cflow's coverage differs from gcov's:\n  " +
                             "\n  ".join(wrong))
    assert_eq("FNDA classify", fnda.get("classify"), EXPORTEE_ROUNDS)
    assert_eq("FNDA mix", fnda.get("mix"), EXPORTEE_ROUNDS)
    assert_eq("FNDA never_called", fnda.get("never_called"), 0)
    assert_eq("EXPORT-MIX line", da.get(marker_line(src, "/* EXPORT-MIX */")), EXPORTEE_ROUNDS)
    assert_eq("EXPORT-NEVER line", da.get(marker_line(src, "/* EXPORT-NEVER */")), 0)
    assert_eq("EXPORT-DEAD line", da.get(marker_line(src, "/* EXPORT-DEAD */")), 0)
    odd = marker_line(src, "/* EXPORT-ODD */")
    assert_eq("EXPORT-ODD branch: taken / not taken", sorted(brda.get(odd, [])),
              sorted([str(EXPORTEE_ROUNDS // 5), str(EXPORTEE_ROUNDS - EXPORTEE_ROUNDS // 5)]))
    r = run(["genhtml", info, "-o", os.path.join(d, "html")], cwd=d)
    if r.returncode != 0 or not os.path.exists(os.path.join(d, "html", "index.html")):
        raise AssertionError("genhtml failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    shutil.rmtree(d)


def genhtml_lines(page):
    """A genhtml source page's line counts: {line: count}, for the lines it marks hit or not."""
    counts = {}
    with open(page) as f:
        for m in re.finditer(r'<span class="lineNum">\s*(\d+)\s*</span>[^\n]*?'
                             r'<span class="line(?:Cov|NoCov)">\s*(\d+)\s*:', f.read()):
            counts[int(m.group(1))] = int(m.group(2))
    return counts


@test
def export_lcov_reads_right_in_genhtml():
    """charclass.c -O1 -g, the pictures' guest, as a user would look at its coverage: genhtml's
    pages of the export, opened in headless chromium (screenshots of the index, the source page
    and the functions page kept in build/integration/pictures), show the known counts: the
    classifier's tests once per character (6R, then 4R), each branch's line 2R times, return
    once, main run once."""
    need_packages("genhtml", "chromium")
    binary = charclass("-O1")
    prof = record_charclass("charclass-O1", binary, EXPORT_DIR)
    info = export("lcov", prof, "--binary", binary)
    html = os.path.join(PICTURES, "charclass-lcov")
    shutil.rmtree(html, ignore_errors=True)
    r = run(["genhtml", "--branch-coverage", info, "-o", html])
    if r.returncode != 0:
        raise AssertionError("genhtml failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    pages = {os.path.basename(p): p for p in glob.glob(os.path.join(html, "*", "**", "*.html"),
                                                       recursive=True)}
    pages["index.html"] = os.path.join(html, "index.html")  # the top level, not a folder's
    for page in ("index.html", "charclass.c.gcov.html", "charclass.c.func.html"):
        if page not in pages:
            raise AssertionError("genhtml wrote no %s: %s" % (page, sorted(pages)))
        screenshot_page("file://" + pages[page], picture("charclass-lcov-" + page + ".png"))
    lines = genhtml_lines(pages["charclass.c.gcov.html"])
    r = CHARCLASS_COPIES
    # a line holding a call counts once per run, not again when the call returns into it; a
    # statement with no code of its own (return 0) counts where it starts
    for marker, count in (("CC-ISSPACE", 6 * r), ("CC-ISDIGIT", 4 * r), ("CC-SPACE", 2 * r),
                          ("CC-DIGIT", 2 * r), ("CC-OTHER", 2 * r), ("CC-RETURN", 1)):
        assert_eq("%s line in genhtml's page" % marker,
                  lines.get(marker_line(CHARCLASS, "/* %s */" % marker)), count)
    with open(pages["charclass.c.func.html"]) as f:
        funcs = re.findall(r'<a href="[^"]*#(\d+)">(\w+)</a></td>\s*'
                           r'<td class="[^"]*">\s*(\d+)\s*</td>', f.read())
    assert_eq("functions on genhtml's page (name, calls)",
              [(name, int(calls)) for _, name, calls in funcs], [("main", 1)])
