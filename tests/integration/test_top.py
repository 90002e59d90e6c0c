"""
`cflow top`, driven in a pseudo-terminal as a person would use it, against a system-mode guest
that runs for several seconds writing a dump every second (tests/guests/system/aarch64-hot.S
built with SECONDS, whose hottest function is `hot` by construction): it shows `hot` on top
within two dump periods of the first dump, switches views on f, l and e, keeps the last good
view over a file that does not read, quits on q with status 0, and a second one, left alone,
exits by itself when the guest does (final profile) or when QEMU is killed (no final profile).
Off a terminal it prints one snapshot.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import tempfile
import termios
import time

from cflow_tool import ok, tool
from harness import TOOL, WORK, assert_eq, system_cmd, system_guest, test

DUMP_PERIOD = 1.0
SECONDS = 8  # how long the guest runs
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Top:
    """`cflow top PATH` on the slave side of a pseudo-terminal of ROWS x COLS; the output is
    read from the master side, and the screen is the text after the last cursor-home."""

    def __init__(self, path, rows=30, cols=140):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen([TOOL, "top", path], stdin=slave, stdout=slave,
                                     stderr=slave, start_new_session=True)
        os.close(slave)
        self.master, self.out = master, b""

    def read(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                return
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the command has exited and closed the terminal
                chunk = b""
            if not chunk:
                time.sleep(min(left, 0.05))
                return
            self.out += chunk

    def screen(self):
        text = self.out.decode(errors="replace")
        return ESCAPE.sub("", text[text.rfind("\x1b[H"):]).splitlines()

    def wait(self, what, check, timeout):
        """Reads until check(screen lines) holds; the time it took, or a failure."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if check(self.screen()):
                return time.monotonic() - start
            self.read(0.1)
        raise AssertionError("cflow top did not show %s within %.1f s; the screen:\n%s"
                             % (what, timeout, "\n".join(self.screen())))

    def key(self, k):
        os.write(self.master, k.encode())

    def exit_status(self, timeout):
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            raise AssertionError("cflow top did not exit within %.1f s; the screen:\n%s"
                                 % (timeout, "\n".join(self.screen())))
        self.read(0.2)
        return self.proc.returncode

    def close(self):
        """Ends the command if a failed test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def first_row(lines):
    """The first row of the view: the line after the column heads (the 3rd line)."""
    return lines[3].split() if len(lines) > 3 else []


def top_function(name):
    return lambda lines: first_row(lines)[-1:] == [name]


def long_guest(d):
    """QEMU running the long guest with dump=1 into D/run.cflow, and that path."""
    binary = system_guest("hot", ["SECONDS=%d" % SECONDS])
    path = os.path.join(d, "run.cflow")
    cmd = system_cmd(binary, ["output=" + path, "report=off", "symbols=" + binary,
                              "dump=%g" % DUMP_PERIOD])
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path


def wait_for_file(path, qemu, timeout=30):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end or qemu.poll() is not None:
            raise AssertionError("no dump written (QEMU status %s)" % qemu.poll())
        time.sleep(0.02)


def just_after_a_dump(path):
    """Returns as soon as the plugin has replaced PATH with a new dump."""
    inode = os.stat(path).st_ino
    end = time.monotonic() + 2 * DUMP_PERIOD
    while os.stat(path).st_ino == inode:
        if time.monotonic() > end:
            raise AssertionError("no dump within two periods")
        time.sleep(0.005)


@test
def top_follows_a_running_system_guest_and_quits_on_q():
    d = tempfile.mkdtemp(dir=WORK)
    path = os.path.join(d, "run.cflow")
    keys, alone = Top(path), Top(path)  # started before QEMU: they wait for the file
    keys.wait("that it waits for the file", lambda ls: any("waiting for" in ln for ln in ls), 5)
    qemu, path = long_guest(d)
    try:
        wait_for_file(path, qemu)
        keys.wait("hot as the hottest function", top_function("hot"), 2 * DUMP_PERIOD)
        heads = keys.screen()[2]
        if heads.split() != ["share", "executed", "entries", "branches", "function"]:
            raise AssertionError("functions view heads: %r" % heads)
        keys.key("e")
        keys.wait("the edges view with hot's loop first",
                  lambda ls: "hottest edges" in ls[0] and first_row(ls)[2:3] == ["branch"]
                  and "hot" in " ".join(first_row(ls)[3:]), 2)
        keys.key("l")
        keys.wait("the lines view with hot first",
                  lambda ls: "hottest lines" in ls[0] and top_function("hot")(ls), 2)
        keys.key("f")
        keys.wait("the functions view again",
                  lambda ls: "hottest functions" in ls[0] and top_function("hot")(ls), 2)
        # a file that does not read replaces the dump: skipped, the last good view kept. It is
        # put there just after a dump lands, so that it stays a whole period, seen for sure.
        bad = os.path.join(d, "bad")
        with open(bad, "wb") as f:
            f.write(b"CFLOW\0not a profile at all")
        just_after_a_dump(path)
        os.rename(bad, path)
        keys.wait("the skipped file's status, the view kept",
                  lambda ls: "skipped" in ls[1] and top_function("hot")(ls), 2)
        keys.wait("the next dump", lambda ls: "watching" in ls[1], 2 * DUMP_PERIOD)
        keys.key("q")
        assert_eq("status after q", keys.exit_status(5), 0)
        if not keys.out.endswith(b"\x1b[?25h") and b"\x1b[?25h" not in keys.out[-64:]:
            raise AssertionError("the cursor was not shown again at exit")
        # the other one exits by itself with the guest, showing the final profile
        assert_eq("the guest's status", qemu.wait(timeout=SECONDS + 60), 3)
        assert_eq("status at the guest's end", alone.exit_status(3), 0)
        last = alone.screen()
        if "final profile" not in last[0] or "over" not in last[1] or \
                not top_function("hot")(last):
            raise AssertionError("the last screen:\n" + "\n".join(last))
    finally:
        for t in (keys, alone):
            t.close()
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    # off a terminal: one snapshot
    r = ok(tool("top", "--view", "edges", "--topn", "3", path), "top snapshot")
    lines = r.stdout.splitlines()
    assert_eq("snapshot rows", len(lines), 1 + 1 + 3)
    if "final profile" not in lines[0] or "hot" not in lines[2]:
        raise AssertionError(r.stdout)


@test
def top_exits_when_qemu_is_killed():
    d = tempfile.mkdtemp(dir=WORK)
    qemu, path = long_guest(d)
    top = None
    try:
        wait_for_file(path, qemu)
        top = Top(path)
        top.wait("hot as the hottest function", top_function("hot"), 2 * DUMP_PERIOD)
        qemu.send_signal(signal.SIGKILL)
        qemu.wait()
        assert_eq("status when QEMU is gone", top.exit_status(3), 0)
        if "without a final profile" not in top.screen()[1]:
            raise AssertionError("\n".join(top.screen()))
    finally:
        if top:
            top.close()
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()


@test
def top_errors():
    d = tempfile.mkdtemp(dir=WORK)
    r = tool("top", "--once", os.path.join(d, "missing.cflow"))
    assert_eq("missing file", r.returncode, 2)
    if "missing.cflow" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("top", "--view", "bogus", os.path.join(d, "x"))
    assert_eq("unknown view", r.returncode, 1)
    if "bogus" not in r.stderr:
        raise AssertionError(r.stderr)
    assert_eq("no file", tool("top").returncode, 1)
