#!/usr/bin/env python3
"""Build a cflow-style JSON profile from QEMU's own logs, without the plugin.

A cross-check for the .expect files: it shows the translation blocks QEMU really forms.

    qemu-ARCH -d in_asm,exec,nochain -D LOG BINARY
    qemu_log_profile.py LOG BINARY --arch ARCH [--fault LABEL]... [--handler LABEL]... > P.json
    check_expect.py P.json BINARY EXPECT

`in_asm` gives each block's instructions, `exec` with `nochain` one line per block executed.
Between two consecutive blocks A and B the edge is (last insn of A -> start of B), a
fallthrough if B starts right after it, else a branch, except that when B is a --handler
entry and A holds a --fault instruction, the edge starts at that instruction: early-exit if it
is not A's last instruction, exception if it is (e.g. ud2). Instruction sizes come from objdump.
"""

import argparse
import json
import re
import subprocess
import sys

PREFIX = {"x86_64": "", "aarch64": "aarch64-linux-gnu-", "riscv64": "riscv64-linux-gnu-"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log")
    ap.add_argument("binary")
    ap.add_argument("--arch", required=True, choices=sorted(PREFIX))
    ap.add_argument("--fault", action="append", default=[], help="label of a faulting insn")
    ap.add_argument("--handler", action="append", default=[], help="label of a handler entry")
    args = ap.parse_args()
    prefix = PREFIX[args.arch]

    syms = {}
    nm = subprocess.run([prefix + "nm", args.binary], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            syms[f[2]] = int(f[0], 16)
    sizes = {}
    dump = subprocess.run([prefix + "objdump", "-d", "--insn-width=16", args.binary],
                          capture_output=True, text=True, check=True)
    for line in dump.stdout.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\t([0-9a-f ]+)\t", line)
        if m:
            sizes[int(m.group(1), 16)] = len(m.group(2).replace(" ", "")) // 2
    faults = {syms[x] for x in args.fault}
    handlers = {syms[x] for x in args.handler}

    blocks, current, trace = {}, None, []
    with open(args.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                current = []
                continue
            m = re.match(r"^0x([0-9a-f]+):", line)
            if m and current is not None:
                current.append(int(m.group(1), 16))
                continue
            m = re.match(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/", line)
            if m:
                if current:
                    blocks[current[0]] = current
                current = None
                trace.append(int(m.group(1), 16))

    edges = {}
    for a, b in zip(trace, trace[1:]):
        insns = blocks[a]
        hit = [i for i in insns if i in faults] if b in handlers else []
        if hit:
            src = hit[0]
            kind = "exception" if src == insns[-1] else "early-exit"
        else:
            src = insns[-1]
            kind = "fallthrough" if b == src + sizes[src] else "branch"
        edges[(src, b, kind)] = edges.get((src, b, kind), 0) + 1

    json.dump({"meta": {"source": "qemu log"}, "blocks": [],
               "edges": [{"from": hex(s), "to": hex(t), "kind": k, "count": c}
                         for (s, t, k), c in sorted(edges.items())],
               "insns": [{"addr": hex(s), "size": sizes.get(s, 0)}
                         for s in sorted({k[0] for k in edges})]},
              sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
