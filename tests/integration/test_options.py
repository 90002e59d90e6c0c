"""
The plugin's options: a bad value stops QEMU before the guest runs, with a message naming it;
an option of system mode (priv=kernel) is refused in user mode.
"""
import re

from harness import TESTS, guest, plugin_run, qemu, test


def make_bad_option_test(opt, must_mention):
    def t():
        r = qemu("x86_64", [guest("x86_64", "loops")], [opt])
        if r.returncode == 0:
            raise AssertionError("QEMU accepted %s" % opt)
        if "loops ok" in r.stdout:
            raise AssertionError("the guest ran despite %s" % opt)
        if must_mention not in r.stderr:
            raise AssertionError("stderr does not mention %r: %s" % (must_mention, r.stderr))
    t.__name__ = "bad_option_" + re.sub(r"\W", "_", opt)
    return t


for _opt, _m in (("colour=red", "'colour'"), ("sort=fastest", "'fastest'"),
                 ("topn=ten", "'ten'"), ("format=xml", "'xml'"), ("mode=turbo", "'turbo'"),
                 ("output=/nonexistent-dir/p.cflow", "/nonexistent-dir"),
                 ("output=/proc/p.cflow", "/proc/p.cflow"), ("output=-", "output=-")):
    TESTS.append(make_bad_option_test(_opt, _m))


@test
def priv_kernel_in_user_mode_is_refused():
    r = plugin_run(["priv=kernel"], ["/bin/echo", "guest-ran"])
    if r.returncode == 0 or "guest-ran" in r.stdout or "priv=kernel" not in r.stderr:
        raise AssertionError("priv=kernel was not refused in user mode: %r" % r.stderr)
