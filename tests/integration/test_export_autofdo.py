"""
`cflow export autofdo-llvm` and `autofdo-gcc`: the compilers' sample profiles from an emulated
run of tests/guests/c/pgo.c (counts known by construction: its header), for x86_64, aarch64 and
riscv64 builds; llvm-profdata and clang take the LLVM profile, GCC 12 the .afdo, with no
warnings, and the branch weights they derive have the hot directions an instrumented profile of
the same workload gives; bad input (no debug info, another build of the binary, a stripped
file) is an error naming the file.
"""
import os
import re
import shutil
import struct

from cflow_tool import CSRC, EXPORT_DIR, as_json, marker_line, need, ok, record, shlib, tool
from harness import QEMU, assert_eq, run, test

PGO = os.path.join(CSRC, "pgo.c")
ROUNDS = 1000
SYSROOT = {"aarch64": "/usr/aarch64-linux-gnu", "riscv64": "/usr/riscv64-linux-gnu"}
CLANG, PROFDATA = "clang-19", "llvm-profdata-19"
CLANG_FLAGS = ["-O2", "-g", "-fdebug-info-for-profiling"]
DIR = os.path.join(EXPORT_DIR, "autofdo")


def line(marker):
    return marker_line(PGO, "/* PGO-%s */" % marker)


def offset(fn, marker):
    """The line of MARKER relative to the line declaring function FN."""
    return line(marker) - line("DECL-" + fn)


def compiler(arch, cc):
    """The command that builds pgo.c for ARCH with CC ('clang' or 'gcc')."""
    if cc == "clang":
        need(CLANG)
        return [CLANG] + (["--target=%s-linux-gnu" % arch] if arch != "x86_64" else []) + \
            CLANG_FLAGS
    gcc = "gcc" if arch == "x86_64" else "%s-linux-gnu-gcc" % arch
    need(gcc)
    return [gcc, "-O2", "-g"]


def build(name, cmd):
    os.makedirs(DIR, exist_ok=True)
    out = os.path.join(DIR, name)
    ok(run(cmd + ["-o", out, PGO]), "building " + name)
    return out


def record_pgo(name, binary, arch):
    extra = ["--qemu-opt", "-L", "--qemu-opt", SYSROOT[arch]] if arch in SYSROOT else []
    return record(name, [binary, str(ROUNDS)], extra, DIR)


def export(fmt, prof, out, *args):
    ok(tool("export", fmt, prof, "-o", out, *args), "export " + fmt)
    return out


def parse_llvm(path):
    """The text sample profile as {name: {'total', 'head', 'body': {(off, disc): (count,
    {target: calls})}, 'inlined': {(off, disc, callee): profile}}}."""
    top = {}
    stack = []  # (depth, profile)
    with open(path) as f:
        for text in f:
            depth = len(text) - len(text.lstrip(" "))
            text = text.strip()
            if depth == 0:
                name, total, head = text.rsplit(":", 2)
                prof = {"total": int(total), "head": int(head), "body": {}, "inlined": {}}
                top[name] = prof
                stack = [(0, prof)]
                continue
            while stack[-1][0] >= depth:
                stack.pop()
            parent = stack[-1][1]
            pos, rest = text.split(": ", 1)
            off, _, disc = pos.partition(".")
            key = (int(off), int(disc or 0))
            first = rest.split()[0]
            if ":" in first and len(rest.split()) == 1 and not first.split(":")[0].isdigit():
                callee, total = first.rsplit(":", 1)
                prof = {"total": int(total), "head": 0, "body": {}, "inlined": {}}
                parent["inlined"][key + (callee,)] = prof
                stack.append((depth, prof))
            else:
                words = rest.split()
                targets = {t.rsplit(":", 1)[0]: int(t.rsplit(":", 1)[1]) for t in words[1:]}
                parent["body"][key] = (int(words[0]), targets)
    return top


def parse_gcc(path):
    """The .afdo as the same structure (call targets: indirect calls only)."""
    data = open(path, "rb").read()
    pos = [0]

    def u32():
        pos[0] += 4
        return struct.unpack_from("<I", data, pos[0] - 4)[0]

    def u64():
        pos[0] += 8
        return struct.unpack_from("<Q", data, pos[0] - 8)[0]

    assert_eq("magic, version", (u32(), u32(), u32()), (0x67636461, 2, 0))
    assert_eq("names tag", u32(), 0xaa000000)
    u32()
    names = []
    for _ in range(u32()):
        n = u32()
        names.append(data[pos[0]:pos[0] + n - 1].decode())
        pos[0] += n

    def function(head):
        name, npos, ncalls = names[u32()], u32(), u32()
        prof = {"head": head, "body": {}, "inlined": {}}
        for _ in range(npos):
            loc, ntargets, count = u32(), u32(), u64()
            targets = {}
            for _ in range(ntargets):
                u32()
                t = names[u64()]
                targets[t] = u64()
            prof["body"][(loc >> 16, loc & 0xffff)] = (count, targets)
        for _ in range(ncalls):
            loc = u32()
            callee, sub = function(0)
            prof["inlined"][(loc >> 16, loc & 0xffff, callee)] = sub
        return name, prof

    assert_eq("functions tag", u32(), 0xac000000)
    u32()
    top = {}
    for _ in range(u32()):
        head = u64()
        name, prof = function(head)
        top[name] = prof
    assert_eq("modules section", (u32(), u32(), u32()), (0xae000000, 0, 0))
    assert_eq("end of file", pos[0], len(data))
    return top


def at(prof, off):
    """The count (the most over discriminators) and the call targets at line offset OFF."""
    count, targets = 0, {}
    for (o, _), (c, t) in prof["body"].items():
        if o == off:
            count = max(count, c)
            for name, n in t.items():
                targets[name] = targets.get(name, 0) + n
    return count, targets


def inlined(prof, off, callee):
    subs = [p for (o, _, c), p in prof["inlined"].items() if o == off and c == callee]
    if len(subs) != 1:
        raise AssertionError("no single %s inlined at offset %d: %s" % (callee, off,
                                                                          prof["inlined"]))
    return subs[0]


def check_counts(top, cc, direct_targets=True):
    """pgo.c's counts, as its header states them. A position counts its most executed
    instruction: GCC duplicates the loop's increment into both paths of the PGO-CUT branch
    (750 and 250 each) and moves op_add's addition onto its closing brace (riscv64), so the
    loop line is checked on clang's builds, the bodies of the op_ functions by their hottest
    position (every instruction of theirs runs once a call)."""
    icall = {"op_add": ROUNDS * 6 // 10, "op_mul": ROUNDS * 3 // 10, "op_neg": ROUNDS // 10}
    work = top["work"]
    if cc == "clang":
        assert_eq("work: the loop line", at(work, offset("work", "LOOP"))[0], ROUNDS)
    assert_eq("work: the indirect call", at(work, offset("work", "ICALL")), (ROUNDS, icall))
    scale = inlined(work, offset("work", "INLINE"), "scale")
    assert_eq("scale inlined: its test", at(scale, offset("scale", "TEST"))[0], ROUNDS)
    cut = at(scale, offset("scale", "CUT"))
    assert_eq("scale inlined: the cut", cut[0], ROUNDS // 4)
    assert_eq("scale inlined: the cut's direct call", cut[1],
              {"halve": ROUNDS // 4} if direct_targets else {})
    for fn, calls in list(icall.items()) + [("halve", ROUNDS // 4), ("main", 1)]:
        assert_eq("calls into " + fn, top[fn]["head"], calls)
    for fn, calls in icall.items():
        assert_eq(fn + "'s hottest position", max(c for c, _ in top[fn]["body"].values()),
                  calls)
    if cc == "clang":
        for fn, marker in (("op_add", "ADD"), ("op_mul", "MUL"), ("op_neg", "NEG")):
            assert_eq(fn + "'s line", at(top[fn], offset(fn, marker))[0], icall[fn])
    if "never_run" in top:
        raise AssertionError("never_run never ran but has a profile")


def make_llvm_counts_test(arch, cc):
    def t():
        """The LLVM profile holds pgo.c's exact line, call-target, head and inline counts."""
        binary = build("pgo-%s-%s" % (arch, cc), compiler(arch, cc))
        prof = record_pgo("pgo-%s-%s" % (arch, cc), binary, arch)
        out = export("autofdo-llvm", prof, binary + ".prof")
        check_counts(parse_llvm(out), cc)
    t.__name__ = "export_autofdo_llvm_counts_%s_%s" % (arch, cc)
    return t


for _arch, _cc in (("x86_64", "clang"), ("aarch64", "clang"), ("riscv64", "gcc"),
                   ("x86_64", "gcc")):
    test(make_llvm_counts_test(_arch, _cc))


def make_gcc_counts_test(arch):
    def t():
        """The .afdo holds the same counts (GCC keeps the targets of indirect calls only)."""
        binary = build("pgo-%s-gcc" % arch, compiler(arch, "gcc"))
        prof = record_pgo("pgo-%s-gcc" % arch, binary, arch)
        top = parse_gcc(export("autofdo-gcc", prof, binary + ".afdo"))
        check_counts(top, "gcc", direct_targets=False)
    t.__name__ = "export_autofdo_gcc_counts_%s" % arch
    return t


for _arch in ("x86_64", "aarch64", "riscv64"):
    test(make_gcc_counts_test(_arch))


def without_zeros(top):
    """TOP with the positions at 0 left out, everything else as it was."""
    def strip(p):
        return dict(p, body={k: v for k, v in p["body"].items() if v[0]},
                    inlined={k: strip(v) for k, v in p["inlined"].items()})
    return {name: strip(p) for name, p in top.items()}


def make_zeros_test(arch, cc, fmt):
    def t():
        """The arm of main's branch that never runs (PGO-NEVER) is listed at exactly 0, and
        nothing else changes (counts, heads, totals: the profile less its zeros is the
        --no-zeros one); --no-zeros leaves it out; never_run, which never ran, is in
        neither."""
        name = "pgo-%s-%s" % (arch, cc)
        binary = build(name, compiler(arch, cc))
        prof = record_pgo(name, binary, arch)
        parse = parse_llvm if fmt == "autofdo-llvm" else parse_gcc
        zeros = parse(export(fmt, prof, binary + ".zeros." + fmt))
        bare = parse(export(fmt, prof, binary + ".nozeros." + fmt, "--no-zeros"))
        never = offset("main", "NEVER")
        listed = {k: v for k, v in zeros["main"]["body"].items() if k[0] == never}
        if not listed or any(v != (0, {}) for v in listed.values()):
            raise AssertionError("main's line %d (never run) should be listed at 0: %s" %
                                 (line("NEVER"), zeros["main"]["body"]))
        assert_eq("main's line %d without the zeros" % line("NEVER"),
                  [k for k in bare["main"]["body"] if k[0] == never], [])
        assert_eq("the profile less its zeros", without_zeros(zeros), bare)
        for top in (zeros, bare):
            if "never_run" in top:
                raise AssertionError("never_run never ran but has a profile")
    t.__name__ = "export_%s_zeros_%s_%s" % (fmt.replace("-", "_"), arch, cc)
    return t


for _arch, _cc, _fmt in (("x86_64", "clang", "autofdo-llvm"),
                         ("aarch64", "clang", "autofdo-llvm"),
                         ("x86_64", "gcc", "autofdo-gcc"), ("riscv64", "gcc", "autofdo-gcc")):
    test(make_zeros_test(_arch, _cc, _fmt))


# ---------------------------------------------------------------------------------------------
# The consumers

def quiet(cmd, what):
    """Runs CMD, which must succeed without a word on standard error (no warnings)."""
    r = ok(run(cmd), what)
    if r.stderr.strip():
        raise AssertionError("%s warned:\n%s" % (what, r.stderr[-3000:]))
    return r


def llvm_profile(arch):
    binary = build("pgo-%s-clang" % arch, compiler(arch, "clang"))
    prof = record_pgo("pgo-%s-clang" % arch, binary, arch)
    return export("autofdo-llvm", prof, binary + ".prof")


@test
def export_autofdo_llvm_profdata_accepts():
    """llvm-profdata merges the text profile to the binary format and back, unchanged."""
    need(PROFDATA)
    text = llvm_profile("x86_64")
    binary = text + "data"
    quiet([PROFDATA, "merge", "--sample", "--binary", text, "-o", binary], "profdata merge")
    back = ok(run([PROFDATA, "merge", "--sample", "--text", binary, "-o", "-"]),
              "profdata back to text").stdout
    again = os.path.join(DIR, "roundtrip.prof")
    with open(again, "w") as f:
        f.write(back)
    assert_eq("the profile after a round trip through the binary format", parse_llvm(again),
              parse_llvm(text))


def llvm_weights(ll):
    """{(line, column): set of hot directions} of the conditional branches with
    branch_weights in the LLVM IR text LL."""
    locs = {m[0]: (int(m[1]), int(m[2])) for m in
            re.findall(r"^(![0-9]+) = !DILocation\(line: ([0-9]+), column: ([0-9]+)", ll, re.M)}
    weights = {m[0]: (int(m[1]), int(m[2])) for m in
               re.findall(r'^(![0-9]+) = !\{!"branch_weights", i32 ([0-9]+), i32 ([0-9]+)\}',
                          ll, re.M)}
    out = {}
    for m in re.finditer(r"br i1 [^\n]*!dbg (![0-9]+), !prof (![0-9]+)", ll):
        w = weights.get(m.group(2))
        # a branch run a few times has no hot side worth the name: main's, run once, gets
        # weights that are no counts (an even split from jump threading, 2^30 each, or off
        # by one with the instrumented profile), so sides within 1% of each other are even
        if m.group(1) in locs and w and sum(w) >= 10:
            even = abs(w[0] - w[1]) * 100 <= sum(w)
            out.setdefault(locs[m.group(1)], set()).add(0 if even else hot(w))
    return out


def hot(w):
    """1 if the first successor is the hotter one, -1 if the second, 0 if neither."""
    return (w[0] > w[1]) - (w[0] < w[1])


def same_hot_directions(a, b, what, at_least):
    """A and B ({(line, column): set of hot directions}) agree wherever both have branches."""
    keys = sorted(k for k in a if k in b)
    if len(keys) < at_least:
        raise AssertionError("%s: only %d branches to compare: %s / %s" % (what, len(keys), a, b))
    for k in keys:
        if a[k] != b[k]:
            raise AssertionError("%s: line %d col %d goes %r with cflow's profile, %r with the "
                                 "instrumented one" % (what, k[0], k[1], a[k], b[k]))
    if line("TEST") not in [k[0] for k in keys]:
        raise AssertionError("%s: the inlined test (line %d) was not compared: %s" %
                             (what, line("TEST"), keys))
    return keys


def instrumented_llvm_profile():
    """clang's instrumented PGO profile of the same workload (a native x86_64 run)."""
    need(PROFDATA)
    inst = build("pgo-instr", [CLANG, "-O2", "-fprofile-instr-generate"])
    raw = inst + ".profraw"
    ok(run([inst, str(ROUNDS)], env=dict(os.environ, LLVM_PROFILE_FILE=raw)), "instrumented run")
    data = inst + ".profdata"
    ok(run([PROFDATA, "merge", "-o", data, raw]), "profdata merge (instrumented)")
    return data


def make_clang_uses_test(arch):
    def t():
        """clang compiles with cflow's profile without a warning, and its branch weights go
        the way an instrumented profile's do (the loop, the inlined test)."""
        prof = llvm_profile(arch)
        cc = compiler(arch, "clang")
        quiet(cc + ["-Wall", "-fprofile-sample-use=" + prof, "-c", "-o", prof + ".o", PGO],
              "clang -fprofile-sample-use")
        sample_ll = prof + ".ll"
        quiet(cc + ["-fprofile-sample-use=" + prof, "-S", "-emit-llvm", "-o", sample_ll, PGO],
              "clang -emit-llvm (sample)")
        instr_ll = os.path.join(DIR, "pgo-%s-instr.ll" % arch)
        quiet(cc + ["-fprofile-instr-use=" + instrumented_llvm_profile(), "-S", "-emit-llvm",
                    "-o", instr_ll, PGO], "clang -emit-llvm (instrumented)")
        same_hot_directions(llvm_weights(open(sample_ll).read()),
                            llvm_weights(open(instr_ll).read()), arch, 2)
    t.__name__ = "export_autofdo_llvm_clang_uses_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    test(make_clang_uses_test(_arch))


def gcc_branches(dump):
    """{(line, column): set of hot directions} of the conditions of a GIMPLE dump with line
    numbers: the probability of the first (true) edge against one half."""
    out = {}
    for m in re.finditer(r"\[[^\]\n]*:([0-9]+):([0-9]+)\] if \([^\n]*\n\s*goto <bb [0-9]+>; "
                         r"\[([0-9.]+)%\]", dump):
        p = float(m.group(3))
        out.setdefault((int(m.group(1)), int(m.group(2))), set()).add(hot((p, 100 - p)))
    return out


def gcc_compile(arch, name, flags):
    """pgo.c compiled with FLAGS to DIR/NAME/pgo.o (quietly); its optimized GIMPLE dump."""
    d = os.path.join(DIR, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    quiet(compiler(arch, "gcc") + flags + ["-Wall", "-fdump-tree-optimized-lineno", "-c", PGO,
                                           "-o", os.path.join(d, "pgo.o")], "gcc " + name)
    dumps = [f for f in os.listdir(d) if f.endswith(".optimized")]
    assert_eq("GIMPLE dumps of " + name, len(dumps), 1)
    with open(os.path.join(d, dumps[0])) as f:
        return f.read()


def instrumented_gcc_dump(arch):
    """GCC's -fprofile-generate / -fprofile-use on the same workload (aarch64: run under
    qemu-aarch64), the -fprofile-use build's GIMPLE dump."""
    d = os.path.join(DIR, "gcc-instr-" + arch)
    data = d + ".gcda"
    shutil.rmtree(data, ignore_errors=True)
    gcc_compile(arch, "gcc-instr-" + arch, ["-O2", "-g", "-fprofile-generate=" + data])
    obj = os.path.join(d, "pgo.o")
    inst = os.path.join(d, "pgo")
    ok(run(compiler(arch, "gcc")[:1] + ["-fprofile-generate", "-o", inst, obj]), "link")
    prefix = [os.path.join(QEMU, "qemu-" + arch), "-L", SYSROOT[arch]] if arch in SYSROOT else []
    ok(run(prefix + [inst, str(ROUNDS)]), "instrumented run")
    return gcc_compile(arch, "gcc-instr-" + arch, ["-O2", "-g", "-fprofile-use=" + data])


def make_gcc_uses_test(arch):
    def t():
        """GCC 12 compiles with cflow's .afdo without a warning, and its branch probabilities
        go the way -fprofile-use's do (the loop, the inlined test)."""
        binary = build("pgo-%s-gcc" % arch, compiler(arch, "gcc"))
        prof = record_pgo("pgo-%s-gcc" % arch, binary, arch)
        afdo = export("autofdo-gcc", prof, binary + ".afdo")
        cflow = gcc_compile(arch, "gcc-afdo-" + arch, ["-O2", "-g", "-fauto-profile=" + afdo])
        same_hot_directions(gcc_branches(cflow), gcc_branches(instrumented_gcc_dump(arch)),
                            arch, 2)
    t.__name__ = "export_autofdo_gcc_uses_%s" % arch
    return t


for _arch in ("x86_64", "aarch64"):
    test(make_gcc_uses_test(_arch))


# ---------------------------------------------------------------------------------------------
# Bad input

def export_fails(prof, status, words, *args):
    """Both formats refuse PROF with exit STATUS, a message holding WORDS, and no output."""
    for fmt in ("autofdo-llvm", "autofdo-gcc"):
        out = os.path.join(DIR, "refused." + fmt)
        if os.path.exists(out):
            os.unlink(out)
        r = tool("export", fmt, prof, "-o", out, *args)
        assert_eq("%s: exit status" % fmt, r.returncode, status)
        for w in words:
            if w not in r.stderr:
                raise AssertionError("%s: %r not in the message: %s" % (fmt, w, r.stderr))
        if os.path.exists(out):
            raise AssertionError("%s wrote %s anyway" % (fmt, out))


@test
def export_autofdo_refuses_a_binary_without_debug_info():
    """A binary built without -g: an error naming it and the flag, not an empty profile."""
    binary = build("pgo-nodebug", ["gcc", "-O2"])
    export_fails(record_pgo("pgo-nodebug", binary, "x86_64"), 2,
                 [binary, "no debug line information", "-g"])


@test
def export_autofdo_refuses_another_build():
    """The binary rebuilt since the run (its code differs from the profile's bytes), and a
    --binary the run never executed: errors naming the file."""
    binary = build("pgo-rebuilt", ["gcc", "-O2", "-g"])
    prof = record_pgo("pgo-rebuilt", binary, "x86_64")
    build("pgo-rebuilt", ["gcc", "-O1", "-g", "-fno-inline"])
    export_fails(prof, 2, [binary, "is not the binary the profile was recorded from"])
    export_fails(prof, 1, ["no code of '/bin/true'"], "--binary", "/bin/true")


@test
def export_autofdo_refuses_a_stripped_library():
    """--binary naming a stripped shared library the run used: an error naming it."""
    d = os.path.join(DIR, "stripped")
    program = shlib(d)
    lib = os.path.join(d, "libcflowtest.so")
    ok(run(["strip", lib]), "strip")
    prof = record("shlib-stripped", [program], (), DIR)
    export_fails(prof, 2, [lib, "no debug line information"], "--binary", "libcflowtest.so")


# ---------------------------------------------------------------------------------------------
# Against llvm-profgen

def unsymbolized_profile(prof, binary, out):
    """llvm-profgen's unsymbolized input from the profile: every executed translation block as
    a range (first to last instruction), every taken branch, in the binary's link-time
    addresses (run-time less its load base, from meta.maps), code outside it left out."""
    data = as_json(prof)
    base = None
    for m in data["meta"]["maps"].splitlines():
        span, off, path = m.split(" ", 2)
        if os.path.realpath(path) == os.path.realpath(binary):
            start = int(span.split("-")[0], 16) - int(off, 16)
            base = start if base is None else min(base, start)
            end = int(span.split("-")[1], 16)
    if base is None:
        raise AssertionError("%s is not in the profile's maps" % binary)

    def inside(a):
        return base <= a < end
    ranges, branches = {}, {}
    for b in data["blocks"]:
        first, last = int(b["insns"][0], 16), int(b["insns"][-1], 16)
        if inside(first) and b["count"]:
            key = (first - base, last - base)
            ranges[key] = ranges.get(key, 0) + b["count"]
    for e in data["edges"]:
        frm, to = int(e["from"], 16), int(e["to"], 16)
        if e["kind"] == "branch" and inside(frm) and inside(to):
            branches[(frm - base, to - base)] = branches.get((frm - base, to - base), 0) + \
                e["count"]
    with open(out, "w") as f:
        f.write("%d\n" % len(ranges))
        f.writelines("%x-%x:%d\n" % (a, b, n) for (a, b), n in sorted(ranges.items()))
        f.write("%d\n" % len(branches))
        f.writelines("%x->%x:%d\n" % (a, b, n) for (a, b), n in sorted(branches.items()))
    return out


def comparable(top):
    """The counts both tools derive the same way: positions, call targets, heads, inlining.
    Left out: totals (llvm-profgen counts instruction bytes), positions with no count (it lists
    some; an absent position is 0 too) and offsets from line 0, code the compiler gave no line,
    which llvm-profgen writes as line 0 less the declaration's, in 16 bits."""
    def strip(p):
        return {"body": {k: v for k, v in p["body"].items() if v[0] and k[0] < 0x8000},
                "head": p["head"],
                "inlined": {k: strip(v) for k, v in p["inlined"].items()}}
    return {name: strip(p) for name, p in top.items()}


@test
def export_autofdo_llvm_agrees_with_llvm_profgen():
    """llvm-profgen-19, given the same ranges and branches (as its unsymbolized profile), makes
    the same profile of pgo.c's functions as cflow's export: every position, call target, head
    and inlined call site (x86_64; llvm-profgen refuses aarch64 in Debian's LLVM 14)."""
    need("llvm-profgen-19")
    binary = build("pgo-x86_64-clang", compiler("x86_64", "clang"))
    prof = record_pgo("pgo-x86_64-clang", binary, "x86_64")
    mine = parse_llvm(export("autofdo-llvm", prof, binary + ".prof"))
    raw = unsymbolized_profile(prof, binary, binary + ".unsymbolized")
    theirs_path = binary + ".profgen"
    ok(run(["llvm-profgen-19", "--binary", binary, "--unsymbolized-profile", raw,
            "--use-offset=0", "--output", theirs_path, "--format=text"]), "llvm-profgen")
    theirs = parse_llvm(theirs_path)
    # main is called from libc, whose code is not in the ranges: no head for llvm-profgen
    mine["main"]["head"] = 0
    functions = ["work", "op_add", "op_mul", "op_neg", "halve", "main"]
    assert_eq("the functions' profiles (llvm-profgen, then cflow)",
              comparable({f: theirs[f] for f in functions if f in theirs}),
              comparable({f: mine[f] for f in functions}))


@test
def export_autofdo_help():
    """export --help says the flags for a good profile and the compilers' options (a damaged
    profile: test_tool_cli.py's export_help_and_exit_codes, for every format)."""
    r = ok(tool("export", "--help"), "export --help")
    for want in ("autofdo-llvm", "autofdo-gcc", "-fprofile-sample-use=", "-fauto-profile=",
                 "-fdebug-info-for-profiling", "-fsample-profile-use-profi",
                 "llvm-profdata merge --sample", "never reached"):
        if want not in r.stdout:
            raise AssertionError("export --help lacks %r" % want)
