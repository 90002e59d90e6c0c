"""
The profile file the plugin writes: the binary form read back by the tool equals the JSON
form, every edge's source has its instruction, a damaged file is refused; the meta names the
guest's own command line.
"""
import json
import os

from harness import TOOL, WORK, assert_eq, canonical_edges, guest, profile_json, qemu, run, test


@test
def binary_profile_round_trips_through_the_tool():
    binary = guest("x86_64", "loops")
    path = os.path.join(WORK, "loops.cflow")
    r = qemu("x86_64", [binary], ["output=" + path, "report=off"])
    assert_eq("exit status", r.returncode, 0)
    c = run([TOOL, "check", path])
    assert_eq("cflow check", c.returncode, 0)
    j = run([TOOL, "json", path])
    assert_eq("cflow json", j.returncode, 0)
    from_binary = json.loads(j.stdout)
    from_json, _ = profile_json("x86_64", [binary])
    assert_eq("edges", canonical_edges(from_binary), canonical_edges(from_json))
    assert_eq("insn count", len(from_binary["insns"]), len(from_json["insns"]))
    for key in ("arch", "mode", "qemu_version", "vcpus", "cmdline", "plugin_api"):
        if key not in from_binary["meta"]:
            raise AssertionError("meta lacks " + key)
    assert_eq("arch", from_binary["meta"]["arch"], "x86_64")
    assert_eq("guest command line", from_binary["meta"]["cmdline"], binary)
    assert_eq("mode", from_binary["meta"]["mode"], "user")
    # every edge source has an instruction record with disassembly
    addrs = {i["addr"] for i in from_binary["insns"] if i["disas"]}
    missing = [e["from"] for e in from_binary["edges"] if e["from"] not in addrs]
    assert_eq("edge sources without an instruction", missing, [])
    # a damaged file is refused with a message, not a crash
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x40
    bad = os.path.join(WORK, "damaged.cflow")
    open(bad, "wb").write(bytes(data))
    c = run([TOOL, "report", bad])
    assert_eq("exit status on a damaged profile", c.returncode, 2)
    if bad not in c.stderr or c.returncode < 0:
        raise AssertionError("no clear message: " + c.stderr)


@test
def guest_command_line_through_a_symlink():
    """/bin/sh is a link to dash: the meta's command line is still the guest's own."""
    prof, r = profile_json("x86_64", ["/bin/sh", "-c", "exit 0"])
    assert_eq("exit status", r.returncode, 0)
    assert_eq("cmdline", prof["meta"]["cmdline"], "/bin/sh -c exit 0")
