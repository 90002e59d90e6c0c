"""
Wall time and peak RSS of a program's own process (QEMU's, not the benchmark's): the program
runs as a direct child of bench/rsswrap.c, a small static launcher, which reports the child's
ru_maxrss from wait4(). See rsswrap.c for why the benchmark's own process cannot fork it.

    measure(argv, repeat=1) -> Run(seconds, peak_kib, status, runs)
"""
import collections
import os
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "rsswrap.c")
Run = collections.namedtuple("Run", "seconds peak_kib status runs")
_WRAP = {}


def launcher(outdir):
    """Builds rsswrap (static, so it maps next to nothing) into outdir once; returns its path."""
    exe = os.path.join(outdir, "rsswrap")
    if exe in _WRAP:
        return exe
    os.makedirs(outdir, exist_ok=True)
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(SRC):
        subprocess.run(["gcc", "-O2", "-static", "-o", exe, SRC], check=True)
    _WRAP[exe] = True
    return exe


def measure(argv, outdir, repeat=1, **popen_kw):
    """Runs argv `repeat` times, each run a direct child of the launcher. seconds: wall time
    of all runs; peak_kib: the largest of the runs' own peak RSS; status: first non-zero wait
    status or 0."""
    exe = launcher(outdir)
    fd, out = tempfile.mkstemp(prefix="rss.", dir=outdir)
    os.close(fd)
    try:
        popen_kw.setdefault("stdout", subprocess.DEVNULL)
        popen_kw.setdefault("stderr", subprocess.DEVNULL)
        t0 = time.monotonic()
        proc = subprocess.Popen([exe, out, str(repeat)] + list(argv), **popen_kw)
        proc.wait()
        dt = time.monotonic() - t0
        with open(out) as f:
            fields = f.read().split()
        if len(fields) != 3:
            raise RuntimeError("rsswrap failed (exit %d) on %s" % (proc.returncode, argv))
        return Run(dt, int(fields[0]), int(fields[1]), int(fields[2]))
    finally:
        os.unlink(out)
