"""
The report the plugin prints at exit (sort=, topn=): each sort key ranks what it says, and the
report reaches the terminal when the guest closes or replaces its stderr.
"""
import os
import re

from harness import PLUGIN, QEMU, WORK, assert_eq, guest, qemu, run, symbols, test


def report_of(sort, arch="x86_64", name="loops", topn=None):
    extra = ["sort=" + sort] + (["topn=%d" % topn] if topn else [])
    r = qemu(arch, [guest(arch, name)], extra)
    assert_eq("exit status", r.returncode, 0)
    return r.stderr + r.stdout


@test
def report_sorts():
    s = symbols(guest("x86_64", "loops"))
    out = report_of("hottest", topn=1)
    # the hottest source instruction is the inner loop's branch, taken 84 times
    m = re.search(r"top 1 .*\n\s+0x([0-9a-f]+) .*\n\s+taken (\d+)", out)
    if not m:
        raise AssertionError("no ranked entry in:\n" + out)
    assert_eq("hottest source", int(m.group(1), 16), s["inner_branch"])
    assert_eq("its taken count", int(m.group(2)), 84)
    out = report_of("bias")
    m = re.search(r"0x%x [^\n]*\n\s+taken 3, fallthrough 4, taken ratio 42.9%%" % s["bump_branch"],
                  out)
    if not m:
        raise AssertionError("bias report lacks bump_branch 3/4:\n" + out)
    out = report_of("edges", topn=2)
    if not re.search(r"\s84 branch\s+0x%x .* -> 0x%x" % (s["inner_branch"], s["inner_top"]), out):
        raise AssertionError("edges report lacks the hottest edge:\n" + out)
    out = report_of("early", name="fault")
    if "early exits" not in out:
        raise AssertionError("early report has no early exits:\n" + out)
    out = report_of("exceptions", name="fault")
    if "exceptions" not in out or "(none)" in out.split("sort=exceptions")[1]:
        raise AssertionError("exceptions report is empty:\n" + out)
    out = report_of("popular", name="jumptable", topn=1)
    if "5 branch destinations" not in out:
        raise AssertionError("popular report lacks the 5-way jump:\n" + out)


def report_through(cmd_prefix, guest_argv):
    """Runs QEMU with the report on; returns (stderr, status)."""
    cmd = cmd_prefix + [os.path.join(QEMU, "qemu-x86_64"), "-plugin",
                        PLUGIN + ",sort=edges,topn=3", "-d", "plugin"] + guest_argv
    r = run(cmd)
    return r.stderr, r.returncode


@test
def report_survives_a_guest_that_closes_or_replaces_stderr():
    hostname = os.path.join(WORK, "hostname.txt")
    with open(hostname, "w") as f:
        f.write("a-host\n")
    cases = {
        # coreutils close stdout and stderr at exit
        "cat": ["/usr/bin/cat", hostname],
        # a shell that dup2()s /dev/null over fd 2
        "dup2": ["/bin/sh", "-c", "exec 2>/dev/null; echo to-stderr >&2; true"],
        # a guest that closes fd 2 outright
        "close": ["/bin/sh", "-c", "exec 2>&-; true"],
    }
    for name, argv in cases.items():
        err, status = report_through([], argv)
        assert_eq(name + " status", status, 0)
        if "(sort=edges)" not in err:
            raise AssertionError("%s: no report on stderr: %r" % (name, err[-500:]))
        if "to-stderr" in err:
            raise AssertionError("%s: the guest's redirected stderr leaked: %r" % (name, err))
