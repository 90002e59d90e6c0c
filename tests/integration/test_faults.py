"""
Faults and instructions QEMU executes again: faults in the middle of hot lean blocks stay
exact (even when the handler ran as plain code before it was installed), a faulting call or
ret is an early exit and no branch, and instructions QEMU re-executes (rep, lock) are no edges.
"""
from harness import (MODES, assert_clean, assert_eq, canonical_edges, edge_count, executions,
                     guest, profile_json, symbols, test)


@test
def faults_in_hot_lean_blocks_are_exact(late=False):
    """Blocks skip stores on instructions in their middle (user mode: all but the first and the
    last; the signal frame or QEMU's restart point places an exit): faults must stay exact."""
    binary = guest("c", "faults")
    s = symbols(binary)
    args = [binary] + (["late"] if late else [])
    ref, r = profile_json("x86_64", args, MODES["reference"])
    assert_eq("exit status", r.returncode, 0)
    want = {"fault_load": ("early-exit", 3000), "fault_store": ("early-exit", 3000),
            "fault_div": ("exception", 3000), "fault_rep": ("early-exit", 3000)}
    for mode in ("fast", "adaptive"):
        prof, r = profile_json("x86_64", args, MODES[mode])
        assert_eq("exit status", r.returncode, 0)
        assert_clean(prof)
        for label, (kind, n) in want.items():
            got = sum(e["count"] for e in prof["edges"]
                      if int(e["from"], 16) == s[label] and e["kind"] == kind)
            assert_eq("%s %s %s" % (mode, label, kind), got, n)
        assert_eq(mode + " edges", canonical_edges(prof), canonical_edges(ref))
    if int(prof["meta"]["adaptations"]) < 1:
        raise AssertionError("the adaptive run never re-planned")


@test
def faults_exact_when_the_handler_ran_before_it_was_installed():
    """The handler's first block was translated as plain code before sigaction: the plugin
    must translate it again as a handler (it reads the signal frame there)."""
    faults_in_hot_lean_blocks_are_exact(late=True)


@test
def faulting_call_and_ret_are_early_exits():
    binary = guest("c", "callfault")
    s = symbols(binary)
    profiles = {}
    for name, extra in (("fast", []), ("reference", ["mode=reference"]),
                        ("disas=qemu", ["disas=qemu"])):
        prof, r = profile_json("x86_64", [binary], extra + ["report=off"])
        assert_eq(name + " exit status", r.returncode, 0)
        for insn in ("call_insn", "ret_insn"):
            assert_eq("%s %s early exits" % (name, insn),
                      edge_count(prof, s[insn], s["on_segv"], "early-exit"), 5)
            branches = [e for e in prof["edges"]
                        if int(e["from"], 16) == s[insn] and e["kind"] == "branch"]
            if branches:
                raise AssertionError("%s: %s reported as a branch: %s" % (name, insn, branches))
        assert_eq(name + " real call of the handler",
                  edge_count(prof, s["ind_call"], s["on_segv"], "branch"), 1)
        profiles[name] = [(e["from"], e["to"], e["kind"], e["count"]) for e in prof["edges"]]
    # disas=qemu changes the text only
    assert_eq("disas=qemu edges", sorted(profiles["disas=qemu"]), sorted(profiles["fast"]))


def reexec_check(prof, s, label):
    for insn in ("rep_insn", "lock_insn"):
        selfs = [e for e in prof["edges"]
                 if int(e["from"], 16) == s[insn] and int(e["to"], 16) == s[insn]]
        if selfs:
            raise AssertionError("%s: edges from %s to itself: %s" % (label, insn, selfs))
    assert_eq(label + " rep loop", edge_count(prof, s["rep_branch"], s["rep_top"], "branch"), 2)
    assert_eq(label + " lock loop", edge_count(prof, s["lock_branch"], s["lock_top"], "branch"),
              999)
    executed = executions(prof)
    for insn, want in (("rep_top", 3), ("rep_insn", 3), ("lock_top", 1000), ("lock_insn", 1000),
                       ("lock_branch", 1000)):
        assert_eq("%s executions of %s" % (label, insn), executed.get(s[insn]), want)


@test
def instructions_qemu_reexecutes_are_not_edges():
    binary = guest("c", "reexec")
    s = symbols(binary)
    for args in ([], ["thread"]):
        for mode in ("fast", "reference"):
            prof, r = profile_json("x86_64", [binary] + args, ["mode=" + mode, "report=off"])
            assert_eq("exit status", r.returncode, 0)
            reexec_check(prof, s, "%s %s" % (mode, " ".join(args) or "single"))
