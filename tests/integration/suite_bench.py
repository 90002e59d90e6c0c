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


@run.test
def bench_exactness_check_ignores_only_block_cuts():
    """profile_compare.counts_differ (what `make bench` calls exact): one profile whose long
    block QEMU cut in two (a fall-through out of a non-transfer instruction) equals the uncut
    one; any changed edge or block count differs."""
    pc = run.profile_compare
    prof, r = run.profile_json("x86_64", [run.guest("x86_64", "loops")])
    run.assert_eq("exit status", r.returncode, 0)
    longest = max(prof["blocks"], key=lambda b: len(b["insns"]))
    n = len(longest["insns"])
    if n < 2:
        raise AssertionError("no block of two instructions to cut")
    cut = {"meta": prof["meta"], "insns": prof["insns"], "edges": list(prof["edges"]),
           "blocks": [b for b in prof["blocks"] if b is not longest]}
    head, tail = longest["insns"][:n // 2], longest["insns"][n // 2:]
    cut["blocks"] += [dict(longest, insns=head), dict(longest, addr=tail[0], insns=tail)]
    cut["edges"].append({"from": head[-1], "to": tail[0], "kind": "fallthrough",
                         "count": longest["count"], "from_generation": 0})
    run.assert_eq("cut block vs uncut", pc.counts_differ(cut, prof), None)
    more = dict(prof, edges=[dict(e, count=e["count"] + (i == 0)) for i, e in
                             enumerate(prof["edges"])])
    if pc.counts_differ(more, prof) is None:
        raise AssertionError("an edge count one higher was not told apart")
    fewer = dict(prof, blocks=[dict(b, count=b["count"] - (b is longest)) for b in
                               prof["blocks"]])
    if pc.counts_differ(fewer, prof) is None:
        raise AssertionError("a block entered once less was not told apart")
