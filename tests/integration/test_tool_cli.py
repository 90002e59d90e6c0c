"""
The cflow tool's command line, for every command: help, exit codes on bad use, and bad profiles
(damaged, truncated, foreign, of a future version, empty, missing) refused with exit 2 and a
message naming the file; `cflow export`'s help and exit codes.
"""
import os
import struct

from cflow_tool import EXPORT_DIR, TOOLDIR, ok, record, record_for_export, tool
from harness import assert_eq, guest, test


@test
def tool_help_for_every_command():
    for cmd in ("record", "report", "annotate", "merge", "diff", "dot", "json", "check", "top"):
        r = ok(tool(cmd, "--help"), cmd + " --help")
        for want in ("cflow " + cmd, "Exit status", "Example"):
            if want not in r.stdout:
                raise AssertionError("%s --help lacks %r:\n%s" % (cmd, want, r.stdout))
        h = ok(tool("help", cmd), "help " + cmd)
        assert_eq("help %s == %s --help" % (cmd, cmd), h.stdout, r.stdout)
    r = tool()
    assert_eq("no command", r.returncode, 1)
    r = tool("frobnicate")
    assert_eq("unknown command", r.returncode, 1)
    if "unknown command 'frobnicate'" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("report", "--no-such-option", "x")
    assert_eq("unknown option", r.returncode, 1)
    r = tool("report", "--by", "nonsense", "x")
    assert_eq("unknown view", r.returncode, 1)


@test
def export_help_and_exit_codes():
    r = ok(tool("export", "--help"), "export --help")
    for want in ("cflow export", "Exit status", "Examples", "bolt", "lcov", "callgrind", "drcov",
                 "genhtml", "callgrind_annotate", "llvm-bolt", "--hits"):
        if want not in r.stdout:
            raise AssertionError("export --help lacks %r" % want)
    assert_eq("help export", ok(tool("help", "export"), "help").stdout, r.stdout)
    prof = record_for_export("loops-x86_64", [guest("x86_64", "loops")])
    assert_eq("no arguments", tool("export").returncode, 1)
    assert_eq("unknown format", tool("export", "gprof", prof).returncode, 1)
    assert_eq("--hits outside drcov", tool("export", "lcov", prof, "--hits", "x").returncode,
              1)
    assert_eq("missing profile",
              tool("export", "bolt", os.path.join(EXPORT_DIR, "nope")).returncode, 2)
    bad = os.path.join(EXPORT_DIR, "damaged.cflow")
    with open(prof, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xFF
    with open(bad, "wb") as f:
        f.write(data)
    for fmt in ("bolt", "lcov", "callgrind", "drcov", "autofdo-llvm", "autofdo-gcc"):
        assert_eq("damaged profile, " + fmt,
                  tool("export", fmt, bad, "-o", os.devnull).returncode, 2)
    r = tool("export", "bolt", prof, "--binary", "no-such-file")
    assert_eq("--binary not in the profile", r.returncode, 1)
    if "no code of 'no-such-file'" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("export", "bolt", prof, "-o", "/nonexistent-dir/x.fdata")
    assert_eq("unwritable output", r.returncode, 1)


def damaged_files():
    src = record("loops", [guest("x86_64", "loops")])
    data = open(src, "rb").read()
    d = os.path.join(TOOLDIR, "bad")
    os.makedirs(d, exist_ok=True)
    files = {}

    def put(name, content):
        p = os.path.join(d, name)
        open(p, "wb").write(content)
        files[name] = p
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    put("damaged", bytes(flipped))
    put("truncated", data[:len(data) - 7])
    put("foreign", open("/bin/true", "rb").read()[:4096])
    future = bytearray(data)
    future[8:12] = struct.pack("<I", 2)
    put("future", bytes(future))
    put("empty", b"")
    files["missing"] = os.path.join(d, "does-not-exist")
    return src, files


@test
def every_command_refuses_bad_profiles_with_exit_2():
    good, files = damaged_files()
    if os.path.exists(os.path.join(TOOLDIR, "never.cflow")):
        os.unlink(os.path.join(TOOLDIR, "never.cflow"))
    for name, path in files.items():
        for args in (["report", path], ["report", "--by", "line", path],
                     ["annotate", path, "main"], ["merge", "-o",
                                                  os.path.join(TOOLDIR, "never.cflow"),
                                                  good, path],
                     ["diff", good, path], ["diff", path, good], ["dot", path],
                     ["json", path], ["check", path], ["top", path]):
            r = tool(*args)
            what = "%s on a %s profile" % (args[0], name)
            assert_eq(what + ": exit status", r.returncode, 2)
            if path not in r.stderr:
                raise AssertionError("%s: message does not name the file: %r" % (what, r.stderr))
            assert_eq(what + ": no output", r.stdout, "")
    assert_eq("merge wrote nothing", os.path.exists(os.path.join(TOOLDIR, "never.cflow")),
              False)
    msgs = {n: tool("check", p).stderr for n, p in files.items()}
    for name, want in (("future", "version"), ("foreign", "not a cflow profile"),
                       ("truncated", "truncated"), ("damaged", "checksum")):
        if want not in msgs[name]:
            raise AssertionError("%s: %r lacks %r" % (name, msgs[name], want))
