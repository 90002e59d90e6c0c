/*
 * reference.h: the slow, obviously right mode (mode=reference), kept forever as the oracle
 * that every faster scheme is checked against.
 *
 * A helper runs before every instruction, under one global lock, and records every block
 * entry explicitly as (previous instruction -> this block, kind) in one GLib hash table:
 * no inline operations, no scoreboards, nothing derived by subtraction.
 */
#ifndef CFLOW_REFERENCE_H
#define CFLOW_REFERENCE_H

#include <stdbool.h>

#include <qemu-plugin.h>

#include "registry.h"

void reference_init(void);
void reference_instrument(struct qemu_plugin_tb *tb, BlockRec *b);
/* A block at a privilege level not recorded (option priv): marks "control was elsewhere". */
void reference_instrument_foreign(struct qemu_plugin_tb *tb);
void reference_vcpu_init(unsigned int cpu);
void reference_discon(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t to_pc);
void reference_reset_counts(void);
/* Held across fork (cflow.c), so a child never inherits it taken, and across a snapshot's
 * merge, so that every vCPU stands still (recursive). */
void reference_lock(void);
void reference_unlock(void);
void reference_unlock_in_child(void); /* after fork, in the child, instead of unlocking */

/* For collect.c: calls fn(from_id, kind, to, count) for every recorded edge. */
typedef void (*ReferenceEdgeFn)(uint64_t from_id, int hot_kind, uint64_t to, uint64_t count,
                                void *opaque);
/* live: a snapshot of running vCPUs (pending discontinuities are left to their next entry) */
void reference_foreach_edge(ReferenceEdgeFn fn, void *opaque, bool live);
uint64_t reference_block_count(const BlockRec *b);

#endif
