"""
`cflow record`: the guest's exit status, streams and architecture pass through; errors. System
mode: QEMU itself after `--` (a bare-metal aarch64 guest booted as a raw image, named through
--symbols as a Linux kernel is through its System.map), user-mode QEMU named explicitly, and a
QEMU without plugins refused.
"""
import json
import os
import signal
import tempfile

from cflow_tool import as_json, ok, tool
from harness import (TOOL, WORK, assert_eq, edge_count, guest, run, symbols, system_guest,
                     system_machine, test)


@test
def record_passes_status_streams_and_architecture():
    d = tempfile.mkdtemp(dir=WORK)
    # exact counts through record: the x86_64 loops guest's inner branch is taken 84 times
    loops = guest("x86_64", "loops")
    r = tool("record", loops, cwd=d)  # default output cflow.data, in the current directory
    ok(r, "record loops")
    assert_eq("guest stdout passed through", r.stdout, "loops ok\n")
    assert_eq("nothing added to stderr off a terminal", r.stderr, "")
    prof = as_json(os.path.join(d, "cflow.data"))
    s = symbols(loops)
    assert_eq("inner branch", edge_count(prof, s["inner_branch"], s["inner_top"],
                                         "branch"), 84)
    assert_eq("record runs report=off", "top 10" in r.stderr, False)
    # architecture from the ELF header
    for arch in ("aarch64", "riscv64"):
        out = os.path.join(d, arch + ".cflow")
        ok(tool("record", "-o", out, "--", guest(arch, "loops")), "record " + arch)
        assert_eq(arch + " meta", as_json(out)["meta"]["arch"], arch)
    # exit status, death by signal, stdin
    lc = guest("c", "lifecycle")
    r = tool("record", "-o", os.path.join(d, "x.cflow"), lc, "exit3")
    assert_eq("exit status passed through", r.returncode, 3)
    r = tool("record", "-o", os.path.join(d, "c.cflow"), lc, "crash")
    assert_eq("death by SIGSEGV", r.returncode, 128 + signal.SIGSEGV)
    ok(tool("check", os.path.join(d, "c.cflow")), "profile after a crash")
    r = run([TOOL, "record", "-o", os.path.join(d, "cat.cflow"), "--", "cat"],
            input="through stdin\n")
    ok(r, "record cat")
    assert_eq("stdin to stdout", r.stdout, "through stdin\n")
    # guest options after the program are the guest's, plugin options reach the plugin
    r = tool("record", "-o", os.path.join(d, "sh.json"), "--plugin-opt", "format=json",
             "/bin/sh", "-c", "echo $0 -x", "arg0")
    ok(r, "record sh")
    assert_eq("guest's own options", r.stdout, "arg0 -x\n")
    json.load(open(os.path.join(d, "sh.json")))
    # errors: no program, not ELF without --arch, no QEMU, unwritable output
    assert_eq("no program", tool("record").returncode, 1)
    script = os.path.join(d, "script.txt")
    open(script, "w").write("hello\n")
    r = tool("record", script)
    assert_eq("not ELF", r.returncode, 1)
    if "--arch" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("record", "--qemu", "/nonexistent/qemu", loops)
    assert_eq("no QEMU", r.returncode, 1)
    r = tool("record", "-o", "/nonexistent-dir/p.cflow", loops)
    assert_eq("unwritable output", r.returncode != 0, True)


# aarch64-hot.S's constants: _start calls hot and cold ROUNDS times; they loop HOT_N, COLD_N
HOT_ROUNDS, HOT_N, COLD_N = 1000, 100, 10


def raw_kernel(binary, d):
    """BINARY as a raw image (QEMU then knows no symbol of it, as of a Linux bzImage) and a
    System.map of its functions alone."""
    image = os.path.join(d, "hot.img")
    ok(run(["aarch64-linux-gnu-objcopy", "-O", "binary", binary, image]), "objcopy")
    functions = ("_start", "hot", "cold", "clock")
    lines = [ln for ln in run(["aarch64-linux-gnu-nm", binary]).stdout.splitlines()
             if ln.split()[-1] in functions]
    sysmap = os.path.join(d, "System.map")
    with open(sysmap, "w") as f:
        f.write("\n".join(lines) + "\n")
    return image, sysmap


@test
def record_system_mode_names_bare_metal_functions():
    binary = system_guest("hot")
    d = tempfile.mkdtemp(dir=WORK)
    image, sysmap = raw_kernel(binary, d)
    out = os.path.join(d, "hot.cflow")
    r = tool("record", "-o", out, "--symbols", sysmap, "--", *system_machine(image))
    assert_eq("QEMU's status, the guest's semihosting exit (%s)" % r.stderr[-300:],
              r.returncode, 3)
    prof = as_json(out)
    assert_eq("mode", prof["meta"]["mode"], "system")
    s = symbols(binary, "aarch64")
    assert_eq("hot's loop", edge_count(prof, s["hot_branch"], s["hot_top"], "branch"),
              HOT_ROUNDS * (HOT_N - 1))
    r = ok(tool("report", "--by", "function", "--topn", "0", "--format", "json", out), "report")
    groups = {g["function"]: g for g in json.loads(r.stdout)["groups"]}
    for name, n in (("hot", HOT_N), ("cold", COLD_N)):
        if name not in groups:
            raise AssertionError("no function %r in the report: %s" % (name, sorted(groups)))
        g = groups[name]
        assert_eq(name + " entries", g["entries"], HOT_ROUNDS)
        assert_eq(name + " executed", g["executed"], HOT_ROUNDS * (2 * n + 2))
        assert_eq(name + " branches (back edges and the return)", g["branches"],
                  HOT_ROUNDS * n)
        assert_eq(name + " fall-throughs", g["fallthroughs"], HOT_ROUNDS)
    text = ok(tool("report", "--by", "function", out), "report").stdout.splitlines()
    # branches, fall-throughs, entries, exceptions, executed, function: hot ranks first
    assert_eq("the hottest function's row", text[2].split()[:6],
              [str(HOT_ROUNDS * HOT_N), str(HOT_ROUNDS), str(HOT_ROUNDS), "0",
               str(HOT_ROUNDS * (2 * HOT_N + 2)), "hot"])
    # without --symbols QEMU knows no names in a raw image: the map is what names them
    bare = os.path.join(d, "bare.cflow")
    assert_eq("status", tool("record", "-o", bare, "--", *system_machine(image)).returncode, 3)
    r = ok(tool("report", "--by", "function", "--format", "json", bare), "report")
    names = {g["function"] for g in json.loads(r.stdout)["groups"]}
    if "hot" in names:
        raise AssertionError("hot named without --symbols: the test proves nothing")


@test
def record_user_mode_qemu_named_explicitly():
    loops = guest("x86_64", "loops")
    d = tempfile.mkdtemp(dir=WORK)
    out = os.path.join(d, "loops.cflow")
    # a bare name: the project's QEMU; the plugin goes before the guest program
    r = ok(tool("record", "-o", out, "--", "qemu-x86_64", loops), "record qemu-x86_64")
    assert_eq("guest stdout", r.stdout, "loops ok\n")
    s = symbols(loops)
    assert_eq("inner branch", edge_count(as_json(out), s["inner_branch"], s["inner_top"],
                                         "branch"), 84)


@test
def record_refuses_a_qemu_without_plugins():
    d = tempfile.mkdtemp(dir=WORK)
    fake = os.path.join(d, "qemu-system-x86_64")
    # what a QEMU configured with --disable-plugins says to -h: no -plugin line
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'usage: qemu-system-x86_64 [options] [disk_image]'\n"
                "echo '-kernel bzImage use bzImage as kernel image'\nexit 0\n")
    os.chmod(fake, 0o755)
    r = tool("record", "-o", os.path.join(d, "p.cflow"), "--", fake, "-kernel", "x")
    assert_eq("status", r.returncode, 1)
    for word in (fake, "plugins"):
        if word not in r.stderr:
            raise AssertionError("the message does not say %r: %r" % (word, r.stderr))
    binary = system_guest("hot")
    r = tool("record", "--arch", "aarch64", "--", *system_machine(binary))
    assert_eq("--arch with QEMU as the program", r.returncode, 1)
    if "QEMU itself" not in r.stderr:
        raise AssertionError(r.stderr)
    r = tool("record", "--symbols", os.path.join(d, "nonexistent.map"), "--",
             *system_machine(binary))
    assert_eq("missing --symbols file", r.returncode, 1)
    if "nonexistent.map" not in r.stderr:
        raise AssertionError(r.stderr)
