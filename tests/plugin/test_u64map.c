/*
 * The plugin's side map (u64map.h) against an obviously right reference (a GHashTable):
 * growth from empty, key 0 (an address), overwriting, absent keys, iteration, free and reuse.
 */
#include <glib.h>

#include "u64map.h"

static void check_against(const U64Map *m, GHashTable *ref)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, ref);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_assert_cmpuint(u64map_get(m, *(uint64_t *)k), ==, *(uint64_t *)v);
    }
    g_assert_cmpuint(u64map_size(m), ==, g_hash_table_size(ref));
    /* and the other way: every entry the iteration gives is the reference's, once */
    guint seen = 0;
    U64MAP_FOREACH(m, e) {
        const uint64_t *want = g_hash_table_lookup(ref, &e->key);
        g_assert_nonnull(want);
        g_assert_cmpuint(e->val, ==, *want);
        seen++;
    }
    g_assert_cmpuint(seen, ==, g_hash_table_size(ref));
}

static void test_random(void)
{
    U64Map m = {0};
    GHashTable *ref = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    GRand *r = g_rand_new_with_seed(7);
    g_assert_cmpuint(u64map_get(&m, 0), ==, 0); /* empty, never allocated */
    for (int i = 0; i < 100000; i++) {
        /* addresses: aligned, clustered, and 0 itself */
        uint64_t key = i % 1000 == 0 ? 0 : 0x400000 + (uint64_t)g_rand_int_range(r, 0, 30000) * 16;
        uint64_t val = (uint64_t)g_rand_int_range(r, 1, 1 << 30);
        *u64map_slot(&m, key) = val;
        uint64_t *want = g_hash_table_lookup(ref, &key);
        if (!want) {
            want = g_new(uint64_t, 1);
            g_hash_table_insert(ref, g_memdup2(&key, sizeof(key)), want);
        }
        *want = val;
    }
    check_against(&m, ref);
    for (uint64_t absent = 1; absent < 2000; absent += 3) { /* odd: never a key above */
        g_assert_cmpuint(u64map_get(&m, absent), ==, 0);
    }
    /* the map grows at 3/4: never fuller than that */
    g_assert_cmpuint(4 * u64map_size(&m), <=, 3 * (m.mask + 1));
    u64map_free(&m);
    g_assert_cmpuint(u64map_get(&m, 0x400000), ==, 0);
    *u64map_slot(&m, 5) = 9; /* usable again after free */
    g_assert_cmpuint(u64map_get(&m, 5), ==, 9);
    g_assert_cmpuint(u64map_size(&m), ==, 1);
    u64map_free(&m);
    g_rand_free(r);
    g_hash_table_destroy(ref);
}

/* A reserved slot is 0 until the caller fills it, and then found. */
static void test_slot_reserves(void)
{
    U64Map m = {0};
    uint64_t *s = u64map_slot(&m, 42);
    g_assert_cmpuint(*s, ==, 0);
    *s = 1;
    g_assert_cmpuint(*u64map_slot(&m, 42), ==, 1);
    g_assert_cmpuint(u64map_size(&m), ==, 1);
    u64map_free(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/u64map/random", test_random);
    g_test_add_func("/u64map/slot_reserves", test_slot_reserves);
    return g_test_run();
}
