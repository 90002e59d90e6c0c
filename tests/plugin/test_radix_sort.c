/*
 * The profile's sort (radix_sort.h) against an obviously right reference: qsort on (field,
 * original position), which is stable by construction. Element sizes with their own copy
 * (16, 24) and a generic one (12, 40); fields of 8, 4 and 1 bytes; keys with shared top bytes
 * (skipped passes), many duplicates (stability), all equal, and sorting by three fields in turn.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "radix_sort.h"

typedef struct {
    const uint8_t *elem;
    size_t offset;
    int field_bytes;
    guint pos;
} Ref;

static uint64_t field(const uint8_t *p, size_t offset, int field_bytes)
{
    uint64_t v = 0;
    memcpy(&v, p + offset, field_bytes == 8 ? 8 : 4);
    return field_bytes == 8 ? v : (v & 0xffffffffu) & (field_bytes == 4 ? 0xffffffffu
                                                       : (1u << (8 * field_bytes)) - 1);
}

static int by_field_then_pos(const void *x, const void *y)
{
    const Ref *a = x, *b = y;
    uint64_t fa = field(a->elem, a->offset, a->field_bytes);
    uint64_t fb = field(b->elem, b->offset, b->field_bytes);
    if (fa != fb) {
        return fa < fb ? -1 : 1;
    }
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* What radix_sort_by must produce: the elements stably ordered by the field. */
static uint8_t *reference_sort(const uint8_t *in, guint n, size_t elem, size_t offset, int fb)
{
    Ref *refs = g_new(Ref, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        refs[i] = (Ref){.elem = in + i * elem, .offset = offset, .field_bytes = fb, .pos = i};
    }
    qsort(refs, n, sizeof(Ref), by_field_then_pos);
    uint8_t *out = g_malloc(n * elem + 1);
    for (guint i = 0; i < n; i++) {
        memcpy(out + i * elem, refs[i].elem, elem);
    }
    g_free(refs);
    return out;
}

/* Random elements; the field drawn from `spread` distinct values above a shared high part. */
static uint8_t *random_elems(GRand *r, guint n, size_t elem, uint64_t high, guint spread)
{
    uint8_t *a = g_malloc(n * elem + 1);
    for (size_t i = 0; i < n * elem; i++) {
        a[i] = (uint8_t)g_rand_int(r);
    }
    for (guint i = 0; i < n; i++) {
        uint64_t v = high + (uint64_t)g_rand_int_range(r, 0, (gint32)spread) * 4;
        memcpy(a + i * elem, &v, 8); /* every layout below keeps its field at offset 0 or 8 */
        if (elem >= 16) {
            memcpy(a + i * elem + 8, &v, 8);
        }
    }
    return a;
}

static void check_one(GRand *r, guint n, size_t elem, size_t offset, int fb, uint64_t high,
                      guint spread)
{
    uint8_t *a = random_elems(r, n, elem, high, spread);
    uint8_t *want = reference_sort(a, n, elem, offset, fb);
    radix_sort_by(a, n, elem, offset, fb);
    g_assert_cmpmem(a, n * elem, want, n * elem);
    g_free(a);
    g_free(want);
}

static void test_single_field(void)
{
    GRand *r = g_rand_new_with_seed(11);
    static const size_t sizes[] = {16, 24, 12, 40};
    static const int fields[] = {8, 4, 1};
    static const guint counts[] = {0, 1, 2, 255, 5000};
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        for (guint f = 0; f < G_N_ELEMENTS(fields); f++) {
            for (guint c = 0; c < G_N_ELEMENTS(counts); c++) {
                size_t offset = sizes[s] >= 16 ? 8 : 0;
                /* user-space-like addresses, a few values (duplicates), all equal */
                check_one(r, counts[c], sizes[s], offset, fields[f], 0x7f0000000000ull, 1u << 20);
                check_one(r, counts[c], sizes[s], offset, fields[f], 0x400000, 7);
                check_one(r, counts[c], sizes[s], offset, fields[f], 0x1234, 1);
                /* the whole 64-bit range */
                check_one(r, counts[c], sizes[s], offset, fields[f], 0, 0x7fffffff);
            }
        }
    }
    g_rand_free(r);
}

typedef struct {
    uint32_t from;
    uint32_t kind;
    uint64_t to;
    uint64_t count;
} Edge; /* laid out as a profile edge: 24 bytes, sorted by from, then to, then kind */

static int by_edge_order(const void *x, const void *y)
{
    const Edge *a = x, *b = y;
    if (a->from != b->from) {
        return a->from < b->from ? -1 : 1;
    }
    if (a->to != b->to) {
        return a->to < b->to ? -1 : 1;
    }
    if (a->kind != b->kind) {
        return a->kind < b->kind ? -1 : 1;
    }
    return a->count < b->count ? -1 : a->count > b->count;
}

static void test_three_fields(void)
{
    GRand *r = g_rand_new_with_seed(5);
    guint n = 20000;
    Edge *e = g_new(Edge, n), *want = g_new(Edge, n);
    for (guint i = 0; i < n; i++) {
        e[i] = (Edge){.from = (uint32_t)g_rand_int_range(r, 0, 3000),
                      .kind = (uint32_t)g_rand_int_range(r, 0, 6),
                      .to = 0x7ffff7a00000ull + (uint64_t)g_rand_int_range(r, 0, 500) * 3,
                      .count = i}; /* distinct: the reference's order is the only right one */
    }
    memcpy(want, e, n * sizeof(Edge));
    qsort(want, n, sizeof(Edge), by_edge_order);
    radix_sort_by(e, n, sizeof(Edge), offsetof(Edge, kind), 1);
    radix_sort_by(e, n, sizeof(Edge), offsetof(Edge, to), 8);
    radix_sort_by(e, n, sizeof(Edge), offsetof(Edge, from), 4);
    g_assert_cmpmem(e, n * sizeof(Edge), want, n * sizeof(Edge));
    g_free(e);
    g_free(want);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/radix_sort/single_field", test_single_field);
    g_test_add_func("/radix_sort/three_fields", test_three_fields);
    return g_test_run();
}
