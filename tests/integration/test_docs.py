"""
The documents that map the code name only what exists: docs/design.md's rooms (its table of
what a change touches, its map of files and the picture docs/rooms.dot draws) and
docs/testing.md's map of where each feature is tested. A room renamed or moved without its
map fails here.
"""
import glob
import os
import re

from harness import TOP, test

FOLDERS = ["", "arch", "plugin", "profile", "tool", "tests", "tests/integration", "tests/unit",
           "tests/plugin", "tests/arch", "tests/tool", "tests/fuzz", "tests/guests", "bench",
           "docs", "scripts", "qemu/patches"]
NAME = re.compile(r"[A-Za-z0-9_./<>*-]+\.(?:c|h|py|md|dot|S|svg)\b")


def exists(name):
    """A file name as a map writes it: a path, or a bare name in one of the project's rooms;
    <format> or <name> stands for any part of a name."""
    pattern = re.sub(r"<[^>]*>", "*", name)
    return any(glob.glob(os.path.join(TOP, folder, pattern)) for folder in FOLDERS)


def section(path, heading):
    text = open(os.path.join(TOP, path)).read()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end >= 0 else len(text)]


def missing_names(text):
    return sorted({n for n in NAME.findall(text) if not exists(n)})


@test
def docs_map_only_rooms_and_tests_that_exist():
    rooms = section("docs/design.md", "## The rooms")
    # a label's line breaks are written \n in DOT
    picture = open(os.path.join(TOP, "docs", "rooms.dot")).read().replace("\\n", " ")
    testing = section("docs/testing.md", "## Where the test for X is")
    problems = []
    for where, text in (("docs/design.md, The rooms", rooms), ("docs/rooms.dot", picture),
                        ("docs/testing.md", testing)):
        names = NAME.findall(text)
        if len(names) < 10:
            problems.append("%s: only %d file names found: the check reads nothing"
                            % (where, len(names)))
        for n in missing_names(text):
            problems.append("%s names %s, which does not exist" % (where, n))
    # every integration test file is on the testing map
    for path in sorted(glob.glob(os.path.join(TOP, "tests", "integration", "test_*.py"))):
        if os.path.basename(path) not in testing:
            problems.append("docs/testing.md does not say what %s tests"
                            % os.path.basename(path))
    # the picture shows every room of the plugin's, the profile library's and the tool's code
    # that the map names as a folder
    for folder in ("arch/", "plugin/", "profile/", "tool/"):
        if folder not in picture:
            problems.append("docs/rooms.dot does not draw %s" % folder)
    assert not problems, "; ".join(problems)


@test
def docs_map_check_catches_a_missing_room():
    assert exists("plugin/mode.h") and exists("mode.c") and exists("export-<format>.c")
    assert missing_names("plugin/no_such_room.c and hotpath.c") == ["plugin/no_such_room.c"]


def broken_tables(text):
    """Lines that look like a table row but start a table without a header separator: what a
    blank line left inside a table does (the rows after it render as a paragraph of pipes)."""
    lines = text.split("\n")
    bad = []
    for i, line in enumerate(lines):
        starts_table = line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|"))
        in_code = line.startswith("    ")
        if starts_table and not in_code:
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if not re.match(r"^\|\s*:?-+", nxt):
                bad.append("line %d: %s" % (i + 1, line[:60]))
    return bad


@test
def docs_tables_are_whole():
    docs = ["README.md"] + sorted(os.path.relpath(p, TOP) for p in glob.glob(
        os.path.join(TOP, "docs", "*.md")) + glob.glob(os.path.join(TOP, "bench", "*.md")))
    bad = ["%s %s" % (d, b) for d in docs for b in broken_tables(open(os.path.join(TOP, d)).read())]
    if bad:
        raise AssertionError("a table cut by a blank line (or without a header): %s" % bad)
    # the check catches what it is for
    if not broken_tables("| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n"):
        raise AssertionError("the check missed a table cut in two")
