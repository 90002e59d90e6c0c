/*
 * test_profile_model.c: unit tests of the profile library (profile/profile.h): the model: string
 * interning, meta, edge kinds, building, validation.
 */
#include "profile_fixtures.h"

#include <string.h>

static void test_intern(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_assert_cmpuint(p->strings->len, ==, 1);
    g_assert_cmpuint(p->strings->data[0], ==, 0);
    g_assert_cmpuint(cflow_profile_intern(p, ""), ==, 0);
    uint32_t a = cflow_profile_intern(p, "mov x0, x1");
    uint32_t b = cflow_profile_intern(p, "ret");
    g_assert_cmpuint(a, !=, 0);
    g_assert_cmpuint(b, !=, a);
    g_assert_cmpuint(cflow_profile_intern(p, "mov x0, x1"), ==, a);
    g_assert_cmpuint(cflow_profile_intern(p, "ret"), ==, b);
    g_assert_cmpuint(p->strings->len, ==, 1 + 11 + 4);
    /* Interning from a pointer into the pool itself must work even when the pool moves. */
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        g_snprintf(buf, sizeof buf, "s%d", i);
        cflow_profile_intern(p, buf);
    }
    g_assert_cmpuint(cflow_profile_intern(p, "ret"), ==, b);
    g_assert_cmpstr(cflow_profile_string(p, a), ==, "mov x0, x1");
    g_assert_cmpstr(cflow_profile_string(p, 0), ==, "");
    g_assert_null(cflow_profile_string(p, CFLOW_NO_STRING));
}

static void test_meta(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_assert_null(cflow_profile_get_meta(p, "arch"));
    cflow_profile_set_meta(p, "arch", "x86_64");
    cflow_profile_set_meta(p, "pid", "42");
    g_assert_cmpstr(cflow_profile_get_meta(p, "arch"), ==, "x86_64");
    cflow_profile_set_meta(p, "arch", "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(p, "arch"), ==, "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(p, "pid"), ==, "42");
    g_assert_cmpuint(p->meta->len, ==, 2); /* replaced, not added */
    g_assert_null(cflow_profile_get_meta(p, "ARCH"));
    cflow_profile_set_meta(p, "empty", "");
    g_assert_cmpstr(cflow_profile_get_meta(p, "empty"), ==, "");
    cflow_profile_set_meta_u64(p, "pid", UINT64_MAX);
    g_assert_cmpstr(cflow_profile_get_meta(p, "pid"), ==, "18446744073709551615");
    cflow_profile_set_meta_u64(p, "zero", 0);
    g_assert_cmpstr(cflow_profile_get_meta(p, "zero"), ==, "0");
    g_assert_true(cflow_profile_validate(p, NULL));
}

static void test_kinds(void)
{
    static const char *const names[] = {"branch", "fallthrough", "exception",
                                        "interrupt", "hostcall", "early-exit"};
    g_assert_cmpuint(G_N_ELEMENTS(names), ==, CFLOW_EDGE_KIND_COUNT);
    for (unsigned k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        g_assert_cmpstr(cflow_edge_kind_name((CflowEdgeKind)k), ==, names[k]);
        CflowEdgeKind parsed = CFLOW_EDGE_KIND_COUNT;
        g_assert_true(cflow_edge_kind_parse(names[k], &parsed));
        g_assert_cmpint(parsed, ==, k);
    }
    /* The numeric values are part of the file format. */
    g_assert_cmpint(CFLOW_EDGE_BRANCH, ==, 0);
    g_assert_cmpint(CFLOW_EDGE_EARLY_EXIT, ==, 5);
    CflowEdgeKind k = CFLOW_EDGE_HOSTCALL;
    g_assert_false(cflow_edge_kind_parse("Branch", &k));
    g_assert_false(cflow_edge_kind_parse("early_exit", &k));
    g_assert_false(cflow_edge_kind_parse("", &k));
    g_assert_false(cflow_edge_kind_parse(NULL, &k));
    g_assert_cmpint(k, ==, CFLOW_EDGE_HOSTCALL);
    g_assert_cmpstr(cflow_edge_kind_name(CFLOW_EDGE_KIND_COUNT), ==, "unknown");
}

static void test_build(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_assert_cmpuint(p->insns->len, ==, 4);
    g_assert_cmpuint(p->edges->len, ==, 6);
    g_assert_cmpuint(p->blocks->len, ==, 3);
    g_assert_cmpuint(p->block_insns->len, ==, 3);
    const CflowInsn *i2 = cflow_profile_insn(p, 2);
    g_assert_cmpuint(i2->addr, ==, 0x4006f0);
    g_assert_cmpuint(i2->generation, ==, 1);
    g_assert_cmpstr(cflow_profile_string(p, i2->disas), ==, "nop");
    g_assert_cmpuint(i2->symbol, ==, CFLOW_NO_STRING);
    g_assert_cmpuint(cflow_profile_insn(p, 0)->symbol, ==, cflow_profile_insn(p, 1)->symbol);
    const CflowBlock *b1 = cflow_profile_block(p, 1);
    g_assert_cmpuint(b1->first, ==, 2);
    g_assert_cmpuint(b1->n_insns, ==, 1);
    g_assert_cmpuint(g_array_index(p->block_insns, uint32_t, 2), ==, 2);
    const CflowEdge *e = cflow_profile_edge(p, 3);
    g_assert_cmpuint(e->kind, ==, CFLOW_EDGE_INTERRUPT);
    g_assert_cmpuint(e->count, ==, UINT64_MAX);
    GError *err = NULL;
    g_assert_true(cflow_profile_validate(p, &err));
    g_assert_no_error(err);
}

static void test_validate(void)
{
    GError *err = NULL;
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 2)->from = 4;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
        g_assert_nonnull(strstr(err->message, "edge 2: source insn index 4 out of range"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 0)->kind = CFLOW_EDGE_KIND_COUNT;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "edge 0: unknown kind 6"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 1)->n_insns = 2; /* first 2 + 2 > 3 */
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "block 1:"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 0)->first = UINT32_MAX; /* must not wrap around */
        cflow_profile_block(p, 0)->n_insns = 2;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "block 0:"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 3)->disas = p->strings->len;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "insn 3: disassembly string offset"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_append(p->strings, (const guint8 *)"abc", 3);
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "not NUL-terminated"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        CflowMeta dup = g_array_index(p->meta, CflowMeta, 0);
        dup.value = 0;
        g_array_append_val(p->meta, dup);
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "meta 2: duplicate key \"arch\""));
        g_clear_error(&err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/model/intern", test_intern);
    g_test_add_func("/profile/model/meta", test_meta);
    g_test_add_func("/profile/model/kinds", test_kinds);
    g_test_add_func("/profile/model/build", test_build);
    g_test_add_func("/profile/model/validate", test_validate);
    return g_test_run();
}
