/*
 * test_stats.c: the tool's derived figures (tool/stats.c): per instruction (executions from
 * block counts, out-edges by kind, branch destinations), exceptions together, and the groups
 * by function and by source line of report and diff, on the fixture's run (harness.h).
 */
#include <math.h>

#include "harness.h"
#include "stats.h"

static void test_insn_stats(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    /* insns in the order fixture_run_profile adds them: add+0 +4 +9 +11, leaf+0 +3, loop */
    const uint64_t execs[] = {10, 10, 13, 4, 10, 10, 2};
    const uint64_t taken[] = {0, 10, 6, 4, 0, 10, 2};
    const uint64_t fall[] = {0, 0, 4, 0, 0, 0, 0};
    g_assert_cmpuint(p->insns->len, ==, G_N_ELEMENTS(execs));
    for (guint i = 0; i < G_N_ELEMENTS(execs); i++) {
        g_assert_cmpuint(st[i].execs, ==, execs[i]);
        g_assert_cmpuint(st[i].out[CFLOW_EDGE_BRANCH], ==, taken[i]);
        g_assert_cmpuint(st[i].out[CFLOW_EDGE_FALLTHROUGH], ==, fall[i]);
        g_assert_cmpuint(st[i].branch_dests, ==, taken[i] ? 1 : 0);
    }
}

static void test_exceptions(void)
{
    CflowInsnStats s = {0};
    s.out[CFLOW_EDGE_BRANCH] = 1000;
    s.out[CFLOW_EDGE_FALLTHROUGH] = 100;
    s.out[CFLOW_EDGE_EXCEPTION] = 1;
    s.out[CFLOW_EDGE_INTERRUPT] = 20;
    s.out[CFLOW_EDGE_HOSTCALL] = 300;
    s.out[CFLOW_EDGE_EARLY_EXIT] = 4000;
    g_assert_cmpuint(cflow_stats_exceptions(&s), ==, 4321);
}

static const CflowGroup *group(GPtrArray *groups, const char *function)
{
    for (guint i = 0; i < groups->len; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        if (g_strcmp0(g->function, function) == 0) {
            return g;
        }
    }
    g_error("no group %s", function);
}

static void test_groups_by_function(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    g_autoptr(GPtrArray) groups = cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, NULL, false);
    g_assert_cmpuint(groups->len, ==, 3);
    const CflowGroup *add = group(groups, "fixture_add");
    g_assert_null(add->file);
    g_assert_null(add->where);
    g_assert_cmphex(add->first_addr, ==, r.rt_add);
    g_assert_cmphex(add->function_start, ==, r.rt_add);
    g_assert_cmpuint(add->execs, ==, 37);
    g_assert_cmpuint(add->entries, ==, 8); /* the loop back (6) and the jump from loop (2) */
    g_assert_cmpuint(add->out[CFLOW_EDGE_BRANCH], ==, 20);
    g_assert_cmpuint(add->out[CFLOW_EDGE_FALLTHROUGH], ==, 4);
    g_assert_cmpuint(add->branch_dests, ==, 3);
    g_assert_cmpint(add->biased, ==, 2); /* the jne */
    g_assert_cmpuint(add->biased_taken, ==, 6);
    g_assert_cmpuint(add->biased_fallthrough, ==, 4);
    g_assert_cmpfloat(fabs(cflow_group_bias(add) - 0.1), <, 1e-12);
    const CflowGroup *leaf = group(groups, "fixture_leaf");
    g_assert_cmpuint(leaf->execs, ==, 20);
    g_assert_cmpuint(leaf->entries, ==, 10);
    g_assert_cmpint(leaf->biased, ==, -1);
    g_assert_cmpfloat(cflow_group_bias(leaf), ==, 0.0);
    const CflowGroup *loop = group(groups, "fixture_loop");
    g_assert_cmpuint(loop->execs, ==, 2);
    g_assert_cmpuint(loop->entries, ==, 0);

    g_autoptr(GPtrArray) only =
        cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, "fixture_leaf", false);
    g_assert_cmpuint(only->len, ==, 1);
    g_assert_cmpstr(((CflowGroup *)g_ptr_array_index(only, 0))->function, ==, "fixture_leaf");
}

/* A line's entries are the transfers into it from another line. */
static void test_groups_by_line(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    g_autoptr(GPtrArray) groups = cflow_groups(p, s, st, CFLOW_GROUP_LINE, NULL, false);
    g_assert_cmpuint(groups->len, ==, 3);
    const CflowGroup *add = group(groups, "fixture_add");
    g_assert_cmpuint(add->line, ==, r.line_add);
    g_assert_true(g_str_has_suffix(add->file, "fixture.c"));
    g_autofree char *where = g_strdup_printf("fixture.c:%u", r.line_add);
    g_assert_cmpstr(add->where, ==, where);
    g_assert_cmpuint(add->entries, ==, 12); /* from leaf's ret (10) and loop's jmp (2) */
    g_assert_cmpuint(add->execs, ==, 37);
    g_assert_cmpuint(group(groups, "fixture_leaf")->entries, ==, 10);
    g_assert_cmpuint(group(groups, "fixture_loop")->entries, ==, 0);
}

/* Without lines (QEMU's symbols only) a function's instructions form one group by line too. */
static void test_groups_without_lines(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t f0 = cflow_profile_add_insn(p, 0x100, 4, 0, "a", "f");
    uint32_t f1 = cflow_profile_add_insn(p, 0x104, 4, 0, "b", "f");
    uint32_t g0 = cflow_profile_add_insn(p, 0x200, 4, 0, "c", "g");
    cflow_profile_add_insn(p, 0x300, 4, 0, "never run", "h");
    cflow_profile_add_block(p, 0x100, 3, (uint32_t[]){f0, f1}, 2);
    cflow_profile_add_block(p, 0x200, 5, (uint32_t[]){g0}, 1);
    cflow_profile_add_edge(p, g0, CFLOW_EDGE_BRANCH, 0x100, 3);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    for (int by = CFLOW_GROUP_FUNCTION; by <= CFLOW_GROUP_LINE; by++) {
        g_autoptr(GPtrArray) groups = cflow_groups(p, s, st, (CflowGroupBy)by, NULL, false);
        g_assert_cmpuint(groups->len, ==, 2); /* h never ran: no group */
        const CflowGroup *f = group(groups, "f");
        g_assert_cmpuint(f->execs, ==, 6);
        g_assert_null(f->where);
        /* a function's entry: its lowest address run (QEMU's symbols have no start) */
        g_assert_cmpuint(f->entries, ==, by == CFLOW_GROUP_FUNCTION ? 3 : 0);
        g_assert_cmpuint(group(groups, "g")->execs, ==, 5);
    }
}

/*
 * Inlined code as the inlined function: fixture_outer run K times (fixture_outer_profile). Its two
 * instances of fixture_inlined share one call line, hence one name; their entries are the times
 * control came into that code from outside: once per run of the one block, K, however many
 * stretches of it the block holds (the caller's code between them is scheduled among its own).
 * Without inlines everything is fixture_outer's, as before.
 */
static void test_groups_with_inlines(void)
{
    const uint64_t K = 7;
    uint64_t entry, size;
    g_autoptr(CflowProfile) p = fixture_outer_profile(K, &entry, &size);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);

    g_autoptr(GPtrArray) plain = cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, NULL, false);
    g_assert_cmpuint(plain->len, ==, 1);
    g_assert_cmpuint(group(plain, "fixture_outer")->execs, ==, K * size);

    unsigned inlined_line = fixture_line("fixture_inlined");
    g_autoptr(GPtrArray) groups = cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, NULL, true);
    g_assert_cmpuint(groups->len, ==, 2);
    g_autofree char *name = g_strdup_printf(
        "fixture_inlined (inlined into fixture_outer at fixture-inline.c:%u)",
        fixture_line("fixture_outer"));
    const CflowGroup *in = group(groups, name), *outer = group(groups, "fixture_outer");
    g_assert_nonnull(in->inlined);
    g_assert_cmpstr(in->inlined->function, ==, "fixture_inlined");
    g_assert_null(outer->inlined);
    g_assert_cmpuint(in->entries, ==, K);
    g_assert_cmpuint(in->execs + outer->execs, ==, K * size);
    g_assert_cmpuint(in->execs % K, ==, 0);
    g_assert_cmpuint(in->execs, >, 0);
    g_assert_cmphex(outer->function_start, ==, entry);

    /* --function of the inlined function keeps its instances; of the caller, both */
    g_autoptr(GPtrArray) only = cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, "fixture_inlined",
                                             true);
    g_assert_cmpuint(only->len, ==, 1);
    g_assert_cmpstr(((CflowGroup *)g_ptr_array_index(only, 0))->function, ==, name);
    g_autoptr(GPtrArray) caller = cflow_groups(p, s, st, CFLOW_GROUP_FUNCTION, "fixture_outer",
                                               true);
    g_assert_cmpuint(caller->len, ==, 2);

    /* by line: the inlined line is the instance's, named as such */
    g_autoptr(GPtrArray) lines = cflow_groups(p, s, st, CFLOW_GROUP_LINE, NULL, true);
    const CflowGroup *line = group(lines, name);
    g_assert_cmpuint(line->line, ==, inlined_line);
    g_assert_cmpuint(line->execs, ==, in->execs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stats/insn-stats", test_insn_stats);
    g_test_add_func("/stats/exceptions", test_exceptions);
    g_test_add_func("/stats/groups-by-function", test_groups_by_function);
    g_test_add_func("/stats/groups-by-line", test_groups_by_line);
    g_test_add_func("/stats/groups-with-inlines", test_groups_with_inlines);
    g_test_add_func("/stats/groups-without-lines", test_groups_without_lines);
    return g_test_run();
}
