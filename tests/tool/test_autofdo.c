/*
 * test_autofdo.c: the AutoFDO model (tool/autofdo.c) and both writers' encodings, on a profile
 * built by hand (exact text for LLVM, exact bytes for GCC), and cflow_afdo_build on the
 * fixture's run (harness.h), whose calls and counts are known.
 */
#include <string.h>

#include "autofdo.h"
#include "harness.h"

/*
 * main (declared on line 10, called once): line 12 ran 5 times; line 13, discriminator 1, 7
 * times, calling c 3 times and b 4 times there (indirectly); inl (declared on line 20) inlined
 * at line 14, its line 21 run 9 times.
 */
static CflowAfdo *by_hand(void)
{
    CflowAfdo *a = cflow_afdo_new();
    CflowAfdoFunction *f = cflow_afdo_function(a, "main", 10);
    f->head = 1;
    cflow_afdo_pos(f, 2, 0)->count = 5;
    CflowAfdoPos *call = cflow_afdo_pos(f, 3, 1);
    call->count = 7;
    call->indirect = true;
    cflow_afdo_add_target(a, call, "c", 3);
    cflow_afdo_add_target(a, call, "b", 1);
    cflow_afdo_add_target(a, call, "b", 3);
    CflowAfdoFunction *inl = cflow_afdo_inlined(a, f, 4, 0, "inl", 20);
    g_assert_true(cflow_afdo_inlined(a, f, 4, 0, "inl", 20) == inl);
    cflow_afdo_pos(inl, 1, 0)->count = 9;
    g_assert_true(cflow_afdo_function(a, "main", 10) == f);
    cflow_afdo_function(a, "cold", 30)->head = 0;
    cflow_afdo_finish(a);
    return a;
}

static char *written(bool (*write)(const CflowAfdo *, FILE *, GError **), const CflowAfdo *a,
                     size_t *size)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, size);
    g_autoptr(GError) err = NULL;
    g_assert_true(write(a, f, &err));
    g_assert_no_error(err);
    g_assert_cmpint(fclose(f), ==, 0);
    return buf;
}

static void assert_llvm_text(const CflowAfdo *a, const char *want)
{
    size_t size;
    char *text = written(cflow_afdo_write_llvm, a, &size);
    g_assert_cmpstr(text, ==, want);
    free(text);
}

static void test_llvm_text(void)
{
    g_autoptr(CflowAfdo) a = by_hand();
    /* totals: main 5 + 7 + 9 (its inlined callee) = 21, hottest first; targets most first */
    assert_llvm_text(a, "main:21:1\n"
                        " 2: 5\n"
                        " 3.1: 7 b:4 c:3\n"
                        " 4: inl:9\n"
                        "  1: 9\n"
                        "cold:0:0\n");
}

static void put32(GByteArray *b, uint32_t v)
{
    g_byte_array_append(b, (const guint8 *)&v, 4);
}

static void put64(GByteArray *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void put_string(GByteArray *b, const char *s)
{
    put32(b, (uint32_t)strlen(s) + 1);
    g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s) + 1);
}

static void test_gcc_bytes(void)
{
    g_autoptr(CflowAfdo) a = by_hand();
    /* names: "" (index 0, never referenced), then in the order first written */
    g_autoptr(GByteArray) names = g_byte_array_new();
    put32(names, 6);
    const char *order[] = {"", "main", "b", "c", "inl", "cold"};
    for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
        put_string(names, order[i]);
    }
    g_autoptr(GByteArray) fns = g_byte_array_new();
    put32(fns, 2);
    put64(fns, 1);                          /* main's head */
    put32(fns, 1), put32(fns, 2), put32(fns, 1); /* name, positions, call sites */
    put32(fns, 2 << 16), put32(fns, 0), put64(fns, 5);
    put32(fns, 3 << 16 | 1), put32(fns, 2), put64(fns, 7);
    put32(fns, 0), put64(fns, 2), put64(fns, 4); /* b */
    put32(fns, 0), put64(fns, 3), put64(fns, 3); /* c */
    put32(fns, 4 << 16);                    /* inl's call site, then inl, without a head */
    put32(fns, 4), put32(fns, 1), put32(fns, 0);
    put32(fns, 1 << 16), put32(fns, 0), put64(fns, 9);
    put64(fns, 0);                          /* cold */
    put32(fns, 5), put32(fns, 0), put32(fns, 0);
    g_autoptr(GByteArray) want = g_byte_array_new();
    put32(want, 0x67636461), put32(want, 2), put32(want, 0);
    put32(want, 0xaa000000), put32(want, names->len);
    g_byte_array_append(want, names->data, names->len);
    put32(want, 0xac000000), put32(want, fns->len);
    g_byte_array_append(want, fns->data, fns->len);
    put32(want, 0xae000000), put32(want, 0), put32(want, 0);
    size_t size;
    char *bytes = written(cflow_afdo_write_gcc, a, &size);
    g_assert_cmpmem(bytes, size, want->data, want->len);
    free(bytes);
}

/* GCC reads the targets of indirect calls only. */
static void test_gcc_direct_targets_left_out(void)
{
    g_autoptr(CflowAfdo) a = cflow_afdo_new();
    CflowAfdoPos *pos = cflow_afdo_pos(cflow_afdo_function(a, "f", 1), 0, 0);
    pos->count = 2;
    cflow_afdo_add_target(a, pos, "g", 2);
    cflow_afdo_finish(a);
    size_t size;
    char *bytes = written(cflow_afdo_write_gcc, a, &size);
    /* magic, version, 0, tag, length, 2 names ("" and f): 12 + 8 + 4 + 5 + 6 bytes; then the
     * functions' tag, length, count, head, name, positions, call sites, location, targets */
    uint32_t targets;
    g_assert_cmpuint(size, ==, 35 + 12 + 8 + 12 + 4 + 4 + 8 + 12);
    memcpy(&targets, bytes + 35 + 12 + 8 + 12 + 4, sizeof targets);
    g_assert_cmpuint(targets, ==, 0);
    free(bytes);
}

/*
 * The zeros' lookups, which make nothing: the callee inlined at a call site only if the
 * profile has it there, and whether a position is an inlined call site. A position listed at
 * 0 (one that never ran) is written as such and leaves the totals as they were.
 */
static void test_zero_positions(void)
{
    g_autoptr(CflowAfdo) a = by_hand();
    CflowAfdoFunction *f = g_hash_table_lookup(a->by_name, "main");
    CflowAfdoFunction *inl = cflow_afdo_inlined_find(f, 4, 0, "inl");
    g_assert_nonnull(inl);
    g_assert_cmpstr(inl->name, ==, "inl");
    g_assert_null(cflow_afdo_inlined_find(f, 4, 1, "inl"));
    g_assert_null(cflow_afdo_inlined_find(f, 4, 0, "other"));
    g_assert_null(cflow_afdo_inlined_find(f, 2, 0, "inl"));
    g_assert_true(cflow_afdo_has_callsite_at(f, 4, 0));
    g_assert_false(cflow_afdo_has_callsite_at(f, 4, 1));
    g_assert_false(cflow_afdo_has_callsite_at(f, 3, 1));
    g_assert_cmpuint(f->callsites->len, ==, 1); /* the lookups made no call site */
    g_assert_true(cflow_afdo_pos(f, 5, 0)->count == 0);
    g_assert_true(cflow_afdo_pos(inl, 2, 3)->count == 0);
    g_assert_true(cflow_afdo_pos(f, 2, 0)->count == 5); /* one that ran keeps its count */
    cflow_afdo_finish(a);
    assert_llvm_text(a, "main:21:1\n"
                        " 2: 5\n"
                        " 3.1: 7 b:4 c:3\n"
                        " 5: 0\n"
                        " 4: inl:9\n"
                        "  1: 9\n"
                        "  2.3: 0\n"
                        "cold:0:0\n");
}

/*
 * The fixture's run (harness.h): every function of the fixture is one line, so every offset is
 * 0. fixture_add's line runs 13 times (its last block's entries) and calls fixture_leaf 10
 * times; fixture_leaf is called 10 times; fixture_add is entered twice by fixture_loop's jump
 * (a jump from another function: a tail call) and 6 times by its own loop (not a call).
 */
static char *built_on_the_fixture(bool zeros)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowExport) x = cflow_export_new(p);
    x->binary = fixture_path();
    x->afdo_no_zeros = !zeros;
    g_autoptr(GError) err = NULL;
    g_autoptr(CflowAfdo) a = cflow_afdo_build(x, CFLOW_AFDO_FOR_LLVM, &err);
    g_assert_no_error(err);
    size_t size;
    return written(cflow_afdo_write_llvm, a, &size);
}

static void test_build_on_the_fixture(void)
{
    char *text = built_on_the_fixture(false);
    g_assert_cmpstr(text, ==,
                    "fixture_add:13:2\n"
                    " 0: 13 fixture_leaf:10\n"
                    "fixture_leaf:10:10\n"
                    " 0: 10\n"
                    "fixture_loop:2:0\n"
                    " 0: 2\n");
    free(text);
}

/*
 * With the zeros: the same profile, and after it (fixture_loop is the last function) the
 * positions of fixture_loop's loop that the run never reached, at 0: its one line's other
 * blocks, which the compiler tells apart by discriminators (which ones is the compiler's).
 * fixture_add and fixture_leaf ran all of theirs; the functions that never ran stay out.
 */
static void test_build_on_the_fixture_with_zeros(void)
{
    char *without = built_on_the_fixture(false), *text = built_on_the_fixture(true);
    g_assert_true(g_str_has_prefix(text, without));
    g_auto(GStrv) extra = g_strsplit(text + strlen(without), "\n", -1);
    guint n = g_strv_length(extra);
    g_assert_cmpuint(n, >=, 2); /* at least one line, and what follows its newline */
    g_assert_cmpstr(extra[n - 1], ==, "");
    for (guint i = 0; i + 1 < n; i++) {
        unsigned disc;
        char end;
        g_assert_cmpint(sscanf(extra[i], " 0.%u: 0%c", &disc, &end), ==, 1);
        g_assert_cmpuint(disc, >, 0);
    }
    free(without);
    free(text);
}

/* The same run on the fixture built without DWARF: an error naming it, no empty profile. */
static void test_build_without_debug_info(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_auto(GStrv) parts = g_strsplit(cflow_profile_get_meta(p, "maps"), fixture_path(), -1);
    g_autofree char *maps = g_strjoinv(fixture_nodebug_path(), parts);
    cflow_profile_set_meta(p, "maps", maps);
    g_autoptr(CflowExport) x = cflow_export_new(p);
    x->binary = fixture_nodebug_path();
    g_autoptr(GError) err = NULL;
    CflowAfdo *a = cflow_afdo_build(x, CFLOW_AFDO_FOR_GCC, &err);
    g_assert_null(a);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, fixture_nodebug_path()));
    g_assert_nonnull(strstr(err->message, "no debug line information"));
}

/*
 * clang's packing: each component a prefix code (low bit set: 0; else 5 bits, or 12 with bit 5
 * of the rest set as the flag), the base discriminator first, then the duplication factor.
 */
static void test_llvm_discriminators(void)
{
    const struct {
        unsigned dwarf, base, factor;
    } cases[] = {
        {0, 0, 1},                                 /* none */
        {4, 2, 1},                                 /* base 2 (2 << 1), nothing after it */
        {1, 0, 1},                                 /* a set low bit: base 0 */
        {2 | (2 << 1) << 7, 1, 2},                 /* base 1, duplicated twice (unrolled) */
        {(((100 & 0xfe0) << 1) | 0x20 | (100 & 0x1f)) << 1, 100, 1}, /* a 12-bit base */
        {((((100 & 0xfe0) << 1) | 0x20 | (100 & 0x1f)) << 1) | (3 << 1) << 14, 100, 3},
        {1 | (3 << 1) << 1, 0, 3},                 /* base 0 as one bit, then factor 3 */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        unsigned factor;
        g_assert_cmpuint(cflow_afdo_llvm_discriminator(cases[i].dwarf, &factor), ==,
                         cases[i].base);
        g_assert_cmpuint(factor, ==, cases[i].factor);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/autofdo/llvm-text", test_llvm_text);
    g_test_add_func("/autofdo/llvm-discriminators", test_llvm_discriminators);
    g_test_add_func("/autofdo/zero-positions", test_zero_positions);
    g_test_add_func("/autofdo/gcc-bytes", test_gcc_bytes);
    g_test_add_func("/autofdo/gcc-direct-targets-left-out", test_gcc_direct_targets_left_out);
    g_test_add_func("/autofdo/build-on-the-fixture", test_build_on_the_fixture);
    g_test_add_func("/autofdo/build-on-the-fixture-with-zeros",
                    test_build_on_the_fixture_with_zeros);
    g_test_add_func("/autofdo/build-without-debug-info", test_build_without_debug_info);
    return g_test_run();
}
