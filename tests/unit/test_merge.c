/*
 * test_merge.c: unit tests for the sum of profiles (profile/merge.h): exact sums against a
 * simple oracle, associativity and commutativity on generated profiles, self-merge doubling,
 * refusal of incompatible inputs, overflow.
 */
#include "merge.h"

#include <inttypes.h>
#include <string.h>

/*
 * A generated profile: instructions drawn from a small address space (so profiles overlap),
 * some with a second generation, edges between them, and blocks of consecutive instructions.
 */
static CflowProfile *generate(guint32 seed, const char *arch)
{
    GRand *r = g_rand_new_with_seed(seed);
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", arch);
    cflow_profile_set_meta(p, "guest", "/bin/generated");
    cflow_profile_set_meta_u64(p, "block_entries", 1000 + seed);
    cflow_profile_set_meta(p, "maps", "400000-500000 0 /bin/generated");
    uint32_t n = 0;
    for (uint64_t addr = 0x400000; addr < 0x400000 + 4 * 200; addr += 4) {
        if (g_rand_int_range(r, 0, 3) == 0) {
            continue; /* each profile translated a different subset */
        }
        g_autofree char *dis = g_strdup_printf("insn_%" PRIx64, addr);
        cflow_profile_add_insn(p, addr, 4, 0, dis, addr % 64 ? NULL : "f");
        n++;
        if (addr % 40 == 0) {
            cflow_profile_add_insn(p, addr, 4, 1, "rewritten", NULL);
            n++;
        }
    }
    for (int e = 0; e < 300; e++) {
        uint32_t from = (uint32_t)g_rand_int_range(r, 0, (gint32)n);
        CflowEdgeKind kind = (CflowEdgeKind)g_rand_int_range(r, 0, CFLOW_EDGE_KIND_COUNT);
        uint64_t to = 0x400000 + 4 * (uint64_t)g_rand_int_range(r, 0, 200);
        bool dup = false;
        for (guint k = 0; k < p->edges->len && !dup; k++) {
            const CflowEdge *x = cflow_profile_edge(p, k);
            dup = x->from == from && x->kind == kind && x->to == to;
        }
        if (!dup) {
            cflow_profile_add_edge(p, from, kind, to, (uint64_t)g_rand_int_range(r, 1, 100000));
        }
    }
    for (int b = 0; b < 40; b++) {
        uint32_t first = (uint32_t)g_rand_int_range(r, 0, (gint32)n - 5);
        uint32_t len = (uint32_t)g_rand_int_range(r, 1, 5);
        uint32_t ins[5];
        for (uint32_t k = 0; k < len; k++) {
            ins[k] = first + k;
        }
        bool dup = false;
        for (guint k = 0; k < p->blocks->len && !dup; k++) {
            const CflowBlock *x = cflow_profile_block(p, k);
            dup = x->addr == cflow_profile_insn(p, first)->addr && x->n_insns == len &&
                  g_array_index(p->block_insns, uint32_t, x->first) == first;
        }
        if (!dup) {
            cflow_profile_add_block(p, cflow_profile_insn(p, first)->addr,
                                    (uint64_t)g_rand_int_range(r, 1, 5000), ins, len);
        }
    }
    g_rand_free(r);
    g_assert_true(cflow_profile_validate(p, NULL));
    return p;
}

/* The oracle: "from#gen kind to" -> summed count, for a list of profiles. */
static GHashTable *edge_sums(CflowProfile **ps, int n)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (int i = 0; i < n; i++) {
        for (guint k = 0; k < ps[i]->edges->len; k++) {
            const CflowEdge *e = cflow_profile_edge(ps[i], k);
            const CflowInsn *in = cflow_profile_insn(ps[i], e->from);
            char *key = g_strdup_printf("%" PRIx64 "#%u %u %" PRIx64, in->addr, in->generation,
                                        e->kind, e->to);
            uint64_t *v = g_hash_table_lookup(t, key);
            if (!v) {
                v = g_new0(uint64_t, 1);
                g_hash_table_insert(t, key, v);
            } else {
                g_free(key);
            }
            *v += e->count;
        }
    }
    return t;
}

static void assert_same_records(const CflowProfile *a, const CflowProfile *b)
{
    g_assert_cmpuint(a->insns->len, ==, b->insns->len);
    g_assert_cmpuint(a->edges->len, ==, b->edges->len);
    g_assert_cmpuint(a->blocks->len, ==, b->blocks->len);
    g_assert_cmpuint(a->block_insns->len, ==, b->block_insns->len);
    for (guint i = 0; i < a->insns->len; i++) {
        const CflowInsn *x = cflow_profile_insn(a, i), *y = cflow_profile_insn(b, i);
        g_assert_cmpuint(x->addr, ==, y->addr);
        g_assert_cmpuint(x->generation, ==, y->generation);
        g_assert_cmpstr(cflow_profile_string(a, x->disas), ==, cflow_profile_string(b, y->disas));
    }
    g_assert_cmpmem(a->edges->data, a->edges->len * sizeof(CflowEdge), b->edges->data,
                    b->edges->len * sizeof(CflowEdge));
    g_assert_cmpmem(a->blocks->data, a->blocks->len * sizeof(CflowBlock), b->blocks->data,
                    b->blocks->len * sizeof(CflowBlock));
    g_assert_cmpmem(a->block_insns->data, a->block_insns->len * sizeof(uint32_t),
                    b->block_insns->data, b->block_insns->len * sizeof(uint32_t));
}

static CflowProfile *merge2(const CflowProfile *a, const CflowProfile *b)
{
    const CflowProfile *ps[] = {a, b};
    g_autoptr(GError) err = NULL;
    CflowProfile *m = cflow_profile_merge(ps, 2, false, &err);
    g_assert_no_error(err);
    g_assert_true(cflow_profile_validate(m, NULL));
    return m;
}

static void test_exact_sums(void)
{
    CflowProfile *ps[3] = {generate(1, "x86_64"), generate(2, "x86_64"), generate(3, "x86_64")};
    g_autoptr(GError) err = NULL;
    g_autoptr(CflowProfile) m = cflow_profile_merge((const CflowProfile *const *)ps, 3, false,
                                                    &err);
    g_assert_no_error(err);
    g_autoptr(GHashTable) want = edge_sums(ps, 3);
    g_autoptr(GHashTable) got = edge_sums(&m, 1);
    g_assert_cmpuint(g_hash_table_size(got), ==, g_hash_table_size(want));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, want);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        uint64_t *g = g_hash_table_lookup(got, k);
        g_assert_nonnull(g);
        g_assert_cmpuint(*g, ==, *(uint64_t *)v);
    }
    /* counters in meta are summed; the inputs counted */
    g_assert_cmpstr(cflow_profile_get_meta(m, "block_entries"), ==, "3006");
    g_assert_cmpstr(cflow_profile_get_meta(m, "merged_profiles"), ==, "3");
    g_assert_cmpstr(cflow_profile_get_meta(m, "arch"), ==, "x86_64");
    for (int i = 0; i < 3; i++) {
        cflow_profile_free(ps[i]);
    }
}

static void test_commutative_associative(void)
{
    for (guint32 seed = 10; seed < 40; seed += 3) {
        g_autoptr(CflowProfile) a = generate(seed, "aarch64");
        g_autoptr(CflowProfile) b = generate(seed + 1, "aarch64");
        g_autoptr(CflowProfile) c = generate(seed + 2, "aarch64");
        g_autoptr(CflowProfile) ab = merge2(a, b);
        g_autoptr(CflowProfile) ba = merge2(b, a);
        assert_same_records(ab, ba);
        g_autoptr(CflowProfile) ab_c = merge2(ab, c);
        g_autoptr(CflowProfile) bc = merge2(b, c);
        g_autoptr(CflowProfile) a_bc = merge2(a, bc);
        assert_same_records(ab_c, a_bc);
        g_assert_cmpstr(cflow_profile_get_meta(ab_c, "merged_profiles"), ==, "3");
        g_assert_cmpstr(cflow_profile_get_meta(a_bc, "merged_profiles"), ==, "3");
        /* and the accumulator folding one at a time agrees with both */
        CflowMerge *m = cflow_merge_new();
        g_assert_true(cflow_merge_add(m, c, false, NULL));
        g_assert_true(cflow_merge_add(m, a, false, NULL));
        g_assert_true(cflow_merge_add(m, b, false, NULL));
        g_assert_cmpuint(cflow_merge_inputs(m), ==, 3);
        g_autoptr(CflowProfile) cab = cflow_merge_finish(m);
        assert_same_records(ab_c, cab);
    }
}

static void test_self_doubles(void)
{
    g_autoptr(CflowProfile) a = generate(7, "riscv64");
    g_autoptr(CflowProfile) empty = cflow_profile_new();
    g_autoptr(CflowProfile) one = merge2(a, empty); /* a alone, in canonical order */
    g_autoptr(CflowProfile) two = merge2(a, a);
    g_assert_cmpuint(one->edges->len, ==, two->edges->len);
    g_assert_cmpuint(one->edges->len, ==, a->edges->len);
    for (guint i = 0; i < one->edges->len; i++) {
        g_assert_cmpuint(2 * cflow_profile_edge(one, i)->count, ==,
                         cflow_profile_edge(two, i)->count);
    }
    g_assert_cmpuint(one->blocks->len, ==, two->blocks->len);
    for (guint i = 0; i < one->blocks->len; i++) {
        g_assert_cmpuint(2 * cflow_profile_block(one, i)->count, ==,
                         cflow_profile_block(two, i)->count);
    }
    /* the sum survives the file format */
    g_autoptr(GBytes) bytes = cflow_profile_serialize(two);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    g_autoptr(CflowProfile) back = cflow_profile_parse(data, len, NULL);
    g_assert_nonnull(back);
    assert_same_records(two, back);
}

static void test_incompatible(void)
{
    g_autoptr(CflowProfile) a = generate(1, "x86_64");
    g_autoptr(CflowProfile) b = generate(2, "aarch64");
    const CflowProfile *ps[] = {a, b};
    g_autoptr(GError) err = NULL;
    g_assert_null(cflow_profile_merge(ps, 2, false, &err));
    g_assert_error(err, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_INCOMPATIBLE);
    g_assert_nonnull(strstr(err->message, "arch"));
    g_autoptr(CflowProfile) forced = cflow_profile_merge(ps, 2, true, NULL);
    g_assert_nonnull(forced);

    /* the same file at another address */
    g_autoptr(CflowProfile) c = generate(3, "x86_64");
    cflow_profile_set_meta(c, "maps", "800000-900000 0 /bin/generated");
    const CflowProfile *qs[] = {a, c};
    g_clear_error(&err);
    g_assert_null(cflow_profile_merge(qs, 2, false, &err));
    g_assert_error(err, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_INCOMPATIBLE);
    g_assert_nonnull(strstr(err->message, "/bin/generated"));

    /* another guest binary */
    g_autoptr(CflowProfile) d = generate(4, "x86_64");
    cflow_profile_set_meta(d, "guest", "/bin/other");
    const CflowProfile *rs[] = {a, d};
    g_clear_error(&err);
    g_assert_null(cflow_profile_merge(rs, 2, false, &err));
    g_assert_error(err, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_INCOMPATIBLE);
}

static void test_overflow(void)
{
    g_autoptr(CflowProfile) a = cflow_profile_new();
    uint32_t i = cflow_profile_add_insn(a, 0x1000, 4, 0, "jmp", NULL);
    cflow_profile_add_edge(a, i, CFLOW_EDGE_BRANCH, 0x2000, UINT64_MAX - 1);
    const CflowProfile *ps[] = {a, a};
    g_autoptr(GError) err = NULL;
    g_assert_null(cflow_profile_merge(ps, 2, false, &err));
    g_assert_error(err, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_OVERFLOW);
}

static void test_empty(void)
{
    g_autoptr(CflowProfile) m = cflow_profile_merge(NULL, 0, false, NULL);
    g_assert_nonnull(m);
    g_assert_cmpuint(m->edges->len, ==, 0);
    g_assert_true(cflow_profile_validate(m, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/merge/exact-sums", test_exact_sums);
    g_test_add_func("/merge/commutative-associative", test_commutative_associative);
    g_test_add_func("/merge/self-doubles", test_self_doubles);
    g_test_add_func("/merge/incompatible", test_incompatible);
    g_test_add_func("/merge/overflow", test_overflow);
    g_test_add_func("/merge/empty", test_empty);
    return g_test_run();
}
