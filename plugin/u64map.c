/* u64map.c: see u64map.h. */
#include "u64map.h"

#include <glib.h>

static uint64_t find(const U64Map *m, uint64_t key)
{
    uint64_t j = u64_mix(key) & m->mask;
    while (m->slots[j].val && m->slots[j].key != key) {
        j = (j + 1) & m->mask;
    }
    return j;
}

uint64_t *u64map_slot(U64Map *m, uint64_t key)
{
    if (!m->slots || 4 * (m->used + 1) > 3 * (m->mask + 1)) {
        U64Map bigger = {.mask = m->slots ? 2 * m->mask + 1 : 4095, .used = m->used};
        bigger.slots = g_new0(U64Entry, bigger.mask + 1);
        for (uint64_t i = 0; m->slots && i <= m->mask; i++) {
            if (m->slots[i].val) {
                bigger.slots[find(&bigger, m->slots[i].key)] = m->slots[i];
            }
        }
        g_free(m->slots);
        *m = bigger;
    }
    U64Entry *e = &m->slots[find(m, key)];
    if (!e->val) {
        e->key = key;
        m->used++; /* the caller fills the value */
    }
    return &e->val;
}

uint64_t u64map_get(const U64Map *m, uint64_t key)
{
    return m->slots ? m->slots[find(m, key)].val : 0;
}

uint64_t u64map_size(const U64Map *m)
{
    return m->used;
}

void u64map_free(U64Map *m)
{
    g_free(m->slots);
    *m = (U64Map){0};
}
