"""
The guest process's life: a forked child has only its own counts (and re-plans from them), exec
writes the profile first, and death by a signal or a non-zero exit still writes it complete.
"""
import json
import os
import signal
import tempfile

from harness import (TESTS, WORK, assert_clean, assert_eq, edge_count, guest, profile_json, qemu,
                     symbols, test)


def loop_counts(prof, s, name):
    top, br = s["loop_%s_top" % name], s["loop_%s_branch" % name]
    return edge_count(prof, br, top, "branch")


@test
def fork_child_has_only_its_own_counts():
    binary = guest("c", "lifecycle")
    s = symbols(binary)
    d = tempfile.mkdtemp(dir=WORK)
    r = qemu("x86_64", [binary, "fork"],
             ["output=" + os.path.join(d, "p.%p.json"), "format=json", "report=off"])
    assert_eq("exit status", r.returncode, 0)
    files = sorted(os.listdir(d))
    assert_eq("profiles written", len(files), 2)
    profs = [json.load(open(os.path.join(d, f))) for f in files]
    child = [p for p in profs if "parent_pid" in p["meta"]]
    parent = [p for p in profs if "parent_pid" not in p["meta"]]
    assert_eq("one child, one parent", (len(child), len(parent)), (1, 1))
    child, parent = child[0], parent[0]
    assert_eq("child's parent", child["meta"]["parent_pid"], parent["meta"]["pid"])
    assert_eq("parent loop A", loop_counts(parent, s, "a"), 999)
    assert_eq("parent loop B", loop_counts(parent, s, "b"), 499)
    assert_eq("child loop A (ran before the fork: the parent's)", loop_counts(child, s, "a"), 0)
    assert_eq("child loop B", loop_counts(child, s, "b"), 299)
    assert_clean(child)
    assert_clean(parent)


@test
def forked_child_replans_from_its_own_counts():
    """A child that re-plans (adapt_after=1) starts from zero: exact, and no inconsistency."""
    binary = guest("c", "lifecycle")
    d = tempfile.mkdtemp(dir=WORK)
    r = qemu("x86_64", [binary, "fork"],
             ["output=" + os.path.join(d, "p.%p.json"), "format=json", "report=off",
              "adapt_after=1"])
    assert_eq("exit status", r.returncode, 0)
    files = sorted(os.listdir(d))
    assert_eq("profiles", len(files), 2)
    for f in files:
        with open(os.path.join(d, f)) as fh:
            assert_clean(json.load(fh))


@test
def exec_writes_the_profile_first():
    binary = guest("c", "lifecycle")
    s = symbols(binary)
    prof, r = profile_json("x86_64", [binary, "exec"])
    assert_eq("exit status of /bin/true", r.returncode, 0)
    assert_eq("written at", prof["meta"]["written_at"], "exec")
    assert_eq("loop A", loop_counts(prof, s, "a"), 999)


def make_death_test(what, want_status):
    def t():
        binary = guest("c", "lifecycle")
        s = symbols(binary)
        prof, r = profile_json("x86_64", [binary, what])
        assert_eq("exit status", r.returncode, want_status)
        assert_eq("written at", prof["meta"]["written_at"], "exit")
        assert_eq("loop A", loop_counts(prof, s, "a"), 999)
        assert_clean(prof)
    t.__name__ = "profile_complete_after_" + what
    return t


TESTS.append(make_death_test("crash", -signal.SIGSEGV))


TESTS.append(make_death_test("abort", -signal.SIGABRT))


TESTS.append(make_death_test("exit3", 3))
