#!/usr/bin/python3
"""
bench/tool_names.py BUILDDIR [--seconds S]: how fast the tool names the code of a real run
(`make bench-names`). Not a test: it prints times.

A python3 loop runs under the project's qemu-x86_64 with the plugin writing a dump every
second (python3 has no DWARF: its names come from the ELF symbol table; the C library's from
its debug information where installed). Meanwhile `cflow top` follows the dumps in a
pseudo-terminal, and the CPU time it spends per dump after its first screen is measured; at
the end `cflow report --by function` of the last dump is timed.
"""
import argparse
import os
import pty
import select
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def follow(tool, path, qemu):
    """CPU seconds cflow top spent per new dump after the first four seconds, and the dumps."""
    master, slave = pty.openpty()
    top = subprocess.Popen([tool, "top", path], stdin=slave, stdout=slave, stderr=slave,
                           close_fds=True)
    os.close(slave)
    seen, start, begun = set(), None, time.monotonic()
    while qemu.poll() is None:
        if select.select([master], [], [], 0.05)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                break
        try:
            seen.add(os.stat(path).st_ino)
        except FileNotFoundError:
            pass
        if start is None and time.monotonic() - begun > 4:
            start = (cpu_seconds(top.pid), len(seen))
    end = cpu_seconds(top.pid)
    os.write(master, b"q")
    top.wait(timeout=60)
    os.close(master)
    dumps = len(seen) - start[1]
    return (end - start[0]) / max(dumps, 1), dumps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seconds", type=int, default=14)
    args = ap.parse_args()
    tool = os.path.join(args.build, "tool", "cflow")
    plugin = os.path.join(args.build, "libcflow.so")
    qemu_bin = os.path.join(TOP, ".deps", "qemu", "bin", "qemu-x86_64")
    work = os.path.join(args.build, "bench-names")
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "live.cflow")
    if os.path.exists(path):
        os.unlink(path)
    loop = "import time\nt = time.time()\nwhile time.time() - t < %d: sum(range(1000))" % (
        args.seconds)
    qemu = subprocess.Popen([qemu_bin, "-plugin", plugin + ",report=off,dump=1,output=" + path,
                             "/usr/bin/python3", "-c", loop], stdout=subprocess.DEVNULL)
    while not os.path.exists(path):
        if qemu.poll() is not None:
            sys.exit("tool_names: QEMU ended before its first dump")
        time.sleep(0.05)
    per_dump, dumps = follow(tool, path, qemu)
    print("cflow top following a python3 run: %.3f s CPU per dump (%d dumps)" % (per_dump, dumps))
    t0 = time.monotonic()
    subprocess.run([tool, "report", "--by", "function", path], stdout=subprocess.DEVNULL,
                   check=True)
    print("cflow report --by function of its last dump: %.2f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
