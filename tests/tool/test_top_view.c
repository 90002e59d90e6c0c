/*
 * test_top_view.c: `cflow top`'s screens (tool/top-view.c) on the fixture's run (harness.h),
 * whose figures are known: instructions executed fixture_add 37, fixture_leaf 20,
 * fixture_loop 2 (of 59); edges 10, 10, 6, 4, 4 and 2 (of 36).
 */
#include <string.h>

#include "harness.h"
#include "top-view.h"

/* The rows of a screen (the heads dropped), each split at blanks. */
static GPtrArray *rows_of(GString *screen)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    g_auto(GStrv) lines = g_strsplit(screen->str, "\n", -1);
    for (int i = 1; lines[i] && *lines[i]; i++) {
        g_ptr_array_add(rows, g_strsplit_set(g_strstrip(lines[i]), " ", -1));
    }
    return rows;
}

/* The non-empty fields of a row, field n. */
static const char *field(GPtrArray *rows, guint row, int n)
{
    GStrv f = g_ptr_array_index(rows, row);
    for (int i = 0; f[i]; i++) {
        if (*f[i] && n-- == 0) {
            return f[i];
        }
    }
    return "";
}

static const char *last_field(GPtrArray *rows, guint row)
{
    GStrv f = g_ptr_array_index(rows, row);
    guint n = g_strv_length(f);
    return n ? f[n - 1] : "";
}

static void test_functions(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autoptr(GString) screen = cflow_top_render(p, s, CFLOW_TOP_FUNCTIONS, 10, 0);
    g_assert_nonnull(strstr(screen->str, "function"));
    g_autoptr(GPtrArray) rows = rows_of(screen);
    g_assert_cmpuint(rows->len, ==, 3);
    const char *names[] = {"fixture_add", "fixture_leaf", "fixture_loop"};
    const char *shares[] = {"62.71%", "33.90%", "3.39%"};
    const char *execs[] = {"37", "20", "2"};
    for (guint i = 0; i < rows->len; i++) {
        g_assert_cmpstr(last_field(rows, i), ==, names[i]);
        g_assert_cmpstr(field(rows, i, 0), ==, shares[i]);
        g_assert_cmpstr(field(rows, i, 1), ==, execs[i]);
    }
    /* fewer rows asked: the hottest only */
    g_autoptr(GString) one = cflow_top_render(p, s, CFLOW_TOP_FUNCTIONS, 1, 0);
    g_autoptr(GPtrArray) one_rows = rows_of(one);
    g_assert_cmpuint(one_rows->len, ==, 1);
    g_assert_cmpstr(last_field(one_rows, 0), ==, "fixture_add");
}

static void test_edges_and_width(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autoptr(GString) screen = cflow_top_render(p, s, CFLOW_TOP_EDGES, 2, 0);
    g_autoptr(GPtrArray) rows = rows_of(screen);
    g_assert_cmpuint(rows->len, ==, 2);
    for (guint i = 0; i < rows->len; i++) {
        g_assert_cmpstr(field(rows, i, 0), ==, "27.78%");
        g_assert_cmpstr(field(rows, i, 1), ==, "10");
        g_assert_cmpstr(field(rows, i, 2), ==, "branch");
        g_assert_cmpstr(field(rows, i, 4), ==, "->");
    }
    /* every line cut to the width */
    g_autoptr(GString) narrow = cflow_top_render(p, s, CFLOW_TOP_LINES, 10, 24);
    g_auto(GStrv) lines = g_strsplit(narrow->str, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), >, 2);
    for (int i = 0; lines[i]; i++) {
        g_assert_cmpuint(strlen(lines[i]), <=, 24);
    }
}

static void test_view_names(void)
{
    CflowTopView v;
    g_assert_true(cflow_top_view_parse("l", &v) && v == CFLOW_TOP_LINES);
    g_assert_true(cflow_top_view_parse("edges", &v) && v == CFLOW_TOP_EDGES);
    g_assert_true(cflow_top_view_parse("f", &v) && v == CFLOW_TOP_FUNCTIONS);
    g_assert_false(cflow_top_view_parse("x", &v));
    g_assert_false(cflow_top_view_parse("func", &v));
    g_assert_cmpstr(cflow_top_view_name(CFLOW_TOP_LINES), ==, "lines");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/top_view/functions", test_functions);
    g_test_add_func("/top_view/edges_and_width", test_edges_and_width);
    g_test_add_func("/top_view/view_names", test_view_names);
    return g_test_run();
}
