#!/usr/bin/python3
"""
bench/afdo_zeros.py: an LLVM text sample profile (cflow export autofdo-llvm) with every source
position of the functions it holds listed, those that never ran at 0 (bench/pgo_e2e.py's lever
"zeros+profi").

    bench/afdo_zeros.py BINARY PROFILE OUT

clang reads a position a sample profile lacks as unknown, not as never executed: a branch
whose successors have no listed position gets no direction. An exact profile can say more than
a sampled one: every position of a function that ran, with code in the binary, and no count,
ran 0 times. This adds those positions (from the binary's line table, each address's inline
chain by llvm-symbolizer-19, the base discriminator as cflow's export reads it), in the
function or inlined call site the profile already has; call sites the profile lacks (inlined
code that never ran) and offsets beyond 16 bits are left out. Counts and totals are unchanged.
A bench-side measurement of what the export could do itself.
"""
import re
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


def add_zeros(tops, binary):
    """Adds the unexecuted positions to tops; returns how many."""
    added = 0
    for frames in inline_chains(binary):
        node = tops.get(frames[-1]["name"])
        for caller, callee in zip(frames[:0:-1], frames[-2::-1]):
            key = position_key(caller)
            node = node and key and node["calls"].get((key, callee["name"]))
        key = position_key(frames[0])
        if node and key and key not in node["pos"] and \
                not any(k == key for k, _ in node["calls"]):
            node["pos"][key] = key + ": 0"
            added += 1
    return added


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
    if len(sys.argv) != 4:
        raise SystemExit("usage: afdo_zeros.py BINARY PROFILE OUT")
    binary, profile, out = sys.argv[1:]
    tops = read_profile(profile)
    added = add_zeros(tops, binary)
    write_profile(tops, out)
    print("%s: %d positions that never ran added at 0" % (out, added))


if __name__ == "__main__":
    main()
