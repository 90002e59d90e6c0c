#!/usr/bin/python3
"""
bench/tool_bench.py BUILDDIR [--edges N] [--profiles K] [--keep]: how the cflow tool scales
(`make bench-tool`). Not a test: it prints times and peak memory.

  1. report (and check: loading alone) of one generated profile with N distinct edges
     (default 10,000,000: 1,000,000 instructions with 10 edges each);
  2. merge of K generated profiles (default 100) of 100,000 edges each, over a common
     instruction set with different counts and partly different edges.

Each command runs once under /usr/bin/time; the figures are its wall time and maximum
resident set size. Profiles are written straight in the binary format
(docs/profile-format.md) into BUILDDIR/bench-tool and removed afterwards unless --keep.
"""
import argparse
import array
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

HEADER = 32
ENTRY = 32
META, STRINGS, INSNS, EDGES, BLOCKS, BLOCK_INSNS = 1, 2, 3, 4, 5, 6


def write_profile(path, n_insns, edges_per_insn, seed, meta):
    """Instructions 0x400000 + 4i; edges i -> 0x400000 + 4 * ((i * 7 + k * 131 + seed) mod n)
    with k < edges_per_insn, all distinct; one block per 4 instructions."""
    pool = bytearray(b"\0")
    offsets = {}

    def intern(s):
        if s not in offsets:
            offsets[s] = len(pool)
            pool.extend(s.encode() + b"\0")
        return offsets[s]
    meta_rec = array.array("I")
    for k, v in meta.items():
        meta_rec.extend((intern(k), intern(v)))
    nop, sym = intern("nop"), intern("f")
    sections = []  # (type, chunks-producing function, count)

    def insns():
        for start in range(0, n_insns, 100000):
            a = array.array("I")
            for i in range(start, min(n_insns, start + 100000)):
                addr = 0x400000 + 4 * i
                a.extend((addr & 0xffffffff, addr >> 32, 4, 0, nop, sym))
            yield a.tobytes()

    def edges():
        for start in range(0, n_insns, 20000):
            a = array.array("I")
            for i in range(start, min(n_insns, start + 20000)):
                for k in range(edges_per_insn):
                    to = 0x400000 + 4 * ((i * 7 + k * 131 + seed) % n_insns)
                    count = 1 + (i * 2654435761 + k * 40503 + seed) % 100000
                    a.extend((i, k % 2, to & 0xffffffff, to >> 32, count & 0xffffffff, 0))
            yield a.tobytes()

    def blocks():
        for start in range(0, n_insns // 4, 100000):
            a = array.array("I")
            for b in range(start, min(n_insns // 4, start + 100000)):
                addr = 0x400000 + 16 * b
                count = 1 + (b * 31 + seed) % 1000
                a.extend((addr & 0xffffffff, addr >> 32, count, 0, 4 * b, 4))
            yield a.tobytes()

    def block_insns():
        yield array.array("I", range(4 * (n_insns // 4))).tobytes()

    sections = [(META, lambda: iter([meta_rec.tobytes()]), len(meta) , 8),
                (INSNS, insns, n_insns, 24),
                (EDGES, edges, n_insns * edges_per_insn, 24),
                (BLOCKS, blocks, n_insns // 4, 24),
                (BLOCK_INSNS, block_insns, 4 * (n_insns // 4), 4),
                (STRINGS, lambda: iter([bytes(pool)]), len(pool), 1)]
    h = HEADER + ENTRY * len(sections)
    table = []
    with open(path, "wb") as f:
        f.write(b"\0" * h)
        off = h
        for typ, gen, count, size in sections:
            pad = (-off) % 8
            f.write(b"\0" * pad)
            off += pad
            crc, length = 0, 0
            for chunk in gen():
                f.write(chunk)
                crc = zlib.crc32(chunk, crc)
                length += len(chunk)
            assert length == count * size, (typ, length, count, size)
            table.append(struct.pack("<IIQQQ", typ, crc, off, length, count))
            off += length
        head = b"CFLOWPRF" + struct.pack("<IIQII", 1, len(sections), off, 0, 0) + b"".join(table)
        crc = zlib.crc32(head)
        head = head[:28] + struct.pack("<I", crc) + head[32:]
        f.seek(0)
        f.write(head)


def timed(cmd):
    """(seconds, peak MiB) of one run of cmd, from /usr/bin/time."""
    t = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if t.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), t.stderr))
    secs, kib = t.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kib) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--profiles", type=int, default=100)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tool = os.path.join(args.build, "tool", "cflow")
    work = os.path.join(args.build, "bench-tool")
    os.makedirs(work, exist_ok=True)
    meta = {"arch": "x86_64", "guest": "/bench/generated", "mode": "user"}

    big = os.path.join(work, "big.cflow")
    t0 = time.time()
    write_profile(big, args.edges // 10, 10, 0, meta)
    print("generated %s: %d edges, %.0f MiB, in %.0f s" %
          (big, args.edges, os.path.getsize(big) / 2**20, time.time() - t0), flush=True)
    rows = []
    for what, cmd in (("check (load only)", [tool, "check", big]),
                      ("report (hottest, top 10)", [tool, "report", big]),
                      ("report --sort=edges", [tool, "report", "--sort=edges", big]),
                      ("report --sort=bias", [tool, "report", "--sort=bias", big])):
        s, m = timed(cmd)
        rows.append((what + ", %d M edges" % (args.edges // 1_000_000), s, m))
        print("  %-40s %7.2f s %8.0f MiB" % rows[-1], flush=True)

    paths = []
    t0 = time.time()
    for k in range(args.profiles):
        p = os.path.join(work, "run%03d.cflow" % k)
        # 10,000 instructions x 10 edges; seeds 0..9 give 10 distinct edge sets
        write_profile(p, 10000, 10, k % 10, meta)
        paths.append(p)
    print("generated %d profiles of 100,000 edges in %.0f s" % (args.profiles,
                                                               time.time() - t0), flush=True)
    out = os.path.join(work, "merged.cflow")
    s, m = timed([tool, "merge", "-o", out] + paths)
    rows.append(("merge of %d profiles x 100,000 edges" % args.profiles, s, m))
    print("  %-40s %7.2f s %8.0f MiB" % rows[-1], flush=True)
    s1, m1 = timed([tool, "merge", "-o", out, paths[0]])
    rows.append(("merge of 1 profile (for comparison)", s1, m1))
    print("  %-40s %7.2f s %8.0f MiB" % rows[-1], flush=True)
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
