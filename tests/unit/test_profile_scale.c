/*
 * test_profile_scale.c: unit tests of the profile library (profile/profile.h): a million edges
 * round-trip (and, under -m perf, ten million within a time budget).
 */
#include "profile_fixtures.h"

#include <inttypes.h>
#include <string.h>

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static CflowProfile *make_large(guint n_edges, guint n_insns)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint64_t s = 42;
    char disas[64], sym[32];
    for (guint i = 0; i < n_insns; i++) {
        g_snprintf(disas, sizeof disas, "insn %u", i % 5000);
        g_snprintf(sym, sizeof sym, "f%u", i / 100);
        cflow_profile_add_insn(p, 0x400000 + 4ull * i, 1 + (uint32_t)(lcg(&s) % 15),
                               (uint32_t)(lcg(&s) % 3), disas, i % 7 == 0 ? NULL : sym);
    }
    g_array_set_size(p->edges, n_edges);
    CflowEdge *e = (CflowEdge *)(void *)p->edges->data;
    for (guint i = 0; i < n_edges; i++) {
        e[i].from = (uint32_t)(lcg(&s) % n_insns);
        e[i].kind = (uint32_t)(lcg(&s) % CFLOW_EDGE_KIND_COUNT);
        e[i].to = lcg(&s);
        e[i].count = lcg(&s) << (i % 12);
    }
    for (guint i = 0; i + 3 <= n_insns; i += 3) {
        const uint32_t ix[3] = {i, i + 1, i + 2};
        cflow_profile_add_block(p, cflow_profile_insn(p, i)->addr, lcg(&s), ix, 3);
    }
    return p;
}

static void test_large(void)
{
    const guint n_edges = 1000000, n_insns = 100000;
    g_autoptr(CflowProfile) p = make_large(n_edges, n_insns);
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "big.cflow", NULL);
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write(p, path, &err));
    g_assert_no_error(err);
    gint64 t1 = g_get_monotonic_time();
    g_autoptr(CflowProfile) q = cflow_profile_read(path, &err);
    gint64 t2 = g_get_monotonic_time();
    g_assert_no_error(err);
    g_assert_nonnull(q);
    g_test_message("1M edges: write %.3f s, read %.3f s", (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    g_assert_cmpuint(q->edges->len, ==, n_edges);
    assert_equal(p, q);
    /* Independent spot checks, field by field. */
    for (guint i = 0; i < n_edges; i += 99991) {
        const CflowEdge *a = cflow_profile_edge(p, i), *b = cflow_profile_edge(q, i);
        g_assert_cmpuint(a->from, ==, b->from);
        g_assert_cmpuint(a->kind, ==, b->kind);
        g_assert_cmpuint(a->to, ==, b->to);
        g_assert_cmpuint(a->count, ==, b->count);
    }
    const CflowInsn *last = cflow_profile_insn(q, n_insns - 1);
    g_assert_cmpuint(last->addr, ==, 0x400000 + 4ull * (n_insns - 1));
    g_assert_cmpstr(cflow_profile_string(q, last->disas), ==, "insn 4999");

    /* The JSON form: one edge per line, in order. */
    g_autofree char *js = g_build_filename(dir, "big.json", NULL);
    t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    g_assert_no_error(err);
    t1 = g_get_monotonic_time();
    g_test_message("1M edges: JSON %.3f s", (t1 - t0) / 1e6);
    char *text;
    gsize len;
    g_assert_true(g_file_get_contents(js, &text, &len, NULL));
    g_assert_true(g_utf8_validate(text, (gssize)len, NULL));
    /* Lines found with memchr (g_strsplit is quadratic under AddressSanitizer's strstr). */
    GPtrArray *lines = g_ptr_array_new();
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        g_assert_nonnull(nl); /* the output ends with a newline */
        *nl = 0;
        g_ptr_array_add(lines, line);
        line = nl + 1;
    }
    guint edge_lines = 0, first_edge = 0;
    for (guint i = 0; i < lines->len; i++) {
        if (g_str_has_prefix(g_ptr_array_index(lines, i), "  {\"from\": ")) {
            if (edge_lines == 0) {
                first_edge = i;
            }
            edge_lines++;
        }
    }
    g_assert_cmpuint(edge_lines, ==, n_edges);
    for (guint i = 0; i < n_edges; i += 77777) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *from = cflow_profile_insn(p, e->from);
        g_autofree char *want = g_strdup_printf(
            "  {\"from\": \"0x%" PRIx64 "\", \"to\": \"0x%" PRIx64 "\", \"kind\": \"%s\", "
            "\"count\": %" PRIu64 ", \"from_generation\": %" PRIu32 "}%s",
            from->addr, e->to, cflow_edge_kind_name(e->kind), e->count, from->generation,
            i + 1 < n_edges ? "," : "");
        g_assert_cmpstr(g_ptr_array_index(lines, first_edge + i), ==, want);
    }
    g_ptr_array_unref(lines);
    g_free(text);
    rm_rf(dir);
}

/* 10 million edges, with timings: only with -m perf. */
static void test_perf(void)
{
    const guint n_edges = 10000000, n_insns = 1000000;
    g_autoptr(CflowProfile) p = make_large(n_edges, n_insns);
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "huge.cflow", NULL);
    g_autofree char *js = g_build_filename(dir, "huge.json", NULL);
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write(p, path, &err));
    gint64 t1 = g_get_monotonic_time();
    g_autoptr(CflowProfile) q = cflow_profile_read(path, &err);
    gint64 t2 = g_get_monotonic_time();
    g_assert_no_error(err);
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    gint64 t3 = g_get_monotonic_time();
    g_assert_no_error(err);
    assert_equal(p, q);
    g_test_minimized_result((t2 - t1) / 1e6, "10M edges: read %.3f s (write %.3f s, JSON %.3f s)",
                            (t2 - t1) / 1e6, (t1 - t0) / 1e6, (t3 - t2) / 1e6);
    g_assert_cmpfloat((t2 - t1) / 1e6, <, 2.0);
    rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/scale/1m-edges", test_large);
    if (g_test_perf()) {
        g_test_add_func("/profile/scale/10m-edges-perf", test_perf);
    }
    return g_test_run();
}
