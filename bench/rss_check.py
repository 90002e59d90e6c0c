#!/usr/bin/python3
"""
A check of the benchmark's memory measurement, not of the plugin: the peak RSS that
bench/peak_rss.py reports must be QEMU's own. With this process first grown to 300 MiB:
- a guest that allocates and touches 200 MiB (bench/touch.c) must measure > 150 MiB, bare and
  under the plugin;
- a tiny guest (touch 0) must measure < 100 MiB, bare and under the plugin: nothing of this
  process's size leaks into the figure;
- and the naive measurement (os.wait4 on a direct child of this process) must show the leak
  (> 300 MiB), or this check would not catch the mistake it is here for.

    rss_check.py BUILDDIR          exit status 0 if all hold; one line per figure
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peak_rss  # noqa: E402

QEMU = os.path.join(TOP, ".deps", "qemu", "bin", "qemu-x86_64")


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build"))
    work = os.path.join(build, "bench", "rss_check")
    os.makedirs(work, exist_ok=True)
    guest = os.path.join(work, "touch")
    src = os.path.join(HERE, "touch.c")
    if not os.path.exists(guest) or os.path.getmtime(guest) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O1", "-static", "-o", guest, src], check=True)
    plugin = ["-plugin", os.path.join(build, "libcflow.so") + ",report=off,output=" +
              os.path.join(work, "profile.cflow")]

    balloon = bytearray(300 << 20)
    for i in range(0, len(balloon), 4096):
        balloon[i] = 1

    failures = []

    def expect(what, kib, op, limit_mib):
        ok = kib > limit_mib * 1024 if op == ">" else kib < limit_mib * 1024
        print("%-44s %6.0f MiB (want %s %d) %s" % (what, kib / 1024.0, op, limit_mib,
                                                   "ok" if ok else "WRONG"))
        if not ok:
            failures.append(what)

    for name, extra in (("bare", []), ("cflow", plugin)):
        big = peak_rss.measure([QEMU] + extra + [guest, "200"], work)
        tiny = peak_rss.measure([QEMU] + extra + [guest, "0"], work)
        if big.status or tiny.status:
            sys.exit("the guest failed under %s: %d, %d" % (name, big.status, tiny.status))
        expect("%s, guest touching 200 MiB" % name, big.peak_kib, ">", 150)
        expect("%s, tiny guest" % name, tiny.peak_kib, "<", 100)
    proc = subprocess.Popen([QEMU, guest, "0"])
    _, status, usage = os.wait4(proc.pid, 0)
    expect("naive wait4 of a direct child, tiny guest", usage.ru_maxrss, ">", 300)
    del balloon
    if failures:
        print("rss_check: %d wrong: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("rss_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
