/*
 * hotpath.h: what runs per executed block in fast mode, and the per-vCPU state it touches.
 *
 * Per block the generated code does, inline (no call): add 1 to the block's per-vCPU
 * execution counter; store the block's last-instruction id and the address it falls through
 * to; per instruction, store that instruction's id. A helper call happens only when a block is
 * entered other than by falling through from its owner instruction (registry.h): it records
 * one (from, to, kind) occurrence in the vCPU's own edge table. Fall-through counts are then
 * exact by subtraction at exit: entries of a block minus the entries the helper saw.
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
};
#define HOT_KIND_SHIFT 56
#define HOT_ID_MASK ((1ull << HOT_KIND_SHIFT) - 1)
#define HOT_KEY(kind, id) (((uint64_t)(kind) << HOT_KIND_SHIFT) | (id))

/* next_pc value that matches no block: forces the helper on the next entry. */
#define NEXT_PC_NONE UINT64_MAX

/*
 * The per-vCPU cursor, in a scoreboard. The element is padded so that no two vCPUs' hot
 * fields can share a cache line whatever the alignment of the scoreboard's array (>= 16).
 */
typedef struct {
    uint8_t pad_before[64];
    uint64_t last_id;     /* id of the instruction most recently started */
    uint64_t block_last;  /* id of the current block's last instruction */
    uint64_t next_pc;     /* where the current block falls through to, or NEXT_PC_NONE */
    uint64_t pending;     /* HOT_KEY(kind, from) of a discontinuity not yet attributed */
    uint8_t pad_after[96];
} Cursor;

typedef struct {
    EdgeTable edges;
    uint64_t entries; /* vCPU init events seen on this index */
} VcpuState;

#define CFLOW_MAX_VCPUS 4096

void hotpath_init(void);
/* Instrument one translated block (fast mode). */
void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b, const uint64_t *ids);
void hotpath_vcpu_init(unsigned int cpu);
void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type);
/* Outside the hot path, on the vCPU's own thread: refill edge table spares. */
void hotpath_housekeeping(unsigned int cpu);
/* After fork, in the child: forget every count. */
void hotpath_reset_counts(void);

VcpuState *hotpath_vcpu(unsigned int cpu); /* NULL if never initialised */
unsigned int hotpath_vcpu_limit(void);      /* highest initialised index + 1 */
uint64_t hotpath_block_count(const BlockRec *b); /* summed over vCPUs */

#endif
