"""
QEMU's own tests/tcg/multiarch programs: the same exit status and output with the plugin as
without it.
"""
import os
import subprocess

from harness import TESTS, multiarch_programs, qemu


def make_multiarch_test():
    def t():
        progs = multiarch_programs()
        if len(progs) < 10:
            raise AssertionError("only %d multiarch programs built" % len(progs))
        failures = []
        for exe in progs:
            name = os.path.basename(exe)
            try:
                bare = qemu("x86_64", [exe], timeout=120)
                bare2 = qemu("x86_64", [exe], timeout=120)
            except subprocess.TimeoutExpired:
                continue
            deterministic = bare.stdout == bare2.stdout
            plug = qemu("x86_64", [exe], ["report=off"], timeout=300)
            if plug.returncode != bare.returncode:
                failures.append("%s: status %d vs %d" % (name, plug.returncode, bare.returncode))
            elif deterministic and sorted(plug.stdout.splitlines()) != \
                    sorted(bare.stdout.splitlines()):
                # as a multiset of lines: threads may interleave their lines differently
                failures.append("%s: output differs" % name)
        if failures:
            raise AssertionError("; ".join(failures))
    t.__name__ = "multiarch_same_status_and_output"
    return t


TESTS.append(make_multiarch_test())
