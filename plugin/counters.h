/*
 * counters.h: per-block inline counters, one u64 per slot and vCPU index, in QEMU scoreboards
 * created as slots appear (chunks of COUNTER_SLOTS_PER_CHUNK). The generated code adds to
 * them with inline operations; they are read only at merges (exit, re-plans, snapshots).
 *
 * QEMU sizes every scoreboard by the highest vCPU index ever seen, so a chunk costs 8 KiB per
 * index: small chunks keep that close to what the translated blocks need. A space can be
 * retired (its counts folded into plain per-slot totals, its scoreboards freed) when the
 * indices of a thread-churning program would make it outgrow its budget (adapt.c).
 */
#ifndef CFLOW_COUNTERS_H
#define CFLOW_COUNTERS_H

#include <glib.h>
#include <stdint.h>

#include <qemu-plugin.h>

#define COUNTER_SLOTS_PER_CHUNK 1024

typedef struct {
    GPtrArray *chunks; /* struct qemu_plugin_scoreboard *, COUNTER_SLOTS_PER_CHUNK u64 each */
    GArray *retired;   /* per slot: counts of chunks already retired */
} CounterSpace;

void counters_init(CounterSpace *s);
/* Slots the live chunks hold. */
static inline uint64_t counters_capacity(const CounterSpace *s)
{
    return (uint64_t)s->chunks->len * COUNTER_SLOTS_PER_CHUNK;
}
/*
 * Under the registry lock, at translation: make `slot` exist. `first_unused_index`: vCPU
 * indices from there on have not started; their part of a new chunk goes back to the kernel.
 */
void counters_ensure(CounterSpace *s, uint32_t slot, unsigned int first_unused_index);
/* The scoreboard entry an inline operation counts into for `slot` (which must exist). */
qemu_plugin_u64 counters_entry(const CounterSpace *s, uint32_t slot);
/* Everything counted for `slot`, over every vCPU index, live and retired. */
uint64_t counters_sum(const CounterSpace *s, uint32_t slot);
/* With every vCPU stopped: fold the live chunks into the retired totals and free them. */
void counters_retire(CounterSpace *s);
/* After fork, in the child: zero every count (indices below `used` hold them). */
void counters_reset(CounterSpace *s, unsigned int used);
/* At exit, once nothing reads them: free the live chunks. */
void counters_free(CounterSpace *s);

#endif
