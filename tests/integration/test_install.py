"""
cflow installed like the tools people know (`make install`, tool/meson.build): the installed
tool records and reports from any folder with the plugin it finds beside itself, also after
its tree is moved (a DESTDIR staging); `cflow --version` names the tool, the profile format, the
plugin and QEMU with their versions; every command has a manual page that man renders, with
that command's options; bash completion completes commands, options, option values, export
formats and files, in a real bash.

The install is done once per run of the suite, into a folder of the test's own, with the
checkout's Makefile, as a user would: make install BUILD=... PREFIX=...
"""
import json
import os
import pty
import re
import select
import shutil
import time

from harness import BUILD, QEMU, TOP, WORK, assert_eq, edge_count, guest, run, symbols, test

INSTALL = os.path.join(WORK, "install")
PREFIX = os.path.join(INSTALL, "prefix")
_installed = []


def installed():
    """PREFIX after `make install PREFIX=...` (done once)."""
    if not _installed:
        shutil.rmtree(INSTALL, ignore_errors=True)
        os.makedirs(INSTALL)
        r = run(["make", "-C", TOP, "install", "BUILD=" + BUILD, "PREFIX=" + PREFIX],
                timeout=1200)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n%s%s" % (r.stdout[-3000:],
                                                                 r.stderr[-3000:]))
        _installed.append(PREFIX)
    return PREFIX


def clean_env(**extra):
    """The environment without the variables that would name a QEMU or plugin for the tool."""
    env = {k: v for k, v in os.environ.items() if k not in ("CFLOW_QEMU", "CFLOW_PLUGIN")}
    env.update(extra)
    return env


def cflow(prefix, *args, **kw):
    kw.setdefault("env", clean_env())
    return run([os.path.join(prefix, "bin", "cflow")] + list(args), **kw)


def ok(r, what):
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-3000:],
                                                    r.stderr[-3000:]))
    return r


def need_in(text, want, what):
    if want not in text:
        raise AssertionError("%s lacks %r:\n%s" % (what, want, text))


def commands(prefix):
    """The commands `cflow --help` lists (its rows '  NAME  summary')."""
    out = ok(cflow(prefix, "--help"), "cflow --help").stdout
    names = re.findall(r"^  ([a-z][\w-]*)\s{2,}\S", out, re.M)
    if len(names) < 10:
        raise AssertionError("cflow --help lists too few commands: %s" % names)
    return names


def long_options(prefix, command):
    """The long options of `cflow COMMAND --help`, from its option sections."""
    out = ok(cflow(prefix, command, "--help"), command + " --help").stdout
    sections = re.findall(r"^\w[\w ]*Options:\n((?:  .*\n)+)", out, re.M)
    return sorted(set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", "".join(sections), re.M)))


@test
def install_then_record_and_report_from_another_folder():
    prefix = installed()
    for f in ("bin/cflow", "share/bash-completion/completions/cflow", "share/man/man1/cflow.1"):
        if not os.path.isfile(os.path.join(prefix, f)):
            raise AssertionError("make install left no %s" % f)
    plugins = [os.path.join(d, "libcflow.so") for d, _, files in os.walk(prefix)
               if "libcflow.so" in files]
    assert_eq("one plugin installed", len(plugins), 1)
    # a folder of its own, far from the build tree: the tool must find its plugin and QEMU
    d = os.path.join(INSTALL, "elsewhere")
    os.makedirs(d, exist_ok=True)
    loops = guest("x86_64", "loops")
    r = ok(cflow(prefix, "record", "-o", "p.cflow", "--", loops, cwd=d), "installed record")
    assert_eq("guest stdout", r.stdout, "loops ok\n")
    rep = ok(cflow(prefix, "report", "p.cflow", cwd=d), "installed report").stdout
    s = symbols(loops)
    # the hottest source instruction: the inner loop's branch, taken 7 * (13 - 1) times
    top = re.search(r"^  0x([0-9a-f]+) .*\n\s+taken (\d+),", rep, re.M)
    if not top or (int(top.group(1), 16), int(top.group(2))) != (s["inner_branch"], 84):
        raise AssertionError("report does not rank the inner branch (84 taken) first:\n" + rep)
    ok(cflow(prefix, "json", "p.cflow", "p.json", cwd=d), "installed json")
    with open(os.path.join(d, "p.json")) as f:
        prof = json.load(f)
    assert_eq("inner branch", edge_count(prof, s["inner_branch"], s["inner_top"], "branch"), 84)
    assert_eq("outer branch", edge_count(prof, s["outer_branch"], s["outer_top"], "branch"), 6)
    # the run used the installed plugin, not the build tree's (cflow version says which)
    v = ok(cflow(prefix, "version", cwd=d), "installed version").stdout
    need_in(v, "plugin: %s (installed with cflow)" % os.path.realpath(plugins[0]), "version")


@test
def install_staged_with_destdir_works_where_it_lands():
    """DESTDIR staging, then the tree moved elsewhere: the tool finds the plugin beside it."""
    installed()  # the build is there
    stage = os.path.join(INSTALL, "stage")
    shutil.rmtree(stage, ignore_errors=True)
    ok(run(["make", "-C", TOP, "install", "BUILD=" + BUILD, "PREFIX=/opt/cflow",
            "DESTDIR=" + stage], timeout=1200), "make install DESTDIR")
    if not os.path.isfile(os.path.join(stage, "opt", "cflow", "bin", "cflow")):
        raise AssertionError("make install DESTDIR=%s left no opt/cflow/bin/cflow there" % stage)
    moved = os.path.join(INSTALL, "moved")
    shutil.rmtree(moved, ignore_errors=True)
    os.rename(os.path.join(stage, "opt", "cflow"), moved)
    v = ok(cflow(moved, "version", cwd=INSTALL), "moved tree's version").stdout
    need_in(v, "plugin: %s/" % os.path.realpath(moved), "the moved tree's version")
    r = ok(cflow(moved, "record", "-o", "moved.cflow", "--", guest("x86_64", "loops"),
                 cwd=INSTALL), "record from the moved tree")
    assert_eq("guest stdout", r.stdout, "loops ok\n")


@test
def install_version_names_tool_format_plugin_and_qemu():
    prefix = installed()
    meson_build = open(os.path.join(TOP, "meson.build")).read()
    version = re.search(r"version\s*:\s*'([^']+)'", meson_build).group(1)
    r = ok(cflow(prefix, "--version"), "cflow --version")
    assert_eq("cflow version == cflow --version",
              ok(cflow(prefix, "version"), "cflow version").stdout, r.stdout)
    lines = r.stdout.split("\n")
    assert_eq("first line", lines[0], "cflow " + version)
    need_in(r.stdout, "profile format: reads and writes version 1", "--version")
    need_in(r.stdout, "cflow plugin %s, writes profile format version 1" % version, "--version")
    qemu_version = open(os.path.join(TOP, ".deps", "qemu-stock", "VERSION")).read().strip()
    need_in(r.stdout, "built against QEMU %s (plugin API " % qemu_version, "--version")
    qemu = os.path.join(QEMU, "qemu-" + os.uname().machine)
    need_in(r.stdout, "qemu: %s (the QEMU built in the checkout" % qemu, "--version")
    first = run([qemu, "--version"]).stdout.split("\n")[0]
    need_in(r.stdout, "  " + first + "\n", "--version")
    # the plugin's version survives stripping (a package strips what it installs)
    stripped = os.path.join(INSTALL, "stripped-libcflow.so")
    shutil.copy(os.path.join(BUILD, "libcflow.so"), stripped)
    ok(run(["strip", "--strip-all", stripped]), "strip")
    r = ok(cflow(prefix, "version", "--plugin", stripped), "version of a stripped plugin")
    need_in(r.stdout, "plugin: %s (--plugin)\n  cflow plugin %s," % (stripped, version),
            "version --plugin STRIPPED")
    # --qemu NAME without a folder: looked up on PATH, as a shell would
    r = ok(cflow(prefix, "version", "--qemu", os.path.basename(qemu),
                 env=clean_env(PATH=QEMU + os.pathsep + os.environ["PATH"])), "--qemu NAME")
    need_in(r.stdout, "qemu: %s (--qemu)" % qemu, "version --qemu " + os.path.basename(qemu))
    # what it says when something is missing, and which place it looked in
    r = cflow(prefix, "version", env=clean_env(CFLOW_QEMU="/nonexistent/qemu"))
    assert_eq("missing QEMU: exit", r.returncode, 1)
    need_in(r.stdout, "no executable at /nonexistent/qemu (named by $CFLOW_QEMU)", "version")
    r = cflow(prefix, "version", "--plugin", "/bin/true")
    assert_eq("not a cflow plugin: exit", r.returncode, 1)
    need_in(r.stdout, "/bin/true: no .cflow_version section", "version --plugin /bin/true")
    r = cflow(prefix, "record", "--arch", "nosucharch", "--", guest("x86_64", "loops"))
    assert_eq("no QEMU for the architecture: exit", r.returncode, 1)
    for want in ("no qemu-nosucharch found", os.path.join(QEMU, "qemu-nosucharch"),
                 "not on PATH", "--qemu or $CFLOW_QEMU"):
        need_in(r.stderr, want, "record --arch nosucharch")


@test
def install_man_pages_render_every_command_with_its_options():
    prefix = installed()
    man1 = os.path.join(prefix, "share", "man", "man1")
    pages = [("cflow", None)] + [("cflow-" + c, c) for c in commands(prefix)]
    for page, command in pages:
        path = os.path.join(man1, page + ".1")
        if not os.path.isfile(path):
            raise AssertionError("no manual page %s for %s" % (path, command or "cflow"))
        r = run(["man", "--warnings", "-l", path],
                env=dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8"))
        ok(r, "man -l " + path)
        assert_eq("troff warnings for " + page, r.stderr, "")
        text = r.stdout
        for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"):
            if not re.search(r"^%s$" % heading, text, re.M):
                raise AssertionError("%s has no %s section:\n%s" % (page, heading, text))
        need_in(text, "%s - " % page, page + " NAME")
        for leftover in ("\\f", "\\-", ".TP", ".SH", "\\(aq"):
            if leftover in text:
                raise AssertionError("%s shows troff markup %r:\n%s" % (page, leftover, text))
        if command is None:
            for c, _ in pages[1:]:
                need_in(text, c + "(1)", "cflow(1)'s SEE ALSO")
            continue
        need_in(text, "cflow %s [OPTION...]" % command, page + " SYNOPSIS")
        for option in long_options(prefix, command):
            # typed as the tool takes it: ASCII hyphens, so it can be copied from the page
            if not re.search(r"(^|[\s,])%s\b" % re.escape(option), text, re.M):
                raise AssertionError("%s lacks option %s:\n%s" % (page, option, text))
    # from the checkout's --help, so they cannot drift: a page shows the help's examples
    export = open(os.path.join(man1, "cflow-export.1")).read()
    need_in(export, "Generated by tool/manpage.py", "cflow-export.1")


def complete(prefix, words, cwd=None, after=()):
    """COMPREPLY for the command line WORDS (the last one being completed) followed by AFTER,
    in a real bash with the installed completion sourced and the installed cflow on PATH."""
    script = ('source "$1"; cword=$2; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$cword; '
              'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _cflow; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    comp = os.path.join(prefix, "share", "bash-completion", "completions", "cflow")
    env = clean_env(PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ["PATH"])
    r = ok(run(["bash", "--norc", "--noprofile", "-c", script, "bash", comp,
                str(len(words) - 1)] + list(words) + list(after), env=env, cwd=cwd),
           "completion of %s" % words)
    return [w for w in r.stdout.split("\n") if w]


@test
def install_bash_completion_completes_commands_options_formats():
    prefix = installed()
    assert_eq("cflow ex<TAB>", complete(prefix, ["cflow", "ex"]), ["export"])
    assert_eq("cflow re<TAB>", sorted(complete(prefix, ["cflow", "re"])), ["record", "report"])
    assert_eq("cflow <TAB>", sorted(complete(prefix, ["cflow", ""])),
              sorted(commands(prefix) + ["help"]))
    assert_eq("cflow --<TAB>", complete(prefix, ["cflow", "--"]), ["--help", "--version"])
    # the formats the tool itself lists (bolt lcov callgrind drcov and any added later)
    usage = ok(cflow(prefix, "export", "--help"), "export --help").stdout
    formats = re.search(r"\(FORMAT: ([^)]*)\)", usage).group(1).replace(",", " ").split()
    for f in ("bolt", "lcov", "callgrind", "drcov", "autofdo-llvm", "autofdo-gcc"):
        if f not in formats:
            raise AssertionError("export --help lists no %s: %s" % (f, formats))
    assert_eq("cflow export <TAB>", sorted(complete(prefix, ["cflow", "export", ""])),
              sorted(formats))
    assert_eq("cflow export --binary X c<TAB>",
              complete(prefix, ["cflow", "export", "--binary", "x", "c"]), ["callgrind"])
    assert_eq("cflow report --<TAB>", sorted(complete(prefix, ["cflow", "report", "--"])),
              long_options(prefix, "report"))
    for words, want in ((["--by", ""], ["function", "insn", "line"]),
                        (["--by", "=", "f"], ["function"]),
                        (["--format", ""], ["csv", "json", "text"])):
        assert_eq("cflow report %s<TAB>" % " ".join(words),
                  sorted(complete(prefix, ["cflow", "report"] + words)), want)
    sorts = complete(prefix, ["cflow", "report", "--sort", ""])
    for s in ("hottest", "edges", "bias"):
        if s not in sorts:
            raise AssertionError("report --sort <TAB> lacks %s: %s" % (s, sorts))
    # files: profiles, outputs, and the guest's program and arguments
    d = os.path.join(INSTALL, "files")
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    for f in ("run1.cflow", "run2.cflow", "notes.txt"):
        open(os.path.join(d, f), "w").close()
    assert_eq("cflow report r<TAB>", sorted(complete(prefix, ["cflow", "report", "r"], cwd=d)),
              ["run1.cflow", "run2.cflow"])
    assert_eq("cflow export lcov r<TAB>",
              sorted(complete(prefix, ["cflow", "export", "lcov", "r"], cwd=d)),
              ["run1.cflow", "run2.cflow"])
    assert_eq("cflow diff run1.cflow s<TAB>",
              complete(prefix, ["cflow", "diff", "run1.cflow", "s"], cwd=d), ["sub"])
    assert_eq("cflow record -o n<TAB>",
              complete(prefix, ["cflow", "record", "-o", "n"], cwd=d), ["notes.txt"])
    assert_eq("cflow record -o x.cflow -- bas<TAB> (programs)",
              "bash" in complete(prefix, ["cflow", "record", "-o", "x", "--", "bas"]), True)
    assert_eq("cflow record ls r<TAB> (the guest's arguments)",
              sorted(complete(prefix, ["cflow", "record", "ls", "r"], cwd=d)),
              ["run1.cflow", "run2.cflow"])
    assert_eq("cflow help ex<TAB>", complete(prefix, ["cflow", "help", "ex"]), ["export"])
    # function names, from the profile named on the command line (before or after the cursor)
    loops = guest("x86_64", "loops")
    ok(cflow(prefix, "record", "-o", "p.cflow", "--", loops, cwd=d), "record for completion")
    bumps = sorted(name for name in symbols(loops) if name.startswith("bump"))
    if len(bumps) < 3:
        raise AssertionError("loops has too few bump* symbols: %s" % bumps)
    for words in (["annotate", "p.cflow", "bump"], ["report", "p.cflow", "--function", "bump"],
                  ["dot", "--function", "bump", "p.cflow"]):
        where = 3 if words[0] == "dot" else len(words)
        got = complete(prefix, ["cflow"] + words[:where], cwd=d, after=words[where:])
        assert_eq("cflow %s (TAB after 'bump')" % " ".join(words), sorted(got), bumps)
    # the completion is bound to the command name
    r = run(["bash", "--norc", "-c", 'source "$1"; complete -p cflow', "bash",
             os.path.join(prefix, "share", "bash-completion", "completions", "cflow")])
    assert_eq("complete -p cflow", r.stdout.strip(), "complete -F _cflow cflow")


def typed(prefix, line, until, timeout=20):
    """What an interactive bash (in a pseudo-terminal, readline and all) shows after the
    completion is sourced and LINE is typed, read until the screen holds every word of UNTIL."""
    comp = os.path.join(prefix, "share", "bash-completion", "completions", "cflow")
    env = clean_env(PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ["PATH"],
                    TERM="dumb", INPUTRC="/dev/null", HOME=INSTALL, PS1="$ ")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
    screen = b""
    try:
        os.write(fd, ('source "%s"\n' % comp).encode())
        os.write(fd, line.encode())
        end = time.time() + timeout
        while time.time() < end and not all(w.encode() in screen for w in until):
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    screen += os.read(fd, 4096)
                except OSError:
                    break
    finally:
        os.write(fd, b"\x03exit\n")
        os.close(fd)
        os.waitpid(pid, 0)
    return screen.decode(errors="replace").replace("\r", "")


@test
def install_bash_completion_in_an_interactive_terminal():
    prefix = installed()
    screen = typed(prefix, "cflow ex\t", ["cflow export "])
    need_in(screen, "cflow export ", "cflow ex<TAB> on a terminal")
    formats = ["bolt", "lcov", "callgrind", "drcov"]
    screen = typed(prefix, "cflow export \t\t", formats)
    for f in formats:
        need_in(screen, f, "cflow export <TAB><TAB> on a terminal")
