/*
 * The per-vCPU edge table against an obviously right reference (a GHashTable), through
 * growth with and without a spare, plus clear.
 */
#include <glib.h>

#include "edge_table.h"

typedef struct {
    uint64_t k1, k2;
} Key;

static guint key_hash(gconstpointer p)
{
    const Key *k = p;
    return g_int64_hash(&k->k1) * 31 ^ g_int64_hash(&k->k2);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    const Key *x = a, *y = b;
    return x->k1 == y->k1 && x->k2 == y->k2;
}

static void check_against(EdgeTable *t, GHashTable *ref)
{
    uint64_t seen = 0;
    EDGE_TABLE_FOREACH(t, s) {
        Key k = {s->k1, s->k2};
        uint64_t *want = g_hash_table_lookup(ref, &k);
        g_assert_nonnull(want);
        g_assert_cmpuint(s->count, ==, *want);
        seen++;
    }
    g_assert_cmpuint(seen, ==, g_hash_table_size(ref));
    g_assert_cmpuint(t->used, ==, seen);
}

static void run_random(gboolean refill)
{
    EdgeTable t;
    edge_table_init(&t, 4);
    GHashTable *ref = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
    GRand *r = g_rand_new_with_seed(42);
    for (int i = 0; i < 200000; i++) {
        /* a skewed key space: a few hot edges, many cold ones, colliding low bits */
        Key k = {((uint64_t)1 << 56) | (uint64_t)g_rand_int_range(r, 1, 3000) << 12,
                 (uint64_t)g_rand_int_range(r, 0, i % 7 == 0 ? 5000 : 40) * 4096};
        uint64_t n = (uint64_t)g_rand_int_range(r, 1, 4);
        edge_table_add(&t, k.k1, k.k2, n);
        uint64_t *c = g_hash_table_lookup(ref, &k);
        if (!c) {
            c = g_new0(uint64_t, 1);
            g_hash_table_insert(ref, g_memdup2(&k, sizeof(k)), c);
        }
        *c += n;
        if (refill) {
            /* housekeeping between helper calls: a no-op while a spare is ready */
            edge_table_refill_spare(&t);
        }
    }
    check_against(&t, ref);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, ref);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_assert_cmpuint(edge_table_get(&t, ((Key *)k)->k1, ((Key *)k)->k2), ==, *(uint64_t *)v);
    }
    g_assert_cmpuint(edge_table_get(&t, 1, 1), ==, 0);
    if (refill) {
        /* with spares refilled outside the hot path, growth never allocated in edge_table_add */
        g_assert_cmpuint(t.hot_allocs, ==, 0);
    } else {
        g_assert_cmpuint(t.hot_allocs, >, 0);
    }
    g_assert_cmpuint(t.used * 2, <=, t.mask + 1);
    edge_table_clear(&t);
    g_assert_cmpuint(t.used, ==, 0);
    EDGE_TABLE_FOREACH(&t, s) {
        g_assert_not_reached();
    }
    edge_table_add(&t, 7, 9, 3);
    g_assert_cmpuint(edge_table_get(&t, 7, 9), ==, 3);
    g_rand_free(r);
    g_hash_table_destroy(ref);
    edge_table_destroy(&t);
}

static void test_with_spares(void)
{
    run_random(TRUE);
}

static void test_without_spares(void)
{
    run_random(FALSE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/edge_table/random_with_spares", test_with_spares);
    g_test_add_func("/edge_table/random_without_spares", test_without_spares);
    return g_test_run();
}
