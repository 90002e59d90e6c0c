"""
Periodic dumps (dump=N): a thread of the plugin's own writes the profile while the guest runs,
in system mode (consistent, complete, cumulative snapshots while other vCPUs run) and in user
mode (while threads churn); dump= without output= is refused.
"""
import json
import os
import subprocess
import tempfile
import time

from harness import (PLUGIN, QEMU, WORK, assert_clean, assert_eq, check_snapshot, edge_count,
                     entries_by_addr, guest, run, symbols, system_cmd, system_guest, test)


def watch_dumps(cmd, path, timeout):
    """Runs cmd (QEMU with dump=, output=path, JSON) and parses every version of path seen while
    it runs (a half-written file would fail to parse). Returns (exit status, profiles seen)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen, last = [], None
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        if (st.st_ino, st.st_mtime_ns) != last:
            last = (st.st_ino, st.st_mtime_ns)
            with open(path) as f:
                seen.append(json.load(f))
        time.sleep(0.05)
    if p.poll() is None:
        p.kill()
        raise AssertionError("QEMU did not exit within %d s: %s" % (timeout, cmd[-1]))
    return p.returncode, seen


@test
def system_periodic_dumps_are_complete_consistent_and_cumulative():
    binary = system_guest("smp")
    s = symbols(binary, "aarch64")
    path = os.path.join(WORK, "system-dumps.json")
    if os.path.exists(path):
        os.unlink(path)
    status, seen = watch_dumps(system_cmd(binary, ["output=" + path, "format=json",
                                                      "report=off", "dump=1"], smp=2), path, 120)
    assert_eq("exit status", status, 0)
    with open(path) as f:
        final = json.load(f)
    assert_eq("final profile", final["meta"]["written_at"], "exit")
    dumps = [d for d in seen if d["meta"]["written_at"] == "dump"]
    if len(dumps) < 2:
        raise AssertionError("%d dumps seen during a 3-second run with dump=1" % len(dumps))
    prev_seq, prev_join, prev_time = -1, -1, -1.0
    for d in dumps + [final]:
        label = "dump %s" % d["meta"].get("dump_seq", "final")
        check_snapshot(d, s, label)
        if d is not final:
            seq = int(d["meta"]["dump_seq"])
            if seq <= prev_seq:
                raise AssertionError("dump_seq not increasing: %d after %d" % (seq, prev_seq))
            prev_seq = seq
        t = float(d["meta"]["elapsed_seconds"])
        join = entries_by_addr(d).get(s["join"], 0)
        if t < prev_time or join < prev_join:
            raise AssertionError("%s: not cumulative (time %s after %s, join %d after %d)"
                                 % (label, t, prev_time, join, prev_join))
        prev_time, prev_join = t, join
        if "T" not in d["meta"].get("written_time", ""):
            raise AssertionError("%s: no written_time: %s" % (label, d["meta"]))


@test
def system_dump_needs_output():
    binary = system_guest("mmio")
    r = run(system_cmd(binary, ["dump=1"]), timeout=60)
    if r.returncode == 0 or "dump" not in r.stderr:
        raise AssertionError("dump without output was not refused: %r" % r.stderr)


@test
def user_mode_dumps_while_threads_churn():
    """dump=1 in user mode: a thread of the plugin's own writes consistent, complete profiles
    while an 8,000-thread relay runs (several seconds); every one parses, counts only grow, the
    last is the exit."""
    s = symbols(guest("c", "relay"))
    d = tempfile.mkdtemp(dir=WORK)
    out = os.path.join(d, "relay.json")
    cmd = [os.path.join(QEMU, "qemu-x86_64"), "-plugin",
           ",".join([PLUGIN, "report=off", "format=json", "dump=1", "output=" + out]),
           guest("c", "relay"), "8000"]
    status, seen = watch_dumps(cmd, out, 300)
    assert_eq("status", status, 0)
    with open(out) as f:
        final = json.load(f)
    assert_eq("final", final["meta"]["written_at"], "exit")
    dumps = [x for x in seen if x["meta"]["written_at"] == "dump"]
    if not dumps:
        raise AssertionError("no dump seen during the run")
    prev = -1
    for x in dumps + [final]:
        assert_clean(x)
        taken = edge_count(x, s["relay_branch"], s["relay_top"], "branch")
        if taken < prev:
            raise AssertionError("counts went down: %d after %d" % (taken, prev))
        prev = taken
        if x["meta"].get("guest", "").split("/")[-1] != "relay":
            raise AssertionError("meta.guest in a dump: %r" % x["meta"].get("guest"))
    assert_eq("final loop", prev, 8000 * 999)
