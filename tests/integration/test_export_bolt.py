"""
`cflow export bolt`: BOLT's B and F records, exact on loops.S (counted by hand), consumed by
llvm-bolt-16 (the optimised program prints the same), file-relative for a shared library.
"""
import os
import re

from cflow_tool import (A64_SYSROOT, EXPORTEE_ROUNDS, EXPORT_DIR, export, exportee, need,
                        record_for_export, shlib)
from harness import QEMU, TOP, assert_eq, guest, run, symbols, test


def expect_edges(arch, name):
    """(kind, from-symbol, to-symbol, count) from tests/guests/ARCH/NAME.expect."""
    edges = []
    with open(os.path.join(TOP, "tests", "guests", arch, name + ".expect")) as f:
        for line in f:
            parts = line.split("#")[0].split()
            if len(parts) == 4 and parts[0] in ("branch", "fallthrough"):
                edges.append((parts[0], parts[1], parts[2], int(parts[3])))
    return edges


def read_fdata(path):
    recs = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if p[0] == "B":
                key = ("B", int(p[1], 16), int(p[2], 16))
                if p[4] != "0":
                    raise AssertionError("mispredictions must be 0: %s" % line)
            elif p[0] == "F":
                key = ("F", int(p[1], 16), int(p[2], 16))
            else:
                raise AssertionError("unknown record: %s" % line)
            if key in recs:
                raise AssertionError("duplicate record: %s" % line)
            recs[key] = int(p[3])
    return recs


def make_bolt_records_test(arch):
    def t():
        """Every edge of loops.expect as a B (taken) or F (fall-through) record, exactly."""
        binary = guest(arch, "loops")
        prof = record_for_export("loops-" + arch, [binary], arch)
        recs = read_fdata(export("bolt", prof))
        s = symbols(binary, arch)
        for kind, frm, to, count in expect_edges(arch, "loops"):
            key = ("B" if kind == "branch" else "F", s[frm], s[to])
            assert_eq("%s %s -> %s" % (kind, frm, to), recs.get(key), count)
        # each executed translation block is a trace from its first to its last instruction:
        # the inner loop's body block is entered 84 times by the branch, 7 by the fall-through
        assert_eq("F inner_top..inner_branch", recs.get(("F", s["inner_top"],
                                                              s["inner_branch"])), 84)
    t.__name__ = "export_bolt_records_exact_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    test(make_bolt_records_test(_arch))


def make_bolt_optimises_test(arch):
    def t():
        """llvm-bolt-16 takes the profile of a PIE (x86_64) / dynamic (aarch64) -Wl,-q build, in
        file addresses, and the optimised binary prints the same."""
        need("llvm-bolt-16")
        binary = exportee(arch)
        n = str(EXPORTEE_ROUNDS * 20)
        prof = record_for_export("exportee-o2-" + arch, [binary, n], arch)
        fdata = export("bolt", prof)
        recs = read_fdata(fdata)
        s = symbols(binary, arch)
        # file-relative: the call to classify is in main and lands on nm's address
        calls = [c for (k, f, to), c in recs.items() if k == "B" and to == s["classify"] and f]
        assert_eq("B ... classify count", sum(calls), EXPORTEE_ROUNDS * 20)
        out = os.path.join(EXPORT_DIR, "exportee-%s.bolt" % arch)
        r = run(["llvm-bolt-16", binary, "-o", out, "-pa", "-p", fdata,
                 "-reorder-blocks=ext-tsp", "-reorder-functions=hfsort", "-split-functions",
                 "-split-all-cold", "-dyno-stats"])
        if r.returncode != 0:
            raise AssertionError("llvm-bolt-16 failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        m = re.search(r"(\d+) out of (\d+) functions in the binary .* have non-empty execution "
                      r"profile", r.stdout + r.stderr)
        if not m or int(m.group(1)) < 3:
            raise AssertionError("BOLT saw no profile:\n" + (r.stdout + r.stderr)[-2000:])
        m = re.search(r"traces mismatching disassembled function contents: (\d+)",
                      r.stdout + r.stderr)
        if m and int(m.group(1)) > 100:
            raise AssertionError("BOLT found %s mismatching traces" % m.group(1))
        prefix = [] if arch == "x86_64" else [os.path.join(QEMU, "qemu-aarch64"), "-L",
                                              A64_SYSROOT]
        a = run(prefix + [binary, n])
        b = run(prefix + [out, n])
        assert_eq("exit status of the BOLTed binary", b.returncode, 0)
        assert_eq("output of the BOLTed binary", b.stdout, a.stdout)
    t.__name__ = "export_bolt_optimises_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    test(make_bolt_optimises_test(_arch))


@test
def export_bolt_shared_library_is_file_relative():
    """--binary picks a library; its addresses are its own ELF addresses."""
    d = os.path.join(EXPORT_DIR, "shlib")
    prof = record_for_export("shlib", [shlib(d)])
    lib = os.path.join(d, "libcflowtest.so")
    recs = read_fdata(export("bolt", prof, "--binary", "libcflowtest.so"))
    syms = symbols(lib)
    lo = min(v for v in syms.values() if v)
    addrs = [a for (_, f, t) in recs for a in (f, t) if a]
    if not addrs or min(addrs) < lo or max(addrs) > max(syms.values()) + 0x1000:
        raise AssertionError("library records not in the library's own addresses: %s" %
                             sorted(recs)[:5])
    entries = [c for (k, f, t), c in recs.items() if k == "B" and f == 0 and t in syms.values()]
    if not entries:
        raise AssertionError("no entries into the library's functions from outside")
