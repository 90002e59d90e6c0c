#!/usr/bin/python3
"""
bench/afdo_zeros.py: an AutoFDO profile (cflow export autofdo-llvm or autofdo-gcc) with every
source position of the functions it holds listed, those that never ran at 0 (bench/pgo_e2e.py's
levers "zeros+profi" and, for GCC, "zeros").

    bench/afdo_zeros.py BINARY PROFILE OUT          (LLVM's text profile)
    bench/afdo_zeros.py --gcc BINARY PROFILE OUT    (GCC's .afdo, cflow export autofdo-gcc)

clang reads a position a sample profile lacks as unknown, not as never executed (GCC leaves a
block no position names unannotated, for its propagation to fill): a branch
whose successors have no listed position gets no direction. An exact profile can say more than
a sampled one: every position of a function that ran, with code in the binary, and no count,
ran 0 times. This adds those positions (from the binary's line table, each address's inline
chain by llvm-symbolizer-19, the base discriminator as cflow's export reads it), in the
function or inlined call site the profile already has; call sites the profile lacks (inlined
code that never ran) and offsets beyond 16 bits are left out. Counts and totals are unchanged.
A bench-side measurement of what the export could do itself.
"""
import re
import struct
import subprocess
import sys


def base_discriminator(d):
    """clang's base discriminator of DWARF discriminator d (tool/autofdo-dwarf.c's reading)."""
    if d & 1:
        return 0
    d >>= 1
    return ((d >> 1) & 0xfe0) | (d & 0x1f) if d & 0x20 else d & 0x1f


def read_profile(path):
    """{top-level name: node}; a node: header line, positions {key: line}, call sites
    {(key, callee): node}, keys as the file writes them (OFFSET or OFFSET.DISC)."""
    tops, stack = {}, []
    with open(path) as f:
        for line in f:
            depth = len(line) - len(line.lstrip(" "))
            body = line.strip()
            if depth == 0:
                stack = [{"header": body, "pos": {}, "calls": {}}]
                tops[body.rsplit(":", 2)[0]] = stack[0]
                continue
            del stack[depth:]
            key, rest = body.split(": ", 1)
            callee = re.match(r"([^\s:0-9][^\s:]*):[0-9]+$", rest)
            if callee:
                node = {"header": body, "pos": {}, "calls": {}}
                stack[-1]["calls"][(key, callee.group(1))] = node
                stack.append(node)
            else:
                stack[-1]["pos"][key] = body
    return tops


def position_key(frame):
    """The frame's position in its function, or None if 16 bits cannot hold its offset."""
    offset = frame["line"] - frame["start"]
    if offset < 0 or offset > 0xffff:
        return None
    d = base_discriminator(frame["disc"])
    return "%d.%d" % (offset, d) if d else "%d" % offset


def inline_chains(binary):
    """Each line-table address's frames, innermost first: name, line, start line, discriminator."""
    table = subprocess.run(["llvm-dwarfdump-19", "--debug-line", binary], capture_output=True,
                           text=True, check=True).stdout
    addresses = sorted({int(m.group(1), 16) for m in re.finditer(
        r"^0x([0-9a-f]+)\s+([0-9]+)\s", table, re.M) if m.group(2) != "0"})
    out = subprocess.run(["llvm-symbolizer-19", "--obj=" + binary, "--inlining", "--verbose"],
                         input="".join("0x%x\n" % a for a in addresses), capture_output=True,
                         text=True, check=True).stdout
    for block in out.split("\n\n"):
        frames = []
        for m in re.finditer(r"^(\S+)\n((?:  .*\n?)*)", block, re.M):
            fields = dict(re.findall(r"^  (Function start line|Line|Discriminator): ([0-9]+)",
                                     m.group(2), re.M))
            if "Function start line" not in fields:
                break
            frames.append({"name": m.group(1), "line": int(fields.get("Line", 0)),
                           "start": int(fields["Function start line"]),
                           "disc": int(fields.get("Discriminator", 0))})
        else:
            if frames:
                yield frames


def gcc_key(frame):
    """The frame's position as GCC 12 keys it (line offset << 16, no discriminator)."""
    offset = frame["line"] - frame["start"]
    return offset << 16 if 0 <= offset <= 0xffff else None


def add_zeros(tops, binary, key_of, zero):
    """Adds the unexecuted positions to tops (key_of: a frame's key, zero: the position's
    record at 0); returns how many."""
    added = 0
    for frames in inline_chains(binary):
        node = tops.get(frames[-1]["name"])
        for caller, callee in zip(frames[:0:-1], frames[-2::-1]):
            key = key_of(caller)
            node = node and key is not None and node["calls"].get((key, callee["name"]))
        key = key_of(frames[0])
        if node and key is not None and key not in node["pos"] and \
                not any(k == key for k, _ in node["calls"]):
            node["pos"][key] = zero(key)
            added += 1
    return added


class Gcov:
    """GCC's .afdo (tool/export-autofdo-gcc.c states the layout): little-endian u32 words, u64
    as two; the names section is kept as read."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def u32(self):
        self.at += 4
        return struct.unpack_from("<I", self.data, self.at - 4)[0]

    def u64(self):
        return self.u32() | self.u32() << 32


def read_afdo(path):
    """(the bytes before the functions section, {top-level name: node}); a node's positions
    {location: (count, targets)}, its call sites {(location, callee name): node}."""
    with open(path, "rb") as f:
        g = Gcov(f.read())
    if (g.u32(), g.u32(), g.u32(), g.u32()) != (0x67636461, 2, 0, 0xaa000000):
        raise SystemExit("%s: not a version 2 AutoFDO profile" % path)
    g.u32()
    names = []
    for _ in range(g.u32()):
        n = g.u32()
        names.append(g.data[g.at:g.at + n - 1].decode())
        g.at += n
    prefix = g.data[:g.at]
    if g.u32() != 0xac000000:
        raise SystemExit("%s: no functions section after the names" % path)
    g.u32()

    def function():
        node = {"name": g.u32(), "pos": {}, "calls": {}}
        positions, calls = g.u32(), g.u32()
        for _ in range(positions):
            loc, targets, count = g.u32(), g.u32(), g.u64()
            node["pos"][loc] = (count, [(g.u32(), g.u64(), g.u64()) for _ in range(targets)])
        for _ in range(calls):
            loc = g.u32()
            callee = function()
            node["calls"][(loc, names[callee["name"]])] = callee
        return node
    tops = {}
    for _ in range(g.u32()):
        head = g.u64()
        node = function()
        node["head"] = head
        tops[names[node["name"]]] = node
    return prefix, tops


def write_afdo(prefix, tops, path):
    words = []

    def function(node):
        words.extend([node["name"], len(node["pos"]), len(node["calls"])])
        for loc in sorted(node["pos"]):
            count, targets = node["pos"][loc]
            words.extend([loc, len(targets), count & 0xffffffff, count >> 32])
            for kind, name, calls in targets:
                words.extend([kind, name & 0xffffffff, name >> 32, calls & 0xffffffff,
                              calls >> 32])
        for (loc, _), callee in node["calls"].items():
            words.append(loc)
            function(callee)
    words.append(len(tops))
    for node in tops.values():
        words.extend([node["head"] & 0xffffffff, node["head"] >> 32])
        function(node)
    body = struct.pack("<%dI" % len(words), *words)
    with open(path, "wb") as f:
        f.write(prefix + struct.pack("<II", 0xac000000, len(body)) + body +
                struct.pack("<III", 0xae000000, 0, 0))


def write_profile(tops, path):
    def body(node, depth, f):
        for key in sorted(node["pos"], key=lambda k: [int(x) for x in k.split(".")]):
            f.write(" " * depth + node["pos"][key] + "\n")
        for callee in node["calls"].values():
            f.write(" " * depth + callee["header"] + "\n")
            body(callee, depth + 1, f)
    with open(path, "w") as f:
        for node in tops.values():
            f.write(node["header"] + "\n")
            body(node, 1, f)


def main():
    args = sys.argv[1:]
    gcc = args[:1] == ["--gcc"]
    if len(args) != 3 + gcc:
        raise SystemExit("usage: afdo_zeros.py [--gcc] BINARY PROFILE OUT")
    binary, profile, out = args[gcc:]
    if gcc:
        prefix, tops = read_afdo(profile)
        added = add_zeros(tops, binary, gcc_key, lambda key: (0, []))
        write_afdo(prefix, tops, out)
    else:
        tops = read_profile(profile)
        added = add_zeros(tops, binary, position_key, lambda key: key + ": 0")
        write_profile(tops, out)
    print("%s: %d positions that never ran added at 0" % (out, added))


if __name__ == "__main__":
    main()
