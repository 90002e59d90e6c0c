/*
 * edge_table.h: the per-vCPU edge counter table used by the hot path.
 *
 * Open addressing with linear probing over 24-byte slots {k1, k2, count}; k1 == 0 marks an
 * empty slot, so callers must never use k1 == 0 (the plugin packs a non-zero kind into k1).
 * One table belongs to one vCPU: no locks, no atomics.
 *
 * A vCPU's table doubles when half full. Growth never allocates on the hot path when it can
 * help it: such a table carries a spare array of twice its capacity, allocated ahead of time
 * outside the hot path (edge_table_refill_spare), and moves into it. Only if the spare is
 * missing when needed does the add allocate, and it counts that in `hot_allocs` so the profile
 * can say so. A private table (merges at exit and re-plans) grows at 3/4 full: its probes
 * are no hot path, and its memory is part of the exit's peak.
 *
 * Retired arrays are kept until edge_table_destroy, so a reader on another thread (a snapshot
 * taken at exec, or a periodic dump) never touches freed memory.
 */
#ifndef CFLOW_EDGE_TABLE_H
#define CFLOW_EDGE_TABLE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t k1, k2, count;
} EdgeSlot;

typedef struct {
    EdgeSlot *slots;   /* capacity entries */
    uint64_t mask;     /* capacity - 1 */
    uint64_t used;
    uint64_t grow_at;  /* used count past which it doubles */
    EdgeSlot *spare;   /* NULL or 2 * capacity zeroed entries */
    uint64_t hot_allocs;
    GPtrArray *retired; /* NULL: a private table */
} EdgeTable;

void edge_table_init(EdgeTable *t, uint64_t capacity_pow2);
/* A table only its own thread ever reads (merges, re-plans): old arrays are freed as it grows. */
void edge_table_init_private(EdgeTable *t, uint64_t capacity_pow2);
void edge_table_destroy(EdgeTable *t);
/*
 * Outside the hot path, on the table's own thread: make sure a spare is ready for the next
 * growth, and free the arrays growth retired (a snapshot reads only the current array, with
 * the helper that could grow it stopped at its door: hotpath_freeze).
 */
void edge_table_refill_spare(EdgeTable *t);
/* Zeroes every count and key (after fork, the child starts empty). */
void edge_table_clear(EdgeTable *t);

static inline uint64_t edge_table_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = k1 * 0x9e3779b97f4a7c15ull ^ (k2 + 0x632be59bd9b4e019ull);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

void edge_table_grow(EdgeTable *t); /* out of line: rare */
/* Outside the hot path: room for `keys` keys without growing (a merge that knows its size). */
void edge_table_reserve(EdgeTable *t, uint64_t keys);

/* The hot path: count one occurrence of (k1, k2) by n. */
static inline void edge_table_add(EdgeTable *t, uint64_t k1, uint64_t k2, uint64_t n)
{
    uint64_t i = edge_table_hash(k1, k2) & t->mask;
    for (;;) {
        EdgeSlot *s = &t->slots[i];
        if (s->k1 == k1 && s->k2 == k2) {
            s->count += n;
            return;
        }
        if (s->k1 == 0) {
            s->k1 = k1;
            s->k2 = k2;
            s->count = n;
            if (++t->used > t->grow_at) {
                edge_table_grow(t);
            }
            return;
        }
        i = (i + 1) & t->mask;
    }
}

/* Returns the count of (k1, k2), 0 if absent. */
uint64_t edge_table_get(const EdgeTable *t, uint64_t k1, uint64_t k2);

/*
 * Visits every used slot. The capacity is read before the array, pairing with the release
 * stores in edge_table_grow (array first, then mask), so a reader on another thread (an exec
 * snapshot) never walks past the end of the array it holds; retired arrays stay allocated.
 */
#define EDGE_TABLE_FOREACH(t, s)                                                          \
    for (uint64_t n_##s = __atomic_load_n(&(t)->mask, __ATOMIC_ACQUIRE) + 1, once_##s = 1; \
         once_##s; once_##s = 0)                                                          \
        for (EdgeSlot *base_##s = __atomic_load_n(&(t)->slots, __ATOMIC_ACQUIRE),          \
                      *s = base_##s;                                                      \
             s < base_##s + n_##s; s++)                                                   \
            if (s->k1 != 0)

#endif
