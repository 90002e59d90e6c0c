/* u64map.c: see u64map.h. */
#include "u64map.h"

#include <glib.h>

static uint64_t find(const U64Map *m, uint64_t key)
{
    uint64_t j = u64_mix(key) & m->mask;
    while (m->vals[j] && m->keys[j] != key) {
        j = (j + 1) & m->mask;
    }
    return j;
}

uint64_t *u64map_slot(U64Map *m, uint64_t key)
{
    if (!m->vals || 4 * (m->used + 1) > 3 * (m->mask + 1)) {
        U64Map bigger = {.mask = m->vals ? 2 * m->mask + 1 : 4095, .used = m->used};
        bigger.keys = g_new0(uint64_t, bigger.mask + 1);
        bigger.vals = g_new0(uint64_t, bigger.mask + 1);
        for (uint64_t i = 0; m->vals && i <= m->mask; i++) {
            if (m->vals[i]) {
                uint64_t j = find(&bigger, m->keys[i]);
                bigger.keys[j] = m->keys[i];
                bigger.vals[j] = m->vals[i];
            }
        }
        g_free(m->keys);
        g_free(m->vals);
        *m = bigger;
    }
    uint64_t j = find(m, key);
    if (!m->vals[j]) {
        m->keys[j] = key;
        m->used++; /* the caller fills the value */
    }
    return &m->vals[j];
}

uint64_t u64map_get(const U64Map *m, uint64_t key)
{
    return m->vals ? m->vals[find(m, key)] : 0;
}

uint64_t u64map_size(const U64Map *m)
{
    return m->used;
}

void u64map_free(U64Map *m)
{
    g_free(m->keys);
    g_free(m->vals);
    *m = (U64Map){0};
}
