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
 * are retired and every block entry calls the helper instead (hotpath.c, docs/design.md).
 *
 * The helper takes no lock, allocates nothing (edge_table.h), does no I/O.
 */
#ifndef CFLOW_HOTPATH_H
#define CFLOW_HOTPATH_H

#include <stdint.h>

#include <qemu-plugin.h>

#include "edge_table.h"
#include "registry.h"

/* Kinds as recorded on the hot path (k1's top byte); never 0 so k1 is never 0. */
enum {
    HOT_NORMAL = 1,    /* branch or fall-through: told apart at exit by address */
    HOT_EARLY = 2,     /* the previous block did not reach its last instruction */
    HOT_EXCEPTION = 3, /* from a discontinuity callback ... */
    HOT_INTERRUPT = 4,
    HOT_HOSTCALL = 5,
    HOT_ENTRY = 6,     /* no predecessor: a vCPU's first block; not an edge */
    HOT_FOREIGN = 7,   /* entered from code at a privilege level not recorded; not an edge */
};
#define HOT_KIND_SHIFT 56
#define HOT_ID_MASK ((1ull << HOT_KIND_SHIFT) - 1)
#define HOT_KEY(kind, id) (((uint64_t)(kind) << HOT_KIND_SHIFT) | (id))

/* Set in the stored id when the instruction is its block's last: it completed the block. */
#define LAST_FLAG (1ull << 62)
/* The hot-path kind of a discontinuity QEMU reports (both modes record them the same way). */
static inline int hot_kind_of_discon(enum qemu_plugin_discon_type type)
{
    return type == QEMU_PLUGIN_DISCON_INTERRUPT   ? HOT_INTERRUPT
           : type == QEMU_PLUGIN_DISCON_EXCEPTION ? HOT_EXCEPTION
                                                  : HOT_HOSTCALL;
}

/*
 * Sparse blocks (user mode): a block's first instruction stores BLOCK_MARK | its record's
 * slot ("inside this block, not yet complete"), its last one its id | LAST_FLAG, and the ones
 * in between store nothing (but for the few x86 instructions of disas_helper_may_raise).
 * A block left early leaves the mark in the cursor, and the helper places the exit on the
 * instruction from where execution went on: a user-mode block is left mid-way only by a
 * signal (the frame's saved PC names the instruction, sigframe.h) or by QEMU running part of
 * it again (the next block starts at the instruction). An x86 block whose instructions before
 * the last are all register-only (disas_register_only) cannot be left mid-way and stores
 * no mark. See docs/design.md.
 */
#define BLOCK_MARK (1ull << 55)
static inline bool hot_is_mark(uint64_t id)
{
    return (id & BLOCK_MARK) && id < BLOCK_MARK + (1ull << 40);
}

/* A last_id no instruction has: forces the helper on the next block entry. */
#define LAST_ID_DISCON HOT_ID_MASK
/* What blocks of a level not recorded (option priv) store: "control was elsewhere". */
#define LAST_ID_FOREIGN (HOT_ID_MASK - 2)

/*
 * The per-vCPU cursor, in a scoreboard: the only per-vCPU memory QEMU sizes by the highest vCPU
 * index ever seen, so it is kept small. 128 bytes apart, the hot fields of two vCPUs can never
 * share a cache line whatever the alignment of the scoreboard's array.
 */
typedef struct {
    uint64_t last_id;    /* id of the instruction most recently started, | LAST_FLAG if last */
    uint64_t pending;    /* HOT_KEY(kind, from) of a discontinuity not yet attributed */
    uint64_t pending_to; /* where QEMU said it goes: used only if no block runs after it */
    uint64_t pending_from; /* where QEMU said it came from: places a sparse block's exit */
    uint8_t pad[96];
} Cursor;

/*
 * The plugin's own per-vCPU state, allocated when the vCPU starts and folded into the
 * process-wide totals (then freed) when it exits, so a program that churns through thousands
 * of threads holds state only for the live ones.
 */
typedef struct {
    Cursor *cursor;            /* this vCPU's scoreboard element; refreshed on every TB flush */
    EdgeTable edges;
    uint64_t helper_calls;     /* drives adaptation */
    uint64_t next_adapt_check; /* helper_calls value at which to consider it; 0: never */
    uint64_t calls_at_check;   /* helper_calls at the previous check (consider_adaptation) */
    uint64_t blocks_at_check;  /* translations made by then, by every vCPU */
    bool fresh;                /* started on a reused index, no block entered yet: the cursor
                                * is a dead thread's, so the first entry has no predecessor */
    int busy;                  /* inside the helper (or the discontinuity callback): a
                                * snapshot waits for it to leave (hotpath_freeze) */
} VcpuState;

/*
 * The expected predecessor of blocks translated once per-block counters are retired (too many
 * vCPU indices, see hotpath.c): no instruction has it, so every entry calls the helper.
 */
#define EXPECT_EVERY_ENTRY (HOT_ID_MASK - 1)

/* adapt_after: helper calls on one vCPU before the first adaptation; 0 never adapts. */
/* counter_mib: the per-block counters' memory budget over all vCPU indices (hotpath.c) */
/* sparse: instrument sparse blocks (user mode, see BLOCK_MARK) */
/*
 * one_vcpu_snapshots: no profile is ever written while another vCPU runs (no periodic dumps;
 * system mode with one vCPU, or user mode, where a second thread turns second predecessors off
 * again): second predecessors may be counted inline (hotpath.c).
 */
void hotpath_init(qemu_plugin_id_t id, uint64_t adapt_after, uint64_t counter_mib, bool sparse,
                  bool one_vcpu_snapshots, void (*reregister)(void));
/* Retranslate everything soon (a signal handler was installed where code was translated). */
void hotpath_request_retranslation(void);
/*
 * Under the registry lock: the predecessor to expect for a block starting at `start`, and in
 * `second` one whose entries are counted inline too (0: none; a re-plan's choice where QEMU
 * has conditional inline operations, qemu_compat.h).
 */
uint64_t hotpath_expected_pred(uint64_t start, uint64_t *second);
/* Before hotpath_expected_pred(start) and hotpath_instrument: start loading what they probe. */
void hotpath_prefetch(uint64_t start);
/* Under the registry lock: instrument one translated block (fast mode). */
void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b);
/* A block at a privilege level not recorded: it only marks the cursor LAST_ID_FOREIGN. */
void hotpath_instrument_foreign(struct qemu_plugin_tb *tb);
void hotpath_vcpu_init(unsigned int cpu);
/* On the exiting vCPU's thread: fold its counts into the process totals and free its state. */
void hotpath_vcpu_exit(unsigned int cpu);
/*
 * QEMU's TB flush callback. QEMU reallocates scoreboards (when a vCPU index outgrows them)
 * only with every vCPU stopped and then flushes all translations, so refreshing the cached
 * cursor pointers here keeps them valid without an API call in the helper.
 */
void hotpath_flush(void);
void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t from_pc,
                    uint64_t to_pc);
/* Outside the hot path, on the vCPU's own thread: refill edge table spares. */
void hotpath_housekeeping(unsigned int cpu);
/* Held across fork (cflow.c), so a child never inherits it taken. */
void hotpath_lock_vcpus(void);
void hotpath_unlock_vcpus(void);
/* After fork, in the child (with the vCPU lock released): forget every count. */
void hotpath_reset_counts(void);

/*
 * User-mode exit (QEMU has unregistered every callback and flushed all translations, so
 * nothing counts, records or re-plans again): free what only re-planning needs (before the
 * final merge), then the edge tables and counters (after it), so the memory they held serves
 * the profile being built.
 */
void hotpath_release_planning(void);
void hotpath_release_counts(void);

unsigned int hotpath_adaptations(void);
bool hotpath_counters_retired(void); /* per-block counters gave way to a helper per entry */
uint64_t hotpath_skipped_stores(void); /* translation-time count, under the registry lock */
/* Early exits of sparse blocks placed on the block's first instruction for want of a better
 * place (should stay 0: no signal frame, no continuation, no reported address inside it) */
uint64_t hotpath_unplaced_exits(void);
/* Helper calls that named a vCPU index with no state (should stay 0; see hotpath.c) */
uint64_t hotpath_unknown_vcpu_entries(void);

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

#endif
