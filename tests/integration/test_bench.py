"""
The benchmark's measurements, checked for correctness (not timed): bench/rss_check.py requires
the peak RSS that `make bench` reports to be QEMU's own process's, not the benchmark's carried
into each child by fork.
"""
import os
import sys
import tempfile

from harness import (BUILD, QEMU, TOP, WORK, assert_eq, floor_plugin, guest, profile_compare,
                     profile_json, run, test)


RSS_CHECK = os.path.join(TOP, "bench", "rss_check.py")


@test
def bench_peak_rss_is_qemus_own():
    r = run([sys.executable, RSS_CHECK, BUILD], timeout=300)
    if r.returncode != 0:
        raise AssertionError(r.stdout[-3000:] + r.stderr[-3000:])


@test
def bench_exactness_check_ignores_only_block_cuts():
    """profile_compare.counts_differ (what `make bench` calls exact): one profile whose long
    block QEMU cut in two (a fall-through out of a non-transfer instruction) equals the uncut
    one; any changed edge or block count differs."""
    pc = profile_compare
    prof, r = profile_json("x86_64", [guest("x86_64", "loops")])
    assert_eq("exit status", r.returncode, 0)
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
    assert_eq("cut block vs uncut", pc.counts_differ(cut, prof), None)
    more = dict(prof, edges=[dict(e, count=e["count"] + (i == 0)) for i, e in
                             enumerate(prof["edges"])])
    if pc.counts_differ(more, prof) is None:
        raise AssertionError("an edge count one higher was not told apart")
    fewer = dict(prof, blocks=[dict(b, count=b["count"] - (b is longest)) for b in
                               prof["blocks"]])
    if pc.counts_differ(fewer, prof) is None:
        raise AssertionError("a block entered once less was not told apart")


def op_dump(so, mode, log):
    """QEMU's optimised TCG ops for guest `loops` under the floor plugin: (blocks, plugin calls,
    ops in all). A call is a `call plugin` op, or on the project's QEMU for a conditional
    callback a `plugin_cond_cb` op (qemu/patches/0009)."""
    r = run([os.path.join(QEMU, "qemu-x86_64"), "-d", "op_opt", "-D", log, "-plugin",
             so + ",mode=" + mode, guest("x86_64", "loops")])
    assert_eq("exit status (mode=%s)" % mode, r.returncode, 0)
    with open(log) as f:
        lines = f.read().splitlines()
    blocks = sum(1 for ln in lines if ln.startswith("OP after"))
    calls = sum(1 for ln in lines if ln.lstrip().startswith(("call plugin", "plugin_cond_cb ")))
    ops = sum(1 for ln in lines if ln.startswith(" ") and not ln.startswith(" ----"))
    return blocks, calls, ops


@test
def bench_floor_plugin_generates_what_it_says():
    """The yardstick of `make bench --floor` instruments every block as its modes say: no call
    for empty and count, one per block for check and edges, the add costing ops in count and
    edges; at run time the check's call never fires and mode=calls's fires at every block
    entry; an unknown mode stops QEMU."""
    with tempfile.TemporaryDirectory(dir=WORK) as d:
        so = floor_plugin(d)
        got = {m: op_dump(so, m, os.path.join(d, m + ".log"))
               for m in ("empty", "count", "check", "edges", "calls")}
        blocks = got["empty"][0]
        if blocks < 3:
            raise AssertionError("too few blocks translated: %r" % (got,))
        for m, (b, calls, _) in got.items():
            assert_eq("blocks translated (mode=%s)" % m, b, blocks)
            assert_eq("plugin calls generated (mode=%s)" % m, calls,
                      0 if m in ("empty", "count") else blocks)
        # an inline add is a load, an add and a store at least, in every block
        for more, less in (("count", "empty"), ("edges", "check")):
            if got[more][2] < got[less][2] + 3 * blocks:
                raise AssertionError("mode=%s has %d ops, mode=%s %d, %d blocks: no add per "
                                     "block" % (more, got[more][2], less, got[less][2], blocks))
        # at run time: the check's call never fires, mode=calls's fires at every block entry
        # (as many as cflow counts)
        prof, _ = profile_json("x86_64", [guest("x86_64", "loops")])
        entries = sum(b["count"] for b in prof["blocks"])
        for m, want in (("check", 0), ("edges", 0), ("calls", entries)):
            r = run([os.path.join(QEMU, "qemu-x86_64"), "-plugin",
                     so + ",mode=%s,report=on" % m, guest("x86_64", "loops")])
            assert_eq("exit status (mode=%s)" % m, r.returncode, 0)
            assert_eq("calls made (mode=%s)" % m, r.stderr.strip().splitlines()[-1],
                      "floor: %d calls" % want)
        r = run([os.path.join(QEMU, "qemu-x86_64"), "-plugin", so + ",mode=fast",
                 guest("x86_64", "loops")])
        if r.returncode == 0 or "unknown option 'mode=fast'" not in r.stderr:
            raise AssertionError("a bad mode was accepted: %d %r" % (r.returncode, r.stderr))
