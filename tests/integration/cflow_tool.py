"""
What the tests of the cflow tool's commands (test_tool_*.py) and of its exports
(test_export_*.py) share: running the tool, recording a guest once per name, the C guests built
with -g here (tests/guests/c: branchy.c, a static x86_64 program with marked lines; shlib.c +
shlib-main.c, a dynamically linked x86_64 program and its library; exportee.c, the exports'
guest; charclass.c, the pictures' guest, reading standard input), the bundled example
(examples/primes.c, aarch64), and the lines of marker comments in the sources (expected source
lines come from markers, never from line numbers).
"""
import json
import os
import shutil

from harness import TOOL, TOP, WORK, Skip, run

TOOLDIR = os.path.join(WORK, "tool")
EXPORT_DIR = os.path.join(WORK, "export")
CSRC = os.path.join(TOP, "tests", "guests", "c")
ROUNDS = 300000  # branchy.c's loop
EXPORTEE = os.path.join(CSRC, "exportee.c")
EXPORTEE_ROUNDS = 1000
A64_SYSROOT = "/usr/aarch64-linux-gnu"


def tool(*args, **kw):
    return run([TOOL] + list(args), **kw)


def ok(r, what):
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-3000:],
                                                    r.stderr[-3000:]))
    return r


def need(*programs):
    for p in programs:
        if not shutil.which(p):
            raise Skip("%s is not installed (scripts/deps installs it)" % p)


def marker_line(path, marker):
    """The number of the first line of PATH that holds MARKER (e.g. '/* HOT-LOOP */')."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise AssertionError("no %s in %s" % (marker, path))


def build(out, cmd, cwd=None):
    """Runs the compiler command CMD unless OUT is newer than every source it names."""
    if not os.path.exists(out) or any(os.path.getmtime(out) < os.path.getmtime(a)
                                      for a in cmd if a.endswith(".c")):
        r = run(cmd, cwd=cwd)
        if r.returncode != 0:
            raise AssertionError("building %s failed:\n%s" % (out, r.stderr))
    return out


def branchy():
    os.makedirs(TOOLDIR, exist_ok=True)
    return build(os.path.join(TOOLDIR, "branchy"),
                 ["gcc", "-g", "-O0", "-static", "-o", os.path.join(TOOLDIR, "branchy"),
                  os.path.join(CSRC, "branchy.c")])


def shlib(d=os.path.join(TOOLDIR, "shlib")):
    """shlib-main linked against libcflowtest.so (shlib.c), both in D; returns the program."""
    os.makedirs(d, exist_ok=True)
    build(os.path.join(d, "libcflowtest.so"),
          ["gcc", "-g", "-O0", "-shared", "-fPIC", "-o", os.path.join(d, "libcflowtest.so"),
           os.path.join(CSRC, "shlib.c")])
    return build(os.path.join(d, "shlibmain"),
                 ["gcc", "-g", "-O0", "-o", os.path.join(d, "shlibmain"),
                  os.path.join(CSRC, "shlib-main.c"), "-L" + d, "-lcflowtest",
                  "-Wl,-rpath,$ORIGIN"])


def example():
    """examples/primes.c as scripts/example builds it (aarch64, -O2, static), with -g."""
    os.makedirs(TOOLDIR, exist_ok=True)
    return build(os.path.join(TOOLDIR, "primes"),
                 ["aarch64-linux-gnu-gcc", "-g", "-O2", "-static", "-o",
                  os.path.join(TOOLDIR, "primes"), os.path.join(TOP, "examples", "primes.c")])


CHARCLASS = os.path.join(CSRC, "charclass.c")
CHARCLASS_INPUT = "ab 12\n"  # two letters, two spaces, two digits: charclass.c's counts
CHARCLASS_COPIES = 200


def charclass(opt="-O1"):
    """charclass.c, the pictures' guest, built OPT -g (a dynamically linked PIE, as a user's)."""
    os.makedirs(TOOLDIR, exist_ok=True)
    out = os.path.join(TOOLDIR, "charclass" + opt)
    return build(out, ["gcc", opt, "-g", "-o", out, CHARCLASS])


def record_charclass(name, binary, where=TOOLDIR):
    """cflow record of BINARY reading CHARCLASS_COPIES copies of CHARCLASS_INPUT, once per run
    of the suite."""
    os.makedirs(where, exist_ok=True)
    path = os.path.join(where, name + ".cflow")
    if path not in _recorded:
        ok(tool("record", "-o", path, "--", binary, input=CHARCLASS_INPUT * CHARCLASS_COPIES),
           "record " + name)
        _recorded.add(path)
    return path


def exportee(arch):
    """exportee.c with -O2 -g -Wl,-q (relocations for BOLT); x86_64 is a PIE."""
    os.makedirs(EXPORT_DIR, exist_ok=True)
    cc = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc"}[arch]
    out = os.path.join(EXPORT_DIR, "exportee-" + arch)
    return build(out, [cc, "-O2", "-g", "-Wl,-q", "-o", out, EXPORTEE])


_recorded = set()


def record(name, argv, extra=(), where=TOOLDIR):
    """cflow record -o WHERE/NAME.cflow EXTRA -- ARGV, once per run of the suite."""
    os.makedirs(where, exist_ok=True)
    path = os.path.join(where, name + ".cflow")
    if path not in _recorded:
        ok(tool("record", "-o", path, *extra, "--", *argv), "record " + name)
        _recorded.add(path)
    return path


def record_for_export(name, argv, arch="x86_64"):
    """A recording in the exports' folder; aarch64 guests find their libraries in the sysroot."""
    extra = ["--qemu-opt", "-L", "--qemu-opt", A64_SYSROOT] if arch == "aarch64" else []
    return record(name, argv, extra, EXPORT_DIR)


def export(fmt, prof, *args):
    out = os.path.join(EXPORT_DIR, "%s.%s" % (os.path.basename(prof), fmt))
    ok(tool("export", fmt, prof, "-o", out, *args), "export " + fmt)
    return out


def as_json(path):
    return json.loads(ok(tool("json", path), "json " + path).stdout)


def report_json(path, *args):
    return json.loads(ok(tool("report", "--format", "json", *args, path), "report").stdout)
