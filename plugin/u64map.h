/*
 * u64map.h: 64-bit keys to non-zero 64-bit values, open addressing at most 3/4 full, 16 bytes
 * a slot (key and value together): the plugin's side maps (generations, fall-through owners,
 * the re-plan's choices), where a GHashTable would cost a node and a key copy per entry. Keys
 * may be 0 (an address); a value of 0 means "absent". Not thread-safe: callers hold the lock
 * that guards the map.
 */
#ifndef CFLOW_U64MAP_H
#define CFLOW_U64MAP_H

#include <stdint.h>

/* A key beside its value: a probe reads one cache line, not one in each of two arrays. */
typedef struct {
    uint64_t key, val;
} U64Entry;

typedef struct {
    U64Entry *slots;
    uint64_t mask, used;
} U64Map;

/* Every entry (value non-zero) of m, as `e`, in no particular order; nothing may be added. */
#define U64MAP_FOREACH(m, e)                                                           \
    for (const U64Entry *e = (m)->slots, *end_##e = (m)->slots ? (m)->slots + (m)->mask + 1 \
                                                             : (m)->slots;            \
         e < end_##e; e++)                                                             \
        if (e->val)

/* 64 bits to 64, every input bit reaching every output bit (a murmur3 finaliser). */
static inline uint64_t u64_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The value slot of `key`: its value, or 0 in a slot reserved for it (set it non-zero). */
uint64_t *u64map_slot(U64Map *m, uint64_t key);
/* The value of `key`, 0 if absent. */
uint64_t u64map_get(const U64Map *m, uint64_t key);
/*
 * Starts loading the cache line where a probe for `key` begins, so that a lookup issued a
 * little later does not wait for memory (the maps are far larger than the caches).
 */
static inline void u64map_prefetch(const U64Map *m, uint64_t key)
{
    if (m->slots) {
        __builtin_prefetch(&m->slots[u64_mix(key) & m->mask]);
    }
}
uint64_t u64map_size(const U64Map *m);
/* Frees the slots; the map is empty (and usable) again. */
void u64map_free(U64Map *m);

#endif
