#!/usr/bin/env python3
"""Check a cflow profile (JSON form) against a guest program's expected edges.

    check_expect.py PROFILE.json BINARY EXPECT [--nm NM]
    check_expect.py --self-test

PROFILE.json is `cflow` JSON output: {"meta": {...}, "edges": [{"from": "0x...", "to": "0x...",
"kind": "branch", "count": N, ...}], "insns": [{"addr": "0x...", ...}], "blocks": [...]}.
Edges with the same from/to/kind (e.g. different from_generation) are summed.

EXPECT has one item a line; `#` starts a comment:

    <kind> <from> <to> <count>     the edge (from, to, kind) must have exactly this count
                                   (0 means: must be absent)
    complete <start> <end>         every edge of the profile whose `from` lies in [start, end)
                                   must be listed in this file (no spurious edges)

An address is a symbol of BINARY (resolved with nm), optionally `+N` / `-N` bytes (decimal or
0x hex), or a literal 0x... address. nm is the one for the binary's architecture
(nm, aarch64-linux-gnu-nm, riscv64-linux-gnu-nm), or --nm; if that is not installed, the ELF
symbol table is read directly.

Besides, every edge's `from` must have an entry in "insns".

Prints one line per failed check and exits 1 if any failed; 0 if all passed; 2 on bad input
(unreadable profile, malformed EXPECT, unknown symbol).
"""

import argparse
import json
import shutil
import struct
import subprocess
import sys

KINDS = ("branch", "fallthrough", "exception", "interrupt", "hostcall", "early-exit")

# ELF e_machine -> the nm that reads it
NM_FOR_MACHINE = {
    62: "nm",                      # EM_X86_64
    183: "aarch64-linux-gnu-nm",   # EM_AARCH64
    243: "riscv64-linux-gnu-nm",   # EM_RISCV
}


class InputError(Exception):
    """Bad input: the check cannot be made at all."""


# ---------------------------------------------------------------------------------------------
# Symbols


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise InputError(f"{path}: not an ELF file")
    endian = "<" if head[5] == 1 else ">"
    return struct.unpack_from(endian + "H", head, 18)[0]


def parse_nm_output(text):
    """name -> address for every defined symbol in `nm` output (ambiguous names -> None)."""
    symbols = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue  # undefined symbols have no address
        try:
            addr = int(fields[0], 16)
        except ValueError:
            continue
        name = fields[2]
        if name in symbols and symbols[name] != addr:
            symbols[name] = None
        else:
            symbols[name] = addr
    return symbols


def read_elf_symbols(path):
    """name -> address from the ELF .symtab, for when no suitable nm is installed."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise InputError(f"{path}: not a 64-bit ELF file")
    e = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", data, 0x28)
    shentsize, shnum = struct.unpack_from(e + "HH", data, 0x3A)
    sections = []
    for i in range(shnum):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...
        sections.append(struct.unpack_from(e + "IIQQQQII", data, shoff + i * shentsize))
    symbols = {}
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        str_off = strtab[4]
        for off in range(sh[4], sh[4] + sh[5], 24):
            st_name, st_info, _other, st_shndx, st_value, _size = struct.unpack_from(
                e + "IBBHQQ", data, off)
            if st_name == 0 or st_shndx == 0 or (st_info & 0xF) in (3, 4):
                continue  # unnamed, undefined, section or file symbols
            end = data.index(b"\0", str_off + st_name)
            name = data[str_off + st_name:end].decode("utf-8", "replace")
            if name.startswith("$"):
                continue  # mapping symbols ($x, $d), which nm does not list either
            if name in symbols and symbols[name] != st_value:
                symbols[name] = None
            else:
                symbols[name] = st_value
    return symbols


def load_symbols(binary, nm=None):
    if nm is None:
        nm = NM_FOR_MACHINE.get(elf_machine(binary))
        if nm is None or shutil.which(nm) is None:
            return read_elf_symbols(binary)
    try:
        out = subprocess.run([nm, binary], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise InputError(f"cannot run {nm} on {binary}: {exc}") from exc
    return parse_nm_output(out)


class Symbolizer:
    """Addresses <-> names."""

    def __init__(self, symbols):
        self.symbols = symbols
        self.by_addr = sorted((a, n) for n, a in symbols.items()
                              if a is not None and not n.startswith(("$", ".L")))

    def resolve(self, ref):
        if ref.lower().startswith("0x"):
            try:
                return int(ref, 16)
            except ValueError:
                raise InputError(f"bad address '{ref}'") from None
        name, offset = ref, 0
        for sign in ("+", "-"):
            if sign in ref[1:]:
                cut = ref.index(sign, 1)
                name, off_text = ref[:cut], ref[cut + 1:]
                try:
                    offset = int(off_text, 0)
                except ValueError:
                    raise InputError(f"bad offset in '{ref}'") from None
                if sign == "-":
                    offset = -offset
                break
        if name not in self.symbols:
            raise InputError(f"unknown symbol '{name}'")
        if self.symbols[name] is None:
            raise InputError(f"ambiguous symbol '{name}' (several addresses)")
        return self.symbols[name] + offset

    def name(self, addr):
        """`label+0xN (0xADDR)` for messages."""
        lo, hi = 0, len(self.by_addr)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.by_addr[mid][0] <= addr:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return f"{addr:#x}"
        base, name = self.by_addr[lo - 1]
        # prefer a non-underscore name among several at the same address
        same = [n for a, n in self.by_addr if a == base]
        name = next((n for n in same if not n.startswith("_")), name)
        label = name if addr == base else f"{name}+{addr - base:#x}"
        return f"{label} ({addr:#x})"


# ---------------------------------------------------------------------------------------------
# Profile and expectations


def to_int(value, what):
    if isinstance(value, bool):
        raise InputError(f"bad {what}: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise InputError(f"bad {what}: {value!r}")


def summarize_profile(profile):
    """({(from, to, kind): count}, {insn addresses}) from a profile dict."""
    if not isinstance(profile, dict) or not isinstance(profile.get("edges"), list):
        raise InputError("profile has no \"edges\" list")
    edges = {}
    for e in profile["edges"]:
        try:
            key = (to_int(e["from"], "edge from"), to_int(e["to"], "edge to"), str(e["kind"]))
            count = to_int(e["count"], "edge count")
        except (KeyError, TypeError) as exc:
            raise InputError(f"malformed edge {e!r}") from exc
        edges[key] = edges.get(key, 0) + count
    insns = set()
    for i in profile.get("insns") or []:
        try:
            insns.add(to_int(i["addr"], "insn addr"))
        except (KeyError, TypeError) as exc:
            raise InputError(f"malformed insn {i!r}") from exc
    return edges, insns


def parse_expect(text):
    """([(line, kind, from, to, count)], [(line, start, end)]) with unresolved references."""
    edges, regions = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "complete":
            if len(fields) != 3:
                raise InputError(f"line {lineno}: expected 'complete <start> <end>'")
            regions.append((lineno, fields[1], fields[2]))
            continue
        if len(fields) != 4:
            raise InputError(f"line {lineno}: expected '<kind> <from> <to> <count>'")
        kind, src, dst, count = fields
        if kind not in KINDS:
            raise InputError(f"line {lineno}: unknown edge kind '{kind}'")
        try:
            count = int(count, 0)
        except ValueError:
            raise InputError(f"line {lineno}: bad count '{count}'") from None
        if count < 0:
            raise InputError(f"line {lineno}: negative count")
        edges.append((lineno, kind, src, dst, count))
    return edges, regions


def check(profile, symbols, expect_text):
    """Runs every check; returns (failure lines, number of checks)."""
    sym = Symbolizer(symbols)
    actual, insns = summarize_profile(profile)
    exp_edges, exp_regions = parse_expect(expect_text)

    expected = {}
    for lineno, kind, src, dst, count in exp_edges:
        try:
            key = (sym.resolve(src), sym.resolve(dst), kind)
        except InputError as exc:
            raise InputError(f"line {lineno}: {exc}") from None
        if key in expected:
            raise InputError(f"line {lineno}: edge {kind} {src} -> {dst} listed twice")
        expected[key] = (count, f"{kind} {src} -> {dst}")

    failures = []
    checks = 0
    for key, (count, text) in expected.items():
        checks += 1
        got = actual.get(key, 0)
        if got != count:
            failures.append(f"edge {text}: expected {count}, got {got}")

    for lineno, start_ref, end_ref in exp_regions:
        checks += 1
        try:
            start, end = sym.resolve(start_ref), sym.resolve(end_ref)
        except InputError as exc:
            raise InputError(f"line {lineno}: {exc}") from None
        if start >= end:
            raise InputError(f"line {lineno}: empty region {start_ref}..{end_ref}")
        for (src, dst, kind), count in sorted(actual.items()):
            if start <= src < end and count != 0 and (src, dst, kind) not in expected:
                failures.append(
                    f"unexpected edge in complete region {start_ref}..{end_ref}: {kind} "
                    f"{sym.name(src)} -> {sym.name(dst)}: expected none, got {count}")

    for src in sorted({k[0] for k in actual}):
        checks += 1
        if src not in insns:
            failures.append(f"edge source {sym.name(src)} has no entry in insns")
    return failures, checks


# ---------------------------------------------------------------------------------------------
# Self-test


def self_test():
    symbols = parse_nm_output(
        "0000000000401000 T _start\n"
        "0000000000401004 T top\n"
        "0000000000401008 T br\n"
        "000000000040100a T after\n"
        "0000000000401010 T end\n"
        "                 U undefined_thing\n")
    assert symbols == {"_start": 0x401000, "top": 0x401004, "br": 0x401008,
                       "after": 0x40100A, "end": 0x401010}, symbols

    def prof(edges, insns=(0x401008,)):
        return {"meta": {}, "blocks": [],
                "edges": [{"from": hex(f), "to": hex(t), "kind": k, "count": c,
                           "from_generation": g} for f, t, k, c, g in edges],
                "insns": [{"addr": hex(a), "size": 2, "disas": "x", "symbol": "s"}
                          for a in insns]}

    expect = ("# comment\n"
              "complete _start end\n"
              "branch br top 5   # loop\n"
              "fallthrough br after 1\n"
              "early-exit top+2 0x401010 0\n")
    good = prof([(0x401008, 0x401004, "branch", 3, 0), (0x401008, 0x401004, "branch", 2, 1),
                 (0x401008, 0x40100A, "fallthrough", 1, 0)])
    failures, n = check(good, symbols, expect)
    assert failures == [] and n == 5, (failures, n)

    bad_count = prof([(0x401008, 0x401004, "branch", 4, 0),
                      (0x401008, 0x40100A, "fallthrough", 1, 0)])
    failures, _ = check(bad_count, symbols, expect)
    assert failures == ["edge branch br -> top: expected 5, got 4"], failures

    missing = prof([(0x401008, 0x401004, "branch", 5, 0)])
    failures, _ = check(missing, symbols, expect)
    assert failures == ["edge fallthrough br -> after: expected 1, got 0"], failures

    spurious = prof([(0x401008, 0x401004, "branch", 5, 0),
                     (0x401008, 0x40100A, "fallthrough", 1, 0),
                     (0x401006, 0x401008, "fallthrough", 5, 0),
                     (0x401010, 0x401000, "branch", 1, 0)],  # outside: end is exclusive
                    insns=(0x401008, 0x401006, 0x401010))
    failures, _ = check(spurious, symbols, expect)
    assert failures == ["unexpected edge in complete region _start..end: fallthrough "
                        "top+0x2 (0x401006) -> br (0x401008): expected none, got 5"], failures

    should_be_absent = prof([(0x401008, 0x401004, "branch", 5, 0),
                             (0x401008, 0x40100A, "fallthrough", 1, 0),
                             (0x401006, 0x401010, "early-exit", 2, 0)],
                            insns=(0x401008, 0x401006))
    failures, _ = check(should_be_absent, symbols, expect)
    assert failures == ["edge early-exit top+2 -> 0x401010: expected 0, got 2"], failures

    no_insn = prof([(0x401008, 0x401004, "branch", 5, 0),
                    (0x401008, 0x40100A, "fallthrough", 1, 0)], insns=())
    failures, _ = check(no_insn, symbols, expect)
    assert failures == ["edge source br (0x401008) has no entry in insns"], failures

    for bad in ("branch nosuch top 1\n", "jump br top 1\n", "branch br top\n",
                "branch br top x\n", "complete end _start\n",
                "branch br top 1\nbranch br top 2\n"):
        try:
            check(good, symbols, bad)
        except InputError:
            pass
        else:
            raise AssertionError(f"accepted bad expectation {bad!r}")

    sym = Symbolizer(symbols)
    assert sym.resolve("top+0x4") == 0x401008 and sym.resolve("after-2") == 0x401008
    assert sym.resolve("0x1234") == 0x1234
    assert sym.name(0x401009) == "br+0x1 (0x401009)"
    print("check_expect.py: self-test passed")
    return 0


# ---------------------------------------------------------------------------------------------


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile", nargs="?", help="profile in JSON form")
    ap.add_argument("binary", nargs="?", help="the guest program (for its symbols)")
    ap.add_argument("expect", nargs="?", help="the expectation file")
    ap.add_argument("--nm", help="nm to use (default: by the binary's architecture)")
    ap.add_argument("--self-test", action="store_true", help="check this script and exit")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    if not (args.profile and args.binary and args.expect):
        ap.error("PROFILE, BINARY and EXPECT are required")
    try:
        with open(args.profile, encoding="utf-8") as f:
            profile = json.load(f)
        with open(args.expect, encoding="utf-8") as f:
            expect_text = f.read()
        symbols = load_symbols(args.binary, args.nm)
        failures, checks = check(profile, symbols, expect_text)
    except (OSError, ValueError, InputError) as exc:
        print(f"check_expect.py: {args.expect}: {exc}", file=sys.stderr)
        return 2
    for line in failures:
        print(f"FAIL {args.expect}: {line}")
    if failures:
        print(f"check_expect.py: {len(failures)} of {checks} checks failed")
        return 1
    print(f"check_expect.py: {args.expect}: all {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
