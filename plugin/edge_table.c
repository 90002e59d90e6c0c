/* edge_table.c: growth and housekeeping of the per-vCPU edge table (see edge_table.h). */
#include "edge_table.h"

#include <string.h>

/* A vCPU's table doubles when half full, a private one at 3/4 (edge_table.h). */
static uint64_t grow_threshold(const EdgeTable *t, uint64_t capacity)
{
    return t->retired ? capacity / 2 : capacity * 3 / 4;
}

static void init_table(EdgeTable *t, uint64_t capacity_pow2, bool private_table)
{
    g_assert(capacity_pow2 >= 2 && (capacity_pow2 & (capacity_pow2 - 1)) == 0);
    memset(t, 0, sizeof(*t));
    t->slots = g_new0(EdgeSlot, capacity_pow2);
    t->mask = capacity_pow2 - 1;
    if (!private_table) {
        /* 64 doublings is more than any address space needs: adding to it never reallocates */
        t->retired = g_ptr_array_new_full(64, g_free);
    }
    t->grow_at = grow_threshold(t, capacity_pow2);
}

void edge_table_init(EdgeTable *t, uint64_t capacity_pow2)
{
    init_table(t, capacity_pow2, false);
    edge_table_refill_spare(t);
}

void edge_table_init_private(EdgeTable *t, uint64_t capacity_pow2)
{
    init_table(t, capacity_pow2, true); /* no spare: its growth is no hot path */
}

void edge_table_destroy(EdgeTable *t)
{
    g_free(t->slots);
    g_free(t->spare);
    if (t->retired) {
        g_ptr_array_free(t->retired, TRUE);
    }
    memset(t, 0, sizeof(*t));
}

void edge_table_refill_spare(EdgeTable *t)
{
    if (!t->spare) {
        t->spare = g_new0(EdgeSlot, (t->mask + 1) * 2);
    }
    if (t->retired && t->retired->len) {
        g_ptr_array_set_size(t->retired, 0);
    }
}

void edge_table_grow(EdgeTable *t)
{
    uint64_t new_cap = (t->mask + 1) * 2;
    EdgeSlot *fresh = t->spare;
    if (fresh) {
        t->spare = NULL;
    } else {
        fresh = g_new0(EdgeSlot, new_cap);
        t->hot_allocs++;
    }
    uint64_t mask = new_cap - 1;
    for (uint64_t j = 0; j <= t->mask; j++) {
        EdgeSlot *s = &t->slots[j];
        if (s->k1 == 0) {
            continue;
        }
        uint64_t i = edge_table_hash(s->k1, s->k2) & mask;
        while (fresh[i].k1 != 0) {
            i = (i + 1) & mask;
        }
        fresh[i] = *s;
    }
    /* Publish the new array before retiring the old one, for concurrent readers. */
    EdgeSlot *old = t->slots;
    __atomic_store_n(&t->slots, fresh, __ATOMIC_RELEASE);
    __atomic_store_n(&t->mask, mask, __ATOMIC_RELEASE);
    t->grow_at = grow_threshold(t, new_cap);
    if (t->retired) {
        g_ptr_array_add(t->retired, old); /* freed outside the hot path: refill_spare */
    } else {
        g_free(old);
    }
}

void edge_table_reserve(EdgeTable *t, uint64_t keys)
{
    while (t->grow_at < keys) {
        edge_table_grow(t);
    }
}

void edge_table_clear(EdgeTable *t)
{
    memset(t->slots, 0, (t->mask + 1) * sizeof(EdgeSlot));
    t->used = 0;
}

uint64_t edge_table_get(const EdgeTable *t, uint64_t k1, uint64_t k2)
{
    uint64_t i = edge_table_hash(k1, k2) & t->mask;
    for (;;) {
        const EdgeSlot *s = &t->slots[i];
        if (s->k1 == k1 && s->k2 == k2) {
            return s->count;
        }
        if (s->k1 == 0) {
            return 0;
        }
        i = (i + 1) & t->mask;
    }
}
