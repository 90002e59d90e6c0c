"""
Where the profile goes (output=): a relative path survives the guest's chdir; symlinks, FIFOs,
devices, sockets, long names and the guest's umask; a guest that chroots or drops its
privileges neither moves nor loses the profile.
"""
import json
import os
import socket
import stat
import tempfile
import threading

from harness import (PLUGIN, QEMU, Skip, TOOL, WORK, assert_eq, edge_count, guest, plugin_run, run,
                     symbols, test)


@test
def relative_output_survives_a_guest_chdir():
    d = tempfile.mkdtemp(dir=WORK)
    r = run([os.path.join(QEMU, "qemu-x86_64"), "-plugin",
             PLUGIN + ",output=rel.%p.cflow,report=off", "/bin/sh", "-c", "cd / && exit 0"],
            cwd=d)
    assert_eq("exit status", r.returncode, 0)
    files = [f for f in os.listdir(d) if f.startswith("rel.")]
    assert_eq("profiles in the starting folder", len(files), 1)
    c = run([TOOL, "check", os.path.join(d, files[0])])
    assert_eq("cflow check", c.returncode, 0)


def loops_guest():
    return [guest("x86_64", "loops")]


@test
def output_paths_symlink_fifo_device_long_names_umask():
    d = tempfile.mkdtemp(dir=WORK)
    # a symlink is followed, the link kept
    target = os.path.join(d, "real.cflow")
    link = os.path.join(d, "link.cflow")
    os.symlink("real.cflow", link)
    r = plugin_run(["output=" + link], loops_guest())
    assert_eq("symlink status", r.returncode, 0)
    if not os.path.islink(link) or not os.path.isfile(target):
        raise AssertionError("the symlink was replaced or its target not written")
    assert_eq("tool check of the target", run([TOOL, "check", target]).returncode, 0)
    # a FIFO is written in place, never replaced
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["data"] = f.read()
    t = threading.Thread(target=reader)
    t.start()
    r = plugin_run(["output=" + fifo, "format=json"], loops_guest())
    t.join(60)
    assert_eq("fifo status", r.returncode, 0)
    if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
        raise AssertionError("the FIFO was replaced")
    if not got.get("data", b"").startswith(b"{"):
        raise AssertionError("no JSON profile came through the FIFO: %r" % got.get("data"))
    json.loads(got["data"])
    # a character device (a private /dev/null) is written in place, never renamed over
    dev = os.path.join(d, "null")
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        dev = None
    if dev:
        r = plugin_run(["output=" + dev], loops_guest())
        assert_eq("device status", r.returncode, 0)
        if not stat.S_ISCHR(os.lstat(dev).st_mode):
            raise AssertionError("the device node was replaced")
    # a socket is refused before the guest runs
    sock_path = os.path.join(d, "sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock_path)
    r = plugin_run(["output=" + sock_path], ["/bin/echo", "guest-ran"])
    s.close()
    if r.returncode == 0 or "guest-ran" in r.stdout or "socket" not in r.stderr:
        raise AssertionError("a socket output was not refused: %r %r" % (r.returncode, r.stderr))
    # a file name so long that name + pid + suffix would pass NAME_MAX
    long_name = os.path.join(d, "p" * 240 + ".%p")
    r = plugin_run(["output=" + long_name], loops_guest())
    assert_eq("long name status", r.returncode, 0)
    written = [f for f in os.listdir(d) if f.startswith("p" * 240)]
    assert_eq("long-named profiles", len(written), 1)
    # leftovers: no temporary file stays behind
    leftovers = [f for f in os.listdir(d) if f.startswith(".cflow-")]
    assert_eq("temporary files left", leftovers, [])
    # the guest's umask does not decide the profile's permissions
    out = os.path.join(d, "umask.cflow")
    r = plugin_run(["output=" + out], ["/bin/sh", "-c", "umask 077; true"],
                   preexec_fn=lambda: os.umask(0o022))
    assert_eq("umask status", r.returncode, 0)
    assert_eq("profile mode", oct(os.stat(out).st_mode & 0o777), oct(0o644))


@test
def guest_chroot_setuid_umask_do_not_move_or_lose_the_profile():
    binary = guest("c", "creds")
    s = symbols(binary)
    if os.geteuid() != 0:
        raise Skip("chroot and setuid need root")
    d = tempfile.mkdtemp(dir=WORK)  # 0700, root's: nobody may create files here
    jail = tempfile.mkdtemp(dir=WORK)
    cases = {"chroot": [jail], "setuid": ["65534"], "umask": []}
    for name, extra in cases.items():
        for fmt in ("cflow", "json"):
            out = os.path.join(d, "%s.%s" % (name, fmt))
            r = plugin_run(["output=" + out, "format=" + fmt], [binary, name] + extra,
                           preexec_fn=lambda: os.umask(0o022))
            assert_eq("%s %s status (%s)" % (name, fmt, r.stderr[-300:]), r.returncode, 0)
            if not os.path.isfile(out):
                raise AssertionError("%s: no profile at %s; stderr %r" % (name, out, r.stderr))
            assert_eq(name + " mode", oct(os.stat(out).st_mode & 0o777), oct(0o644))
            if fmt == "json":
                with open(out) as f:
                    prof = json.load(f)
                assert_eq(name + " loop", edge_count(prof, s["creds_branch"], s["creds_top"],
                                                     "branch"), 999)
    if os.listdir(jail):
        raise AssertionError("something was written inside the chroot: %s" % os.listdir(jail))
    leftovers = [f for f in os.listdir(d) if f.startswith(".cflow-")]
    assert_eq("temporary files left", leftovers, [])
