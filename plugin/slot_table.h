/*
 * slot_table.h: the registry's indexes (registry.c): open addressing over small slots, linear
 * probing, never shrinking, nothing ever removed. Apart from the registry because it is a
 * data structure of its own, not a record; all inline, as it was inside registry.c, since
 * translation probes it for every instruction.
 */
#ifndef CFLOW_SLOT_TABLE_H
#define CFLOW_SLOT_TABLE_H

#include <glib.h>
#include <stdint.h>

/*
 * A slot is (32-bit hash << 32 | index + 1), 0 when empty: a probe compares hashes in the
 * table itself and touches a record only when they match.
 */
typedef struct {
    uint64_t *slots;
    uint64_t mask; /* capacity - 1, capacity a power of two */
    uint64_t used;
} SlotTable;

static inline void slots_init(SlotTable *t, uint64_t capacity)
{
    t->slots = g_new0(uint64_t, capacity);
    t->mask = capacity - 1;
    t->used = 0;
}

static inline uint32_t slot_hash(uint64_t slot)
{
    return (uint32_t)(slot >> 32);
}

static inline uint64_t slot_index(uint64_t slot)
{
    return (uint32_t)slot - 1;
}

/*
 * Keeps the load at most 3/4: probes compare 8-byte slots (hashes, not records), a few per
 * cache line, so runs that long stay cheap, and inserting never fails.
 */
static inline void slots_insert(SlotTable *t, uint32_t hash, uint64_t index)
{
    if (4 * (t->used + 1) > 3 * (t->mask + 1)) {
        SlotTable bigger;
        slots_init(&bigger, 2 * (t->mask + 1));
        for (uint64_t i = 0; i <= t->mask; i++) {
            if (t->slots[i]) {
                uint64_t j = slot_hash(t->slots[i]) & bigger.mask;
                while (bigger.slots[j]) {
                    j = (j + 1) & bigger.mask;
                }
                bigger.slots[j] = t->slots[i];
            }
        }
        bigger.used = t->used;
        g_free(t->slots);
        *t = bigger;
    }
    uint64_t j = hash & t->mask;
    while (t->slots[j]) {
        j = (j + 1) & t->mask;
    }
    t->slots[j] = (uint64_t)hash << 32 | (index + 1);
    t->used++;
}

/* Slot `i` of an index and the last of its run of 8: the run may straddle two lines. */
static inline void slots_prefetch(const SlotTable *t, uint64_t i)
{
    __builtin_prefetch(&t->slots[i & t->mask]);
    __builtin_prefetch(&t->slots[(i + 7) & t->mask]);
}

#endif
