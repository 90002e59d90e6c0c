/*
 * hotpath.h: what runs per executed block in fast mode, and the per-vCPU state it touches.
 *
 * Each block B is translated expecting entries from one predecessor instruction E(B): its
 * most frequent predecessor once the plugin has seen the program run (adaptation, below), or
 * else the instruction that falls through into it. The generated code then does, inline (no
 * call): add 1 to B's per-vCPU entry counter; before each instruction, store its id, flagged
 * LAST_FLAG when it is the block's last instruction (so a block left early, by a fault, shows
 * as an unflagged id); in user mode only the first instruction (a mark naming B) and the last
 * one store (sparse blocks, BLOCK_MARK below). A helper call happens only when B is entered
 * and the last instruction started is not E(B): it records one (from, B, kind) occurrence in
 * the vCPU's own edge table, keyed by B's record so that the counts are also B's helper calls.
 * At exit, for every block,
 *     entries from E(B) = entries - helper calls          (exact, by construction)
 * so the cheap, inline-only path covers the common case and still every edge is counted.
 *
 * Adaptation: after `adapt_after` helper calls on a vCPU (and again each time they double, up
 * to twelve times, each time only once the helper calls far outnumber the translated blocks),
 * the plugin asks QEMU to reset its instrumentation (qemu_plugin_reset: all vCPUs stopped, all
 * translations flushed), computes every block's most frequent predecessor so far, and
 * retranslates with those as E(B). Old and new translations are separate BlockRecs, each with
 * its own E(B), so the arithmetic above stays exact across the change.
 *
 * Second predecessors: where QEMU has conditional inline operations (qemu/patches/0006,
 * qemu_compat.h), a re-plan also picks each block's second most frequent recent predecessor
 * E2(B); an entry from it is counted inline (a per-block second counter) and the cursor
 * rewritten to E(B) before the check, so it calls no helper either. Then
 *     entries from E2(B) = second counter,  entries from E(B) = entries - helper calls - that
 *
 * Lean blocks (system mode): at a re-plan, blocks entered at least adapt_after/1024 times are
 * marked hot; retranslated, they skip the id store on middle instructions that cannot leave a
 * block early (register-only integer instructions, disas.h).
 *
 * Many vCPU indices: once per-block counters would outgrow their budget (counter_mib), they
 * are retired and every block entry calls the helper instead (adapt.c, docs/design.md).
 *
 * The helper takes no lock, allocates nothing (edge_table.h), does no I/O.
 *
 * The mode's rooms: hotpath.c (set-up, instrumentation), helper.c (the helper, freezing),
 * vcpus.c (per-vCPU state, vcpu_state.h), adapt.c (re-planning, counter retirement),
 * hotpath_merge.c (the merge); hotpath_internal.h is what they share.
 */
#ifndef CFLOW_HOTPATH_H
#define CFLOW_HOTPATH_H

#include "mode.h"

/* The mode's table (mode.h): all the rest of the plugin sees of fast mode. */
extern const CflowModeOps hotpath_mode;

#endif
