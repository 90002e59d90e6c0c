"""
Names everywhere, on tests/guests/c/names.c built -O2 -g and linked dynamically for x86_64 (a
lazy PLT, IBT's .plt.sec, and a program at a fixed address), aarch64 and riscv64: PLT stubs
named name@plt as objdump names them (every stub of the guests and of each libc, compared with
objdump -d), in report, annotate, dot and the callgrind export; classify(), inlined into main,
by its inline chain in report --inline (text and JSON), annotate, dot and the lcov export (FN
at its declaration); link-time addresses (--addresses=link) equal to objdump's, for the
program and for the C library.

The counts are known by construction: for a text of N bytes on standard input, getc is called
N + 1 times, printf and puts once, and classify's inlined code is entered N times. Expected
lines come from the NAMES-* markers of the source.
"""
import json
import os
import re

from cflow_tool import CSRC, EXPORT_DIR, TOOLDIR, build, export, need, ok, marker_line, tool
from harness import BUILD, NM, assert_eq, run, test, TESTS

SOURCE = os.path.join(CSRC, "names.c")
TEXT = "hello 42 world\t7\n" * 150  # N bytes: spaces, digits and others
N = len(TEXT)
SYSROOT = {"aarch64": "/usr/aarch64-linux-gnu", "riscv64": "/usr/riscv64-linux-gnu"}
# variant -> (architecture, compiler, extra flags)
VARIANTS = {
    "x86_64": ("x86_64", "gcc", []),
    "x86_64_ibt": ("x86_64", "gcc", ["-fcf-protection=full", "-Wl,-z,ibtplt"]),
    "x86_64_nopie": ("x86_64", "gcc", ["-no-pie"]),  # run-time addresses are link-time ones
    "aarch64": ("aarch64", "aarch64-linux-gnu-gcc", []),
    "riscv64": ("riscv64", "riscv64-linux-gnu-gcc", []),
}
LIBCS = {"x86_64": "/lib/x86_64-linux-gnu/libc.so.6",
         "aarch64": "/usr/aarch64-linux-gnu/lib/libc.so.6",
         "riscv64": "/usr/riscv64-linux-gnu/lib/libc.so.6"}
PLT_LIST = os.path.join(BUILD, "tests", "tool", "plt-list")


def objdump(arch):
    return "objdump" if arch == "x86_64" else arch + "-linux-gnu-objdump"


def guest(variant):
    arch, cc, flags = VARIANTS[variant]
    need(cc)
    d = os.path.join(TOOLDIR, "names")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "names-" + variant)
    # without moving loop invariants: riscv64's GCC would hoist classify's mask constants out
    # of the loop, and that code of classify would be entered once more each
    return build(out, [cc, "-O2", "-g", "-fno-move-loop-invariants"] + flags +
                 ["-o", out, SOURCE])


def objdump_stubs(arch, path):
    """{name: link-time address} of every `ADDR <name@plt>:` label objdump -d prints."""
    r = ok(run([objdump(arch), "-d", path]), "objdump -d " + path)
    return {m.group(2): int(m.group(1), 16)
            for m in re.finditer(r"^([0-9a-f]+) <(\S+@plt)>:$", r.stdout, re.M)}


def our_stubs(path):
    if not os.path.exists(PLT_LIST):
        raise AssertionError("%s is not built (meson builds it with the unit tests)" % PLT_LIST)
    r = ok(run([PLT_LIST, path]), "plt-list " + path)
    return {m.group(2): int(m.group(1), 16)
            for m in re.finditer(r"^([0-9a-f]+) <(\S+)>:$", r.stdout, re.M)}


@test
def names_plt_stubs_as_objdump_names_them():
    """Every stub objdump names X@plt, we name X@plt at the same address, and no other: the
    guests of four kinds of PLT and the C libraries of three architectures."""
    paths = [(VARIANTS[v][0], guest(v)) for v in VARIANTS]
    paths += [(arch, lib) for arch, lib in LIBCS.items() if os.path.exists(lib)]
    for arch, path in paths:
        want, got = objdump_stubs(arch, path), our_stubs(path)
        if not want:
            raise AssertionError("objdump names no stub in %s" % path)
        assert_eq("PLT stubs of %s" % path, got, want)


def record_names(variant):
    arch = VARIANTS[variant][0]
    path = os.path.join(TOOLDIR, "names-%s.cflow" % variant)
    extra = ["--qemu-opt", "-L", "--qemu-opt", SYSROOT[arch]] if arch in SYSROOT else []
    r = ok(tool("record", "-o", path, *extra, "--", guest(variant), input=TEXT), "record")
    assert_eq("the guest's answer", r.stdout.splitlines()[-1], "done")
    return path


def groups(path, *args):
    """report --format json --topn 0 ARGS: its rows."""
    out = ok(tool("report", "--format", "json", "--topn", "0", *args, path), "report").stdout
    return json.loads(out)["groups"]


def by_function(path, *args):
    return {g["function"]: g for g in groups(path, "--by", "function", *args)}


def classify_name():
    return "classify (inlined into main at names.c:%d)" % marker_line(SOURCE, "/* NAMES-CALL */")


def check_libc_stubs(variant, funcs, binary):
    """The PLT stubs the C library (and the dynamic linker) called through are named as
    objdump names them in those files."""
    arch = VARIANTS[variant][0]
    ours = {f for f in funcs if f.endswith("@plt")} - set(objdump_stubs(arch, binary))
    libc = LIBCS[arch]
    loader = os.path.join(os.path.dirname(libc), {"x86_64": "ld-linux-x86-64.so.2",
                                                  "aarch64": "ld-linux-aarch64.so.1",
                                                  "riscv64": "ld-linux-riscv64-lp64d.so.1"}[arch])
    theirs = set(objdump_stubs(arch, libc)) | set(objdump_stubs(arch, loader))
    if not ours or not ours <= theirs:
        raise AssertionError("the libraries' stubs %s, not objdump's: %s"
                             % (sorted(ours), sorted(ours - theirs)))


def check_report(variant, path, binary):
    funcs = by_function(path)
    check_libc_stubs(variant, funcs, binary)
    check_library_link_addresses(variant, path, funcs)
    for name, calls in (("getc@plt", N + 1), ("printf@plt", 1), ("puts@plt", 1)):
        if name not in funcs:
            raise AssertionError("no function %s in the report: %s" % (name, sorted(funcs)))
        assert_eq("entries of %s" % name, funcs[name]["entries"], calls)
    # an Arm/RISC-V mapping symbol ($x, $d, $x.1) marks code or data, it names no function
    mapping = [f for f in funcs if re.match(r"^\$[adtx](\.|$|rv)", f)]
    if mapping:
        raise AssertionError("mapping symbols taken for functions: %s" % mapping)
    if any(f.startswith("classify") for f in funcs):
        raise AssertionError("classify without --inline: %s" % sorted(funcs))
    inl = by_function(path, "--inline")
    name = classify_name()
    if name not in inl or "main" not in inl:
        raise AssertionError("no %r and main with --inline: %s" % (name, sorted(inl)))
    assert_eq("entries of the inlined classify", inl[name]["entries"], N)
    parts = dict(inl[name]["inlined"])
    assert_eq("classify's call file", os.path.realpath(parts.pop("call_file")),
              os.path.realpath(SOURCE))
    call = marker_line(SOURCE, "/* NAMES-CALL */")
    assert_eq("classify's JSON parts", parts,
              {"function": "classify", "into": "main", "call_line": call})
    assert_eq("main is no inlined instance", inl["main"]["inlined"], None)
    assert_eq("main's and classify's executions together, with and without --inline",
              inl[name]["executed"] + inl["main"]["executed"], funcs["main"]["executed"])
    lines = {(g["where"], g["function"]) for g in groups(path, "--by", "line", "--inline")}
    space = "names.c:%d" % marker_line(SOURCE, "/* NAMES-SPACE */")
    if (space, name) not in lines:
        raise AssertionError("no line %s of %r: %s" % (space, name, sorted(lines)))
    # the instruction view names the stubs too
    edges = ok(tool("report", "--sort", "edges", "--topn", "0", path), "report edges").stdout
    if not re.search(r"\s%d branch .* -> 0x[0-9a-f]+ getc@plt: " % (N + 1), edges):
        raise AssertionError("no edge to getc@plt run %d times:\n%s" % (N + 1, edges[:3000]))


def check_annotate(path):
    name = classify_name()
    out = ok(tool("annotate", path, "classify"), "annotate classify").stdout
    if not out.startswith(name + " in "):
        raise AssertionError("annotate classify does not list %r:\n%s" % (name, out[:2000]))
    space = "names.c:%d" % marker_line(SOURCE, "/* NAMES-SPACE */")
    if space not in out:
        raise AssertionError("no line %s in:\n%s" % (space, out))
    counts = [int(c) for c in re.findall(r"^\s+(\d+)\s+[\d.]+\s+0x", out, re.M)]
    assert_eq("the hottest instruction of the inlined classify", max(counts), N)
    main = ok(tool("annotate", path, "main"), "annotate main").stdout
    if not re.search(r"^  %s .*NAMES-SPACE.*\[%s\]$" % (space, re.escape(name)), main, re.M):
        raise AssertionError("main's listing does not say %s is %r:\n%s" % (space, name, main))
    if not re.search(r"taken %d -> 0x[0-9a-f]+ <getc@plt>" % (N + 1), main):
        raise AssertionError("no call to getc@plt taken %d times:\n%s" % (N + 1, main))


def check_link_addresses(variant, path, binary):
    """annotate --addresses=link prints objdump's addresses: main's and getc@plt's."""
    arch = VARIANTS[variant][0]
    dis = ok(run([objdump(arch), "-d", binary]), "objdump").stdout
    m = re.search(r"^[0-9a-f]+ <main>:\n(.*?)\n\n", dis, re.M | re.S)
    main_addrs = {int(a, 16) for a in re.findall(r"^\s+([0-9a-f]+):", m.group(1), re.M)}
    stub = objdump_stubs(arch, binary)["getc@plt"]
    out = ok(tool("annotate", "--addresses=link", path, "main"), "annotate --addresses").stdout
    listed = {int(a, 16) for a in re.findall(r"^\s+\d+\s+[\d.]+\s+0x([0-9a-f]+)", out, re.M)}
    if not listed or not listed <= main_addrs:
        raise AssertionError("addresses not objdump's: %s" % sorted(listed - main_addrs))
    if not re.search(r"taken %d -> 0x%x <getc@plt>" % (N + 1, stub), out):
        raise AssertionError("no call to 0x%x <getc@plt>:\n%s" % (stub, out))
    both = ok(tool("report", "--addresses=both", "--sort", "edges", path), "both").stdout
    if not re.search(r"0x[0-9a-f]+ \(0x[0-9a-f]+\)", both):
        raise AssertionError("--addresses=both shows no pair:\n" + both)
    bad = tool("annotate", "--addresses=where", path, "main")
    assert_eq("exit status for --addresses=where", bad.returncode, 1)
    if "--addresses 'where'" not in bad.stderr:
        raise AssertionError("unclear error: " + bad.stderr)


def check_library_link_addresses(variant, path, funcs):
    """A library's code at its own addresses too: the C library's getc (the function entered
    N + 1 times that is no stub) listed by annotate --addresses=link from its symbol's value."""
    arch = VARIANTS[variant][0]
    getc = [f for f, g in funcs.items() if g["entries"] == N + 1 and not f.endswith("@plt")]
    if len(getc) != 1:
        raise AssertionError("not one library function entered %d times: %s" % (N + 1, getc))
    r = ok(run([NM[arch], "-D", "--defined-only", LIBCS[arch]]), "nm -D")
    value = {m.group(2): int(m.group(1), 16)
             for m in re.finditer(r"^([0-9a-f]+) \w (\S+?)(@.*)?$", r.stdout, re.M)}
    out = ok(tool("annotate", "--addresses=link", path, getc[0]), "annotate " + getc[0]).stdout
    listed = [int(a, 16) for a in re.findall(r"^\s+\d+\s+[\d.]+\s+0x([0-9a-f]+)", out, re.M)]
    assert_eq("%s's first address, as in %s" % (getc[0], LIBCS[arch]), min(listed),
              value.get(getc[0]))


def check_dot_and_callgrind(path):
    dot = ok(tool("dot", "--function", "main", path), "dot main").stdout
    if not re.search(r'label="getc@plt(\\l)?"', dot):
        raise AssertionError("dot names no getc@plt node:\n" + dot)
    inl = ok(tool("dot", "--function", "classify", path), "dot classify").stdout
    if classify_name() not in inl or "%d times" % N not in inl:
        raise AssertionError("dot --function classify:\n" + inl)
    os.makedirs(EXPORT_DIR, exist_ok=True)
    with open(export("callgrind", path)) as f:
        body = f.read()
    ids = re.findall(r"^c?fn=\((\d+)\) getc@plt$", body, re.M)
    if not ids:
        raise AssertionError("callgrind names no getc@plt")
    if not re.search(r"^cfn=\(%s\).*\ncalls=%d " % (ids[0], N + 1), body, re.M):
        raise AssertionError("callgrind: no %d calls to getc@plt" % (N + 1))


def check_lcov(path):
    """lcov names the inlined classify as a function, at its declaration, called N times."""
    decl = marker_line(SOURCE, "/* NAMES-CLASSIFY */")
    os.makedirs(EXPORT_DIR, exist_ok=True)
    with open(export("lcov", path)) as f:
        body = f.read()
    if not re.search(r"^FN:%d,classify$" % decl, body, re.M):
        raise AssertionError("lcov: no FN:%d,classify:\n%s" % (decl, body[:2000]))
    calls = re.search(r"^FNDA:(\d+),classify$", body, re.M)
    assert_eq("lcov: classify's calls", calls and int(calls.group(1)), N)


def names_test(variant):
    def t():
        binary = guest(variant)
        path = record_names(variant)
        check_report(variant, path, binary)
        check_annotate(path)
        check_link_addresses(variant, path, binary)
        check_dot_and_callgrind(path)
        check_lcov(path)
    t.__name__ = "names_inline_and_plt_" + variant
    return t


for _v in VARIANTS:
    TESTS.append(names_test(_v))
