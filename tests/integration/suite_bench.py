"""
The benchmark's measurements, checked for correctness (not timed): bench/rss_check.py requires
the peak RSS that `make bench` reports to be QEMU's own process's, not the benchmark's carried
into each child by fork.
"""
import os
import sys

import run

RSS_CHECK = os.path.join(run.TOP, "bench", "rss_check.py")


@run.test
def bench_peak_rss_is_qemus_own():
    r = run.run([sys.executable, RSS_CHECK, run.BUILD], timeout=300)
    if r.returncode != 0:
        raise AssertionError(r.stdout[-3000:] + r.stderr[-3000:])
