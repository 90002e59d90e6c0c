/*
 * test_cfg.c: basic blocks rebuilt from translation blocks and edges (tool/cfg.c): splits at
 * leaders and after transfers, gaps, the straight-line flow into a block split off by a leader
 * (less what left it by exceptions), selections, generations, the fixture's run, and calls
 * joined to where they return.
 */
#include "cfg.h"
#include "harness.h"

static const CflowBasicBlock *bb(const CflowCfg *g, guint i)
{
    g_assert_cmpuint(i, <, g->blocks->len);
    return &g_array_index(g->blocks, CflowBasicBlock, i);
}

static void assert_block(const CflowCfg *g, guint i, uint64_t start, uint64_t end, uint32_t first,
                         uint32_t n, uint64_t execs)
{
    const CflowBasicBlock *b = bb(g, i);
    g_assert_cmphex(b->start, ==, start);
    g_assert_cmphex(b->end, ==, end);
    g_assert_cmpuint(b->first, ==, first);
    g_assert_cmpuint(b->n, ==, n);
    g_assert_cmpuint(b->execs, ==, execs);
}

static void assert_edge(const CflowCfg *g, guint i, uint32_t from, uint32_t to, uint64_t to_addr,
                        uint64_t count, CflowEdgeKind kind, bool implicit)
{
    g_assert_cmpuint(i, <, g->edges->len);
    const CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, i);
    g_assert_cmpuint(e->from, ==, from);
    g_assert_cmpuint(e->to, ==, to);
    g_assert_cmphex(e->to_addr, ==, to_addr);
    g_assert_cmpuint(e->count, ==, count);
    g_assert_cmpint(e->kind, ==, kind);
    g_assert_cmpint(e->implicit, ==, implicit);
}

static CflowCfg *build(const CflowProfile *p, const bool *selected)
{
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    return cflow_cfg_build(p, st, selected);
}

/*
 * One translation block 0x100..0x10c (three 4-byte instructions, run 5 times) that a jump
 * enters in the middle (0x104): two basic blocks, the second entered 5 times by straight-line
 * flow less the 2 exceptions taken at 0x100, and 7 times by the jump from 0x200.
 */
static void test_leader_splits_a_translation_block(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t a = cflow_profile_add_insn(p, 0x100, 4, 0, "a", NULL);
    uint32_t b = cflow_profile_add_insn(p, 0x104, 4, 0, "b", NULL);
    uint32_t c = cflow_profile_add_insn(p, 0x108, 4, 0, "c", NULL);
    uint32_t j = cflow_profile_add_insn(p, 0x200, 2, 0, "j", NULL);
    cflow_profile_add_block(p, 0x100, 5, (uint32_t[]){a, b, c}, 3);
    cflow_profile_add_block(p, 0x104, 7, (uint32_t[]){b, c}, 2);
    cflow_profile_add_block(p, 0x200, 7, (uint32_t[]){j}, 1);
    cflow_profile_add_edge(p, a, CFLOW_EDGE_EXCEPTION, 0x900, 2);
    cflow_profile_add_edge(p, j, CFLOW_EDGE_BRANCH, 0x104, 7);
    cflow_profile_add_edge(p, c, CFLOW_EDGE_BRANCH, 0x200, 12);
    g_autoptr(CflowCfg) g = build(p, NULL);
    g_assert_cmpuint(g->blocks->len, ==, 3);
    assert_block(g, 0, 0x100, 0x104, 0, 1, 5);
    assert_block(g, 1, 0x104, 0x10c, 1, 2, 12);
    assert_block(g, 2, 0x200, 0x202, 3, 1, 7);
    g_assert_cmpuint(g->block_of[a], ==, 0);
    g_assert_cmpuint(g->block_of[c], ==, 1);
    g_assert_cmpuint(g->block_of[j], ==, 2);
    g_assert_cmpuint(g->edges->len, ==, 4);
    assert_edge(g, 0, 0, CFLOW_CFG_OUTSIDE, 0x900, 2, CFLOW_EDGE_EXCEPTION, false);
    assert_edge(g, 1, 2, 1, 0x104, 7, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 2, 1, 2, 0x200, 12, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 3, 0, 1, 0x104, 3, CFLOW_EDGE_FALLTHROUGH, true);
}

/*
 * A block ends after an instruction with a branch or fall-through edge even where the next
 * one follows it directly and is no leader; a gap starts a block too.
 */
static void test_transfers_and_gaps_end_blocks(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t a = cflow_profile_add_insn(p, 0x100, 4, 0, "a", NULL);
    uint32_t b = cflow_profile_add_insn(p, 0x104, 4, 0, "b", NULL);
    uint32_t c = cflow_profile_add_insn(p, 0x110, 4, 0, "c", NULL);
    cflow_profile_add_block(p, 0x100, 3, (uint32_t[]){a}, 1);
    cflow_profile_add_block(p, 0x100, 1, (uint32_t[]){a, b}, 2);
    cflow_profile_add_block(p, 0x110, 1, (uint32_t[]){c}, 1);
    /* the profile says a's block (3 runs) fell through to 0x180: not b's address */
    cflow_profile_add_edge(p, a, CFLOW_EDGE_FALLTHROUGH, 0x180, 3);
    g_autoptr(CflowCfg) g = build(p, NULL);
    g_assert_cmpuint(g->blocks->len, ==, 3);
    assert_block(g, 0, 0x100, 0x104, 0, 1, 4);
    assert_block(g, 1, 0x104, 0x108, 1, 1, 1);
    assert_block(g, 2, 0x110, 0x114, 2, 1, 1);
    /* no implicit flow out of a block that ends with a transfer, nor across a gap */
    g_assert_cmpuint(g->edges->len, ==, 1);
    assert_edge(g, 0, 0, CFLOW_CFG_OUTSIDE, 0x180, 3, CFLOW_EDGE_FALLTHROUGH, false);
}

/*
 * A program's last translation block ends in its exit system call (run once, no edge out of it)
 * right before a function entered by a branch: no straight-line flow from one to the other.
 */
static void test_no_flow_after_a_block_that_ended(void)
{
    static const struct {
        uint64_t addr;
        uint32_t size;
        const char *text;
    } code[] = {{0x100, 5, "mov"}, {0x105, 2, "syscall"}, {0x107, 1, "ret"}, {0x200, 5, "call"}};
    enum { MOV, SYSCALL, RET, CALL };
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t id[G_N_ELEMENTS(code)];
    for (guint i = 0; i < G_N_ELEMENTS(code); i++) {
        id[i] = cflow_profile_add_insn(p, code[i].addr, code[i].size, 0, code[i].text, NULL);
    }
    cflow_profile_add_block(p, 0x100, 1, (uint32_t[]){id[MOV], id[SYSCALL]}, 2);
    cflow_profile_add_block(p, 0x107, 3, (uint32_t[]){id[RET]}, 1);
    cflow_profile_add_block(p, 0x200, 3, (uint32_t[]){id[CALL]}, 1);
    cflow_profile_add_edge(p, id[CALL], CFLOW_EDGE_BRANCH, 0x107, 3);
    cflow_profile_add_edge(p, id[RET], CFLOW_EDGE_BRANCH, 0x205, 3);
    g_autoptr(CflowCfg) g = build(p, NULL);
    g_assert_cmpuint(g->blocks->len, ==, 3);
    assert_block(g, 0, 0x100, 0x107, 0, 2, 1);
    assert_block(g, 1, 0x107, 0x108, 2, 1, 3);
    g_assert_cmpuint(g->edges->len, ==, 2);
    assert_edge(g, 0, 2, 1, 0x107, 3, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 1, 1, CFLOW_CFG_OUTSIDE, 0x205, 3, CFLOW_EDGE_BRANCH, false);
}

/* Only the selected instructions; edges from the others are left out, to them go OUTSIDE. */
static void test_selection(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t a = cflow_profile_add_insn(p, 0x100, 4, 0, "a", NULL);
    uint32_t b = cflow_profile_add_insn(p, 0x200, 4, 0, "b", NULL);
    cflow_profile_add_block(p, 0x100, 2, (uint32_t[]){a}, 1);
    cflow_profile_add_block(p, 0x200, 2, (uint32_t[]){b}, 1);
    cflow_profile_add_edge(p, a, CFLOW_EDGE_BRANCH, 0x200, 2);
    cflow_profile_add_edge(p, b, CFLOW_EDGE_BRANCH, 0x100, 2);
    bool selected[] = {true, false};
    g_autoptr(CflowCfg) g = build(p, selected);
    g_assert_cmpuint(g->order->len, ==, 1);
    g_assert_cmpuint(g->blocks->len, ==, 1);
    g_assert_cmpuint(g->block_of[b], ==, CFLOW_CFG_OUTSIDE);
    g_assert_cmpuint(g->edges->len, ==, 1);
    assert_edge(g, 0, 0, CFLOW_CFG_OUTSIDE, 0x200, 2, CFLOW_EDGE_BRANCH, false);
}

/* Two generations at one address: ordered by generation, each its own block; edges to the
 * address go to the oldest generation's block. */
static void test_generations(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    uint32_t new_gen = cflow_profile_add_insn(p, 0x100, 4, 1, "new", NULL);
    uint32_t old_gen = cflow_profile_add_insn(p, 0x100, 4, 0, "old", NULL);
    uint32_t j = cflow_profile_add_insn(p, 0x300, 4, 0, "j", NULL);
    cflow_profile_add_block(p, 0x100, 1, (uint32_t[]){old_gen}, 1);
    cflow_profile_add_block(p, 0x100, 2, (uint32_t[]){new_gen}, 1);
    cflow_profile_add_edge(p, j, CFLOW_EDGE_BRANCH, 0x100, 3);
    g_autoptr(CflowCfg) g = build(p, NULL);
    g_assert_cmpuint(g_array_index(g->order, uint32_t, 0), ==, old_gen);
    g_assert_cmpuint(g_array_index(g->order, uint32_t, 1), ==, new_gen);
    g_assert_cmpuint(g->blocks->len, ==, 3);
    assert_block(g, 0, 0x100, 0x104, 0, 1, 1);
    assert_block(g, 1, 0x100, 0x104, 1, 1, 2);
    assert_edge(g, 0, 2, 0, 0x100, 3, CFLOW_EDGE_BRANCH, false);
}

/* The fixture's run (harness.h): five basic blocks, the profile's six edges between them. */
static void test_fixture_run(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowCfg) g = build(p, NULL);
    uint64_t l = r.rt_leaf, a = r.rt_add;
    g_assert_cmpuint(g->blocks->len, ==, 5);
    assert_block(g, 0, l, l + 4, 0, 2, 10);
    assert_block(g, 1, a, a + 9, 2, 2, 10);
    assert_block(g, 2, a + 9, a + 11, 4, 1, 13);
    assert_block(g, 3, a + 11, a + 12, 5, 1, 4);
    assert_block(g, 4, r.rt_loop, r.rt_loop + 5, 6, 1, 2);
    g_assert_cmpuint(g->edges->len, ==, 6);
    assert_edge(g, 0, 1, 0, l, 10, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 1, 0, 2, a + 9, 10, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 2, 2, 1, a, 6, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 3, 2, 3, a + 11, 4, CFLOW_EDGE_FALLTHROUGH, false);
    assert_edge(g, 4, 3, CFLOW_CFG_OUTSIDE, 0x1000, 4, CFLOW_EDGE_BRANCH, false);
    assert_edge(g, 5, 4, 1, a, 2, CFLOW_EDGE_BRANCH, false);
}

/*
 * A function f (0x100..0x10f, x86_64 by its text) that calls g at 0x100 four times in a loop
 * and h once at 0x10a, which never returns. g's return lands after the call 3 times (once it
 * went elsewhere, as a longjmp would). Selecting f: the call-return edge carries the 3 returns
 * and names g; the call to h, whose return site never ran, has none; the branches out of the
 * calls are marked as calls, the loop's own branch is not. with_returns false: the profile
 * holds no return at all, and the edge carries the 4 calls.
 */
static CflowCfg *calling_graph(bool with_returns, CflowProfile **out)
{
    CflowProfile *p = *out = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint32_t call_g = cflow_profile_add_insn(p, 0x100, 5, 0, "call 0x200", "f");
    uint32_t add = cflow_profile_add_insn(p, 0x105, 3, 0, "addl $1, %eax", "f");
    uint32_t jne = cflow_profile_add_insn(p, 0x108, 2, 0, "jne 0x100", "f");
    uint32_t call_h = cflow_profile_add_insn(p, 0x10a, 5, 0, "call 0x300", "f");
    uint32_t ret = cflow_profile_add_insn(p, 0x200, 1, 0, "ret", "g");
    uint32_t hlt = cflow_profile_add_insn(p, 0x300, 1, 0, "hlt", "h");
    cflow_profile_add_block(p, 0x100, 4, (uint32_t[]){call_g}, 1);
    cflow_profile_add_block(p, 0x105, 3, (uint32_t[]){add, jne}, 2);
    cflow_profile_add_block(p, 0x10a, 1, (uint32_t[]){call_h}, 1);
    cflow_profile_add_block(p, 0x200, 4, (uint32_t[]){ret}, 1);
    cflow_profile_add_block(p, 0x300, 1, (uint32_t[]){hlt}, 1);
    cflow_profile_add_edge(p, call_g, CFLOW_EDGE_BRANCH, 0x200, 4);
    if (with_returns) {
        cflow_profile_add_edge(p, ret, CFLOW_EDGE_BRANCH, 0x105, 3);
        cflow_profile_add_edge(p, ret, CFLOW_EDGE_BRANCH, 0x900, 1);
    }
    cflow_profile_add_edge(p, jne, CFLOW_EDGE_BRANCH, 0x100, 2);
    cflow_profile_add_edge(p, jne, CFLOW_EDGE_FALLTHROUGH, 0x10a, 1);
    cflow_profile_add_edge(p, call_h, CFLOW_EDGE_BRANCH, 0x300, 1);
    bool selected[] = {true, true, true, true, false, false};
    CflowCfg *g = build(p, selected);
    cflow_cfg_add_call_returns(g, p);
    return g;
}

static void test_call_returns(void)
{
    for (int with_returns = 1; with_returns >= 0; with_returns--) {
        g_autoptr(CflowProfile) p = NULL;
        g_autoptr(CflowCfg) g = calling_graph(with_returns, &p);
        g_assert_cmpuint(g->blocks->len, ==, 3);
        g_assert_cmpuint(g->edges->len, ==, 5);
        assert_edge(g, 0, 0, CFLOW_CFG_OUTSIDE, 0x200, 4, CFLOW_EDGE_BRANCH, false);
        assert_edge(g, 1, 1, 0, 0x100, 2, CFLOW_EDGE_BRANCH, false);
        assert_edge(g, 2, 1, 2, 0x10a, 1, CFLOW_EDGE_FALLTHROUGH, false);
        assert_edge(g, 3, 2, CFLOW_CFG_OUTSIDE, 0x300, 1, CFLOW_EDGE_BRANCH, false);
        assert_edge(g, 4, 0, 1, 0x105, with_returns ? 3 : 4, CFLOW_EDGE_BRANCH, false);
        const CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, 4);
        g_assert_true(e->call_return);
        g_assert_false(e->call);
        g_assert_cmphex(e->callee, ==, 0x200);
        g_assert_cmpuint(e->callees, ==, 1);
        for (guint i = 0; i < 4; i++) {
            const CflowCfgEdge *f = &g_array_index(g->edges, CflowCfgEdge, i);
            g_assert_false(f->call_return);
            g_assert_cmpint(f->call, ==, i == 0 || i == 3);
        }
    }
}

/* A function's instructions by name, for annotate and dot --function. */
static void test_select_function(void)
{
    FixtureRun r;
    g_autoptr(CflowProfile) p = fixture_run_profile(&r);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree bool *sel = cflow_cfg_select_function(p, s, "fixture_leaf");
    g_assert_nonnull(sel);
    for (guint i = 0; i < p->insns->len; i++) {
        uint64_t addr = cflow_profile_insn(p, i)->addr;
        g_assert_cmpint(sel[i], ==, addr == r.rt_leaf || addr == r.rt_leaf + 3);
    }
    g_assert_null(cflow_cfg_select_function(p, s, "no_such_function"));
}

/*
 * A function that ran only inlined: selected by name all the same (dot --function), and listed
 * by instance (annotate); fixture_inlined's two instances share a call line, hence one name.
 */
static void test_inlined_instances(void)
{
    uint64_t entry, size;
    g_autoptr(CflowProfile) p = fixture_outer_profile(3, &entry, &size);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    g_autofree bool *own = cflow_cfg_select_own(p, s, "fixture_inlined");
    g_assert_null(own);
    g_autofree bool *all = cflow_cfg_select_function(p, s, "fixture_inlined");
    g_assert_nonnull(all);
    g_autoptr(GArray) instances = cflow_cfg_inlined_instances(p, s, "fixture_inlined");
    g_assert_cmpuint(instances->len, ==, 1);
    const CflowCfgInstance *in = &g_array_index(instances, CflowCfgInstance, 0);
    g_autofree char *name = g_strdup_printf(
        "fixture_inlined (inlined into fixture_outer at fixture-inline.c:%u)",
        fixture_line("fixture_outer"));
    g_assert_cmpstr(in->name, ==, name);
    unsigned inlined_line = fixture_line("fixture_inlined"), n = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowLoc *loc = cflow_srcline_insn(s, i);
        g_assert_cmpint(in->selected[i], ==, all[i]);
        g_assert_cmpint(in->selected[i], ==, loc->line == inlined_line);
        n += in->selected[i];
    }
    g_assert_cmpuint(n, >, 0);
    g_assert_cmphex(in->first, >, entry);
    /* the caller's own code is all of it */
    g_autofree bool *outer = cflow_cfg_select_own(p, s, "fixture_outer");
    for (guint i = 0; i < p->insns->len; i++) {
        g_assert_true(outer[i]);
    }
    g_autoptr(GArray) none = cflow_cfg_inlined_instances(p, s, "fixture_outer");
    g_assert_cmpuint(none->len, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cfg/inlined-instances", test_inlined_instances);
    g_test_add_func("/cfg/leader-splits-a-translation-block",
                    test_leader_splits_a_translation_block);
    g_test_add_func("/cfg/transfers-and-gaps-end-blocks", test_transfers_and_gaps_end_blocks);
    g_test_add_func("/cfg/no-flow-after-a-block-that-ended",
                    test_no_flow_after_a_block_that_ended);
    g_test_add_func("/cfg/selection", test_selection);
    g_test_add_func("/cfg/generations", test_generations);
    g_test_add_func("/cfg/fixture-run", test_fixture_run);
    g_test_add_func("/cfg/select-function", test_select_function);
    g_test_add_func("/cfg/call-returns", test_call_returns);
    return g_test_run();
}
