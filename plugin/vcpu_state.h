/*
 * vcpu_state.h: fast mode's per-vCPU state (hotpath.h): the cursor its inline code writes, the
 * plugin's own state of each live vCPU, and the table that finds that state from a vCPU
 * index without a lock. Every room of fast mode reads it; vcpus.c alone creates and frees it.
 */
#ifndef CFLOW_VCPU_STATE_H
#define CFLOW_VCPU_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qemu-plugin.h>

#include "edge_kind.h"
#include "edge_table.h"

/* Set in the stored id when the instruction is its block's last: it completed the block. */
#define LAST_FLAG (1ull << 62)

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
 * The shared state below is hidden (the whole plugin is, but an extern declaration would
 * still be reached through the GOT): the helper reads the vCPU table as cheaply as when it
 * was a static of the helper's own file.
 */
#pragma GCC visibility push(hidden)

/* Two-level vCPU table covering every non-negative int index; pages appear as indices do. */
#define VCPU_PAGE_BITS 10
#define VCPU_PAGE_SIZE (1u << VCPU_PAGE_BITS)
#define VCPU_PAGES (1u << (31 - VCPU_PAGE_BITS))
extern VcpuState **vcpu_pages[VCPU_PAGES];
extern unsigned int vcpu_limit; /* highest index initialised + 1; under vcpus_lock */
extern unsigned int live_vcpus; /* under vcpus_lock */
/*
 * vCPU start and exit, TB flushes and merges take it; the hot path never does. Exits run on
 * the exiting thread outside QEMU's exclusive sections, concurrently with everything else.
 */
extern pthread_mutex_t vcpus_lock;
/* the per-vCPU cursors (QEMU's scoreboard; fast mode's hot path writes them inline) */
extern struct qemu_plugin_scoreboard *cursors;
/* What an exited vCPU leaves in its slot: its index was used, its cursor is stale. */
extern VcpuState exited;
/*
 * The vCPU this thread runs (user mode, MTTCG: one thread per vCPU), so that translation, which
 * runs on that thread, can refill its edge table's spare between syscalls.
 */
extern __thread VcpuState *self;

static inline VcpuState *vcpu_slot(unsigned int cpu)
{
    if (__builtin_expect(cpu >> VCPU_PAGE_BITS >= VCPU_PAGES, 0)) {
        return NULL; /* no index QEMU gives a vCPU (int), but never trusted blindly */
    }
    VcpuState **page = __atomic_load_n(&vcpu_pages[cpu >> VCPU_PAGE_BITS], __ATOMIC_ACQUIRE);
    return page ? __atomic_load_n(&page[cpu & (VCPU_PAGE_SIZE - 1)], __ATOMIC_ACQUIRE) : NULL;
}

/* The live state of vCPU `cpu`, or NULL. */
static inline VcpuState *vcpu_of(unsigned int cpu)
{
    VcpuState *v = vcpu_slot(cpu);
    return v == &exited ? NULL : v;
}

static inline qemu_plugin_u64 cursor_field(size_t offset)
{
    return (qemu_plugin_u64){.score = cursors, .offset = offset};
}

static inline Cursor *cursor_of(unsigned int cpu)
{
    return qemu_plugin_scoreboard_find(cursors, cpu);
}

#pragma GCC visibility pop

#endif
