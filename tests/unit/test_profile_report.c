/*
 * test_profile_report.c: the text report (profile/report.c) is the same whatever order a file
 * lists its instructions and edges in. Writers list instructions by address and edges by
 * source, and the report relies on that for speed (a binary search for destinations, edges
 * taken in runs); a file in another order takes the slow, plain way, which must say the same.
 */
#include "profile_fixtures.h"
#include "report.h"
#include "sort.h"

#include <string.h>

typedef struct {
    uint64_t addr;
    uint32_t generation;
    const char *disas;
} InsnSpec;

/* Two generations at 0x1008, a call into 0x2000, an exception, a destination not listed. */
static const InsnSpec insns[] = {
    {0x1000, 0, "cmp"},  {0x1004, 0, "jne 0x1000"}, {0x1008, 0, "old"},
    {0x1008, 1, "new"},  {0x100c, 0, "call 0x2000"}, {0x2000, 0, "ret"},
    {0x2004, 0, "load"},
};

typedef struct {
    unsigned from; /* index into insns[] */
    CflowEdgeKind kind;
    uint64_t to;
    uint64_t count;
} EdgeSpec;

static const EdgeSpec edges[] = {
    {1, CFLOW_EDGE_BRANCH, 0x1000, 900},      {1, CFLOW_EDGE_FALLTHROUGH, 0x1008, 100},
    {3, CFLOW_EDGE_BRANCH, 0x2000, 50},       {3, CFLOW_EDGE_BRANCH, 0x2004, 50},
    {3, CFLOW_EDGE_BRANCH, 0x3000, 7},        {4, CFLOW_EDGE_BRANCH, 0x2000, 100},
    {5, CFLOW_EDGE_BRANCH, 0x1008, 150},      {6, CFLOW_EDGE_EXCEPTION, 0x1004, 3},
    {0, CFLOW_EDGE_EARLY_EXIT, 0x1004, 2},    {2, CFLOW_EDGE_FALLTHROUGH, 0x100c, 1},
};

/*
 * The profile as writers list it, or mirrored: instructions by descending address (one
 * address's generations still oldest first, as the newest is the one a destination names),
 * edges in reverse.
 */
static CflowProfile *make(bool mirrored)
{
    const unsigned n_insns = G_N_ELEMENTS(insns), n_edges = G_N_ELEMENTS(edges);
    unsigned order[G_N_ELEMENTS(insns)];
    for (unsigned i = 0; i < n_insns; i++) {
        order[i] = i;
    }
    if (mirrored) { /* by address, descending; stable within an address */
        for (unsigned i = 1; i < n_insns; i++) {
            for (unsigned j = i; j > 0 && insns[order[j]].addr > insns[order[j - 1]].addr; j--) {
                unsigned t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        }
    }
    CflowProfile *p = cflow_profile_new();
    uint32_t index_of[G_N_ELEMENTS(insns)];
    for (unsigned i = 0; i < n_insns; i++) {
        const InsnSpec *s = &insns[order[i]];
        index_of[order[i]] = cflow_profile_add_insn(p, s->addr, 4, s->generation, s->disas, "f");
    }
    for (unsigned k = 0; k < n_edges; k++) {
        const EdgeSpec *e = &edges[mirrored ? n_edges - 1 - k : k];
        cflow_profile_add_edge(p, index_of[e->from], e->kind, e->to, e->count);
    }
    return p;
}

static void test_any_order(void)
{
    g_autoptr(CflowProfile) sorted = make(false);
    g_autoptr(CflowProfile) mirrored = make(true);
    g_assert_cmpuint(cflow_profile_insn(mirrored, 0)->addr, ==, 0x2004); /* really reordered */
    const unsigned topns[] = {0, 1, 2, 10};
    for (int s = 0; s < CFLOW_SORT_COUNT; s++) {
        for (unsigned t = 0; t < G_N_ELEMENTS(topns); t++) {
            g_autoptr(GString) a = cflow_report(sorted, s, topns[t]);
            g_autoptr(GString) b = cflow_report(mirrored, s, topns[t]);
            g_assert_cmpstr(b->str, ==, a->str);
            g_autoptr(GArray) ra = cflow_report_rank(sorted, s, topns[t]);
            g_autoptr(GArray) rb = cflow_report_rank(mirrored, s, topns[t]);
            g_assert_cmpuint(rb->len, ==, ra->len);
        }
    }
}

/* What the fast ways must find: the newest generation at a destination, every edge of a source. */
static void test_contents(void)
{
    for (int m = 0; m < 2; m++) {
        g_autoptr(CflowProfile) p = make(m);
        g_autoptr(GString) hottest = cflow_report(p, CFLOW_SORT_HOTTEST, 10);
        g_assert_nonnull(strstr(hottest->str, "-> 0x1008#1 f: new\n"));
        g_assert_null(strstr(hottest->str, "f: old\n       "));
        g_assert_nonnull(strstr(hottest->str, "-> 0x3000\n"));
        g_assert_nonnull(strstr(hottest->str, "taken 107, 3 branch destinations\n"));
        g_assert_nonnull(strstr(hottest->str, "taken 900, fallthrough 100, 1 branch destination\n"));
        g_autoptr(GString) edges_view = cflow_report(p, CFLOW_SORT_EDGES, 1);
        g_assert_nonnull(strstr(edges_view->str, "900 branch      0x1004 f: jne 0x1000 -> 0x1000 f: cmp\n"));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/report/any-order", test_any_order);
    g_test_add_func("/profile/report/contents", test_contents);
    return g_test_run();
}
