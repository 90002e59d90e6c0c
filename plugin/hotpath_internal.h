/*
 * hotpath_internal.h: what the rooms of fast mode share (hotpath.h says what the mode does).
 * hotpath.c sets the mode up and instruments blocks; helper.c is what runs when a block entry
 * needs more than the inline code, and the freeze of snapshots; vcpus.c starts, stops and
 * resets each vCPU's state (vcpu_state.h); adapt.c re-plans and retires the per-block
 * counters; hotpath_merge.c turns all the counts into edges and entries. Nothing outside
 * those files includes this header: the rest of the plugin knows the mode by its table only.
 */
#ifndef CFLOW_HOTPATH_INTERNAL_H
#define CFLOW_HOTPATH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <qemu-plugin.h>

#include "counters.h"
#include "edge_table.h"
#include "mode.h"
#include "registry.h"
#include "u64map.h"
#include "vcpu_state.h"

/*
 * The expected predecessor of blocks translated once per-block counters are retired (too many
 * vCPU indices, see adapt.c): no instruction has it, so every entry calls the helper.
 */
#define EXPECT_EVERY_ENTRY (HOT_ID_MASK - 1)

/* Hidden for the same reason as vcpu_state.h's: no GOT between the rooms. */
#pragma GCC visibility push(hidden)

/* ---- hotpath.c: set up at install; instrumentation, under the registry lock ---- */
extern CounterSpace entry_counters; /* per block slot: its entries (counters.h) */
/*
 * per second-predecessor slot (BlockRec.slot2 - 1): entries from the block's second expected
 * predecessor, counted by a conditional inline operation where QEMU has one (qemu_compat.h)
 */
extern CounterSpace second_counters;
extern U64Map second_choice; /* block start -> its second most frequent predecessor */
/*
 * Second predecessors may be chosen: QEMU has conditional inline operations, and no profile
 * is ever taken while another vCPU runs (hotpath_init). A snapshot of running vCPUs is exact
 * because it stops every helper at its door and an entry that calls none comes from the
 * expected predecessor, whenever it is counted; a second counter read while its vCPU runs
 * would be read at another moment than the entries it is subtracted from.
 */
extern bool seconds_allowed;
extern bool sparse;                /* sparse blocks (BLOCK_MARK) */
extern uint64_t translated_blocks; /* translations instrumented so far */
uint64_t hotpath_skipped_stores(void); /* translation-time count, under the registry lock */

/* ---- adapt.c: re-planning and the retirement of per-block counters ---- */
extern uint64_t adapt_after;   /* helper calls on one vCPU before the first re-plan; 0: never */
extern bool counters_retired;  /* blocks now expect EXPECT_EVERY_ENTRY */
extern U64Map dominant;        /* block start -> most frequent predecessor id */
extern U64Map hot_starts;      /* starts of blocks entered often enough to go lean -> 1 */
extern EdgeTable previous_seen; /* cumulative counts at the previous re-plan */
void adapt_init(qemu_plugin_id_t id, uint64_t counter_mib, void (*reregister)(void));
/* Rare: ask QEMU to stop the vCPUs, flush, and let us re-plan or retire (see hotpath.h). */
void request_reset(void);
/* Would counters for `indices` vCPU indices and `slots` blocks exceed the budget? Retire. */
void retire_counters_if_over(uint64_t indices, uint64_t slots);
/* From the helper, at helper-call counts that double: is re-planning worth it now? */
void consider_adaptation(VcpuState *v);
unsigned int hotpath_adaptations(void);
/* The guest installed a signal handler: retranslate if its code was translated already. */
void hotpath_signal_handler_installed(uint64_t handler);

/* ---- helper.c: the helper and the discontinuity callback, and the freeze of snapshots ---- */
void helper_init(void);
void on_unexpected_entry(unsigned int cpu, void *udata);
void on_signal_entry(unsigned int cpu, void *udata);
uint64_t place_in_block(uint64_t mark, uint64_t pc);
/* A key whose source is a sparse block's mark, with the source placed (place_in_block). */
static inline uint64_t placed(uint64_t key, uint64_t pc)
{
    uint64_t id = key & HOT_ID_MASK;
    return hot_is_mark(id) ? (key & ~HOT_ID_MASK) | place_in_block(id, pc) : key;
}
void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t from_pc,
                    uint64_t to_pc);
/*
 * Snapshots while vCPUs run (periodic dumps, an exec, a system-mode exit that one vCPU
 * starts while the others go on): freeze stops every helper at its door (a vCPU that needs
 * one waits there; one inside is waited for), so the edge tables stand still while they are
 * read. The inline counters go on, which is consistent by construction: an entry that needs
 * no helper is one from the block's expected predecessor, at whatever moment it is read. What
 * can remain is an entry whose helper ran and whose inline count has not yet (at most one per
 * vCPU): the merge counts it as an entry ("in flight"), so in-edges always sum to entries.
 */
void hotpath_freeze(void);
void hotpath_thaw(void);
/* Early exits of sparse blocks placed on the block's first instruction for want of a better
 * place (should stay 0: no signal frame, no continuation, no reported address inside it) */
uint64_t hotpath_unplaced_exits(void);
/* Helper calls that named a vCPU index with no state (should stay 0; see helper.c) */
uint64_t hotpath_unknown_vcpu_entries(void);

/* ---- vcpus.c: each vCPU's state from start to exit ---- */
extern EdgeTable retired_edges; /* exited vCPUs' edge tables, folded; under vcpus_lock */
extern uint64_t retired_hot_allocs;
void vcpus_init(void);
void hotpath_vcpu_init(unsigned int cpu);
/* On the exiting vCPU's thread: fold its counts into the process totals and free its state. */
void hotpath_vcpu_exit(unsigned int cpu);
/*
 * QEMU's TB flush callback. QEMU reallocates scoreboards (when a vCPU index outgrows them)
 * only with every vCPU stopped and then flushes all translations, so refreshing the cached
 * cursor pointers here keeps them valid without an API call in the helper.
 */
void hotpath_flush(void);
/* Outside the hot path, on the vCPU's own thread: refill edge table spares. */
void hotpath_housekeeping(unsigned int cpu);
/* Held across fork (cflow.c), so a child never inherits it taken. */
void hotpath_lock_vcpus(void);
void hotpath_unlock_vcpus(void);
/* After fork, in the child (with the vCPU lock released): forget every count. */
void hotpath_reset_counts(void);

/* ---- hotpath_merge.c: every count, merged ---- */
typedef struct {
    uint64_t entries;       /* block entries */
    uint64_t helper_calls;  /* of those, the ones that called the helper */
    uint64_t inconsistent;  /* helper calls beyond inline-counted entries: must be 0 when
                             * every vCPU is stopped */
    uint64_t in_flight;     /* the same, in a snapshot of running vCPUs (see hotpath_freeze) */
    uint64_t hot_allocs;    /* edge-table growths that had to allocate on the hot path */
    uint64_t second_entries; /* entries counted inline as from a second predecessor */
    uint64_t *block_entries; /* per block record (registry index), g_free by the caller */
} HotpathTotals;

/*
 * Under the registry lock: every edge fast mode counted, merged into `into` keyed by
 * destination address: the helper's recorded entries, pending discontinuities, and each block
 * record's entries from its expected predecessor (entries - helper calls; HOT_ENTRY where it
 * expected none). Reads other vCPUs' tables: call with them stopped (exit, adaptation) or
 * frozen (live: a snapshot, see hotpath_freeze).
 */
void hotpath_merge_all(EdgeTable *into, HotpathTotals *totals, bool live);
/* The mode's collect entry (mode.h): hotpath_merge_all, and how the inline path carried it. */
uint64_t *hotpath_collect(EdgeTable *into, CflowProfile *p, bool live);
/*
 * User-mode exit (QEMU has unregistered every callback and flushed all translations, so
 * nothing counts, records or re-plans again): free what only re-planning needs (before the
 * final merge), then the edge tables and counters (after it), so the memory they held serves
 * the profile being built.
 */
void hotpath_release_planning(void);
void hotpath_release_counts(void);
void hotpath_run_meta(CflowProfile *p);

#pragma GCC visibility pop

#endif
