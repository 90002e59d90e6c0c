"""
`cflow record`: the guest's exit status, streams and architecture pass through; errors.
"""
import json
import os
import signal
import tempfile

from cflow_tool import as_json, ok, tool
from harness import TOOL, WORK, assert_eq, edge_count, guest, run, symbols, test


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
