#!/usr/bin/env python3
"""
manpage.py CFLOW VERSION OUT [COMMAND]: writes the manual page of `cflow` (no COMMAND) or of
`cflow COMMAND` to OUT, made from the tool's own help (`cflow --help`, `cflow COMMAND --help`),
so that the page says what the tool says and cannot drift from it. Run by meson at build time
(tool/meson.build).

What the help looks like (GOption's layout, and the descriptions in tool/cmd-<name>.c) and
what it becomes:
  Usage: / cflow NAME [OPTION...] ARGS     SYNOPSIS
  the summary line                         DESCRIPTION, first paragraph
  Help Options:, Application Options:      OPTIONS, one tagged paragraph per option
  paragraphs of the description            DESCRIPTION (plain text is filled by man)
    a line 'Heading:' over indented lines  a subsection; 'Example(s):' goes to EXAMPLES
    indented 'TERM   text' lines           a tagged list
    other indented lines                   kept as they are (no filling)
  a paragraph 'Exit status: ...'           EXIT STATUS ('Environment: ...': ENVIRONMENT)
"""
import os
import re
import subprocess
import sys

OPTION = re.compile(r"^\s+(?:(-\w), )?(--[\w-]+)(?:=(\S+))?\s+(.*)$")
COMMAND_ROW = re.compile(r"^  ([a-z][\w-]*)\s{2,}(\S.*)$")
TERM_ROW = re.compile(r"^( +)(\S+)( {2,})(\S.*)$")


def help_text(tool, args):
    env = dict(os.environ, LC_ALL="C.UTF-8", COLUMNS="200")
    r = subprocess.run([tool] + args, capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0 or not r.stdout:
        sys.exit("manpage.py: '%s %s' failed (exit %d): %s" %
                 (tool, " ".join(args), r.returncode, r.stderr.strip()))
    # GOption's "[OPTION…]" is "[OPTION?]" where the locale is not set up: the same, in ASCII
    return r.stdout.replace("\u2026", "...").replace("[OPTION?]", "[OPTION...]")


def esc(text):
    """Text for troff: ASCII hyphens and quotes kept as typed (option names can be copied)."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = text.replace("`", "\\(ga").replace("'", "\\(aq")
    return "\\&" + text if text.startswith((".", "\\(aq")) else text


def blocks(text):
    """The paragraphs of a help text: lists of lines, split at blank lines."""
    out, cur = [], []
    for line in text.rstrip("\n").split("\n"):
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def runs(block):
    """A paragraph as runs of unindented (text) and indented lines, in order."""
    out = []
    for line in block:
        kind = "indented" if line.startswith(" ") else "text"
        if out and out[-1][0] == kind:
            out[-1][1].append(line)
        else:
            out.append((kind, [line]))
    return out


def term_list(lines):
    """[(term, text)] if LINES are two or more 'TERM   text' rows with aligned continuations,
    else None."""
    first = TERM_ROW.match(lines[0])
    if not first:
        return None
    indent, column = len(first.group(1)), first.start(4)
    items = []
    for line in lines:
        m = TERM_ROW.match(line)
        if m and len(m.group(1)) == indent:
            items.append([m.group(2), m.group(4)])
        elif len(line) - len(line.lstrip()) >= column:
            items[-1][1] += "\n" + line.strip()
        else:
            return None
    return items if len(items) > 1 else None


def indented(lines):
    """Indented lines: a tagged list, or kept as they are."""
    items = term_list(lines)
    if items:
        return [".RS 2", ".PD 0"] + [x for term, text in items
                                     for x in (".TP 12", "\\fB%s\\fR" % esc(term),
                                               *[esc(t) for t in text.split("\n")])] + \
            [".PD", ".RE"]
    pad = min(len(line) - len(line.lstrip()) for line in lines)
    return [".PP", ".RS 4", ".nf"] + [esc(line[pad:]) for line in lines] + [".fi", ".RE"]


def is_heading(line):
    """'Examples:', 'Views (--by):' over a list, not a sentence that ends with a colon."""
    return line.endswith(":") and len(line) <= 40 and ". " not in line


def description(text_blocks):
    """The description's paragraphs as (section, troff lines): DESCRIPTION, EXAMPLES,
    ENVIRONMENT or EXIT STATUS."""
    out = []
    for block in text_blocks:
        section = "DESCRIPTION"
        for n, (kind, lines) in enumerate(runs(block)):
            for lead in ("Exit status:", "Environment:"):
                if kind == "text" and lines[0].startswith(lead):
                    section = lead[:-1].upper()
                    lines = [lines[0][len(lead):].strip()] + lines[1:]
            if n == 0 and kind == "text" and len(lines) == 1 and is_heading(lines[0]) and \
                    len(block) > 1:
                heading = lines[0][:-1]
                if heading.startswith("Example"):
                    section = "EXAMPLES"
                else:
                    out.append((section, [".SS " + esc(heading)]))
                continue
            body = indented(lines) if kind == "indented" else [".PP"] + [esc(x) for x in lines]
            out.append((section, body))
    return out


def options(lines):
    """GOption's option rows as tagged paragraphs."""
    out = []
    for line in lines:
        m = OPTION.match(line)
        if not m:
            if out:  # a description GOption wrapped
                out.append(esc(line.strip()))
            continue
        short, long_, arg, text = m.groups()
        tag = "\\fB%s\\fR" % esc(long_) + ("=\\fI%s\\fR" % esc(arg) if arg else "")
        if short:
            tag = "\\fB%s\\fR, %s" % (esc(short), tag)
        out += [".TP", tag, esc(text)]
    return out


def command_page(tool, command, summary):
    parts = blocks(help_text(tool, [command, "--help"]))
    usage = parts.pop(0)  # "Usage:", "  cflow NAME [OPTION...] ARGS"
    synopsis = usage[1].strip()
    lead = parts.pop(0) if parts and not parts[0][0].endswith("Options:") else []
    opts = []
    while parts and parts[0][0].endswith("Options:"):
        opts += options(parts.pop(0)[1:])
    sections = {"DESCRIPTION": [".PP"] + [esc(x) for x in lead]}
    for section, body in description(parts):
        sections.setdefault(section, []).extend(body)
    words = synopsis.split()
    page = [".SH NAME", "cflow\\-%s \\- %s" % (esc(command), esc(summary)),
            ".SH SYNOPSIS", "\\fB%s %s\\fR %s" % (words[0], esc(words[1]),
                                                   esc(" ".join(words[2:]))),
            ".SH DESCRIPTION"] + sections["DESCRIPTION"] + [".SH OPTIONS"] + opts
    for name in ("ENVIRONMENT", "EXIT STATUS", "EXAMPLES"):
        if name in sections:
            page += [".SH " + name] + sections[name]
    return page + [".SH SEE ALSO", "\\fBcflow\\fR(1)"]


def main_page(tool, commands, top):
    parts = blocks(top)
    synopsis = parts.pop(0)[0].split(":", 1)[1].strip()  # "usage: cflow COMMAND ..."
    intro = " ".join(parts.pop(0)).replace(" Commands:", "")
    parts.pop(0)  # the command table, taken apart by the caller
    page = [".SH NAME", "cflow \\- " + esc(re.sub(r"^cflow ", "", intro).rstrip(".")),
            ".SH SYNOPSIS", "\\fBcflow\\fR " + esc(synopsis.split(None, 1)[1]),
            ".br", "\\fBcflow \\-\\-version\\fR", ".br", "\\fBcflow \\-\\-help\\fR",
            ".SH DESCRIPTION", ".PP", esc(intro), ".SH COMMANDS"]
    for name, summary in commands:
        page += [".TP 12", "\\fB%s\\fR" % esc(name),
                 "%s; see \\fBcflow\\-%s\\fR(1)." % (esc(summary), esc(name))]
    sections = {}
    for section, body in description(parts):
        sections.setdefault(section, []).extend(body)
    for name in ("DESCRIPTION", "ENVIRONMENT", "EXIT STATUS"):
        if name in sections:
            page += [".SH " + ("NOTES" if name == "DESCRIPTION" else name)] + sections[name]
    see = ",\n".join("\\fBcflow\\-%s\\fR(1)" % esc(n) for n, _ in commands)
    return page + [".SH SEE ALSO", see]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().split("\n")[0])
    tool, version, out = sys.argv[1:4]
    command = sys.argv[4] if len(sys.argv) == 5 else None
    top = help_text(tool, ["--help"])
    commands = [m.groups() for m in map(COMMAND_ROW.match, top.split("\n")) if m]
    if command:
        summary = dict(commands).get(command)
        if summary is None:
            sys.exit("manpage.py: 'cflow --help' lists no command %r" % command)
        title, page = "CFLOW-" + command.upper(), command_page(tool, command, summary)
    else:
        title, page = "CFLOW", main_page(tool, commands, top)
    head = ['.\\" Generated by tool/manpage.py from the output of --help; do not edit.',
            '.TH %s 1 "" "cflow %s" "cflow manual"' % (title, version),
            ".nh", ".ad l"]  # no hyphens added to words, no stretched spaces
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(head + page) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
