/* cfg.c: basic blocks from translation blocks and edges (see cfg.h). */
#include "cfg.h"

#include <string.h>

/* The innermost level of loc's inline chain that is `function`, or -1. */
static int inlined_level(const CflowLoc *loc, const char *function)
{
    for (unsigned k = 0; k + 1 < loc->n_frames; k++) {
        if (strcmp(loc->frames[k].function, function) == 0) {
            return (int)k;
        }
    }
    return -1;
}

/* selected[i] = keep(loc of i, function); NULL when nothing is kept. */
static bool *select_where(const CflowProfile *p, CflowSrcline *s, const char *function,
                          bool (*keep)(const CflowLoc *, const char *))
{
    bool *selected = g_new0(bool, p->insns->len ? p->insns->len : 1);
    bool any = false;
    for (guint i = 0; i < p->insns->len; i++) {
        selected[i] = keep(cflow_srcline_insn(s, i), function);
        any |= selected[i];
    }
    if (!any) {
        g_free(selected);
        return NULL;
    }
    return selected;
}

/* The basic block that starts at addr, or CFLOW_CFG_OUTSIDE. */
static uint32_t block_at(const CflowCfg *g, uint64_t addr)
{
    guint b = GPOINTER_TO_UINT(g_hash_table_lookup(g->starts, &addr));
    return b ? b - 1 : CFLOW_CFG_OUTSIDE;
}

static bool is_own(const CflowLoc *loc, const char *function)
{
    return strcmp(loc->function, function) == 0;
}

static bool is_inlined(const CflowLoc *loc, const char *function)
{
    return inlined_level(loc, function) >= 0;
}

bool *cflow_cfg_select_own(const CflowProfile *p, CflowSrcline *s, const char *function)
{
    return select_where(p, s, function, is_own);
}

bool *cflow_cfg_select_function(const CflowProfile *p, CflowSrcline *s, const char *function)
{
    bool *own = select_where(p, s, function, is_own);
    return own ? own : select_where(p, s, function, is_inlined);
}

static void instance_clear(gpointer data)
{
    g_free(((CflowCfgInstance *)data)->selected);
}

static int by_first(gconstpointer a, gconstpointer b)
{
    const CflowCfgInstance *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

GArray *cflow_cfg_inlined_instances(const CflowProfile *p, CflowSrcline *s,
                                    const char *function)
{
    GArray *instances = g_array_new(FALSE, TRUE, sizeof(CflowCfgInstance));
    g_array_set_clear_func(instances, instance_clear);
    g_autoptr(GHashTable) index_of = g_hash_table_new(NULL, NULL); /* name -> index + 1 */
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowLoc *loc = cflow_srcline_insn(s, i);
        int k = inlined_level(loc, function);
        if (k < 0) {
            continue;
        }
        const char *name =
            cflow_srcline_chain_name(s, loc->frames + k, loc->n_frames - (unsigned)k);
        guint at = GPOINTER_TO_UINT(g_hash_table_lookup(index_of, name));
        uint64_t addr = cflow_profile_insn(p, i)->addr;
        if (!at) {
            CflowCfgInstance in = {name, g_new0(bool, p->insns->len), addr};
            g_array_append_val(instances, in);
            at = instances->len;
            g_hash_table_insert(index_of, (gpointer)name, GUINT_TO_POINTER(at));
        }
        CflowCfgInstance *in = &g_array_index(instances, CflowCfgInstance, at - 1);
        in->selected[i] = true;
        in->first = MIN(in->first, addr);
    }
    g_array_sort(instances, by_first);
    return instances;
}

CflowCfg *cflow_cfg_build(const CflowProfile *p, const CflowInsnStats *st, const bool *selected)
{
    CflowCfg *g = g_new0(CflowCfg, 1);
    guint n = p->insns->len;
    g->order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g->blocks = g_array_new(FALSE, FALSE, sizeof(CflowBasicBlock));
    g->edges = g_array_new(FALSE, FALSE, sizeof(CflowCfgEdge));
    g->block_of = g_new(uint32_t, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        g->block_of[i] = CFLOW_CFG_OUTSIDE;
        if (!selected || selected[i]) {
            g_array_append_val(g->order, i);
        }
    }
    g_array_sort_with_data(g->order, cflow_insn_index_cmp, (gpointer)p);

    /* leaders: translation block starts and edge targets */
    g_autoptr(GHashTable) leaders = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint b = 0; b < p->blocks->len; b++) {
        CflowBlock *blk = cflow_profile_block(p, b);
        g_hash_table_add(leaders, &blk->addr);
    }
    for (guint i = 0; i < p->edges->len; i++) {
        g_hash_table_add(leaders, &cflow_profile_edge(p, i)->to);
    }

    for (guint k = 0; k < g->order->len; k++) {
        uint32_t i = g_array_index(g->order, uint32_t, k);
        const CflowInsn *in = cflow_profile_insn(p, i);
        CflowBasicBlock *cur = g->blocks->len
                                   ? &g_array_index(g->blocks, CflowBasicBlock, g->blocks->len - 1)
                                   : NULL;
        bool start = !cur || in->addr != cur->end || g_hash_table_contains(leaders, &in->addr);
        if (cur && !start) {
            /* the previous instruction ended a translation block with a real transfer */
            const CflowInsnStats *prev =
                &st[g_array_index(g->order, uint32_t, cur->first + cur->n - 1)];
            start = prev->out[CFLOW_EDGE_BRANCH] || prev->out[CFLOW_EDGE_FALLTHROUGH];
        }
        if (start) {
            CflowBasicBlock nb = {in->addr, in->addr, k, 0, st[i].execs};
            g_array_append_val(g->blocks, nb);
            cur = &g_array_index(g->blocks, CflowBasicBlock, g->blocks->len - 1);
        }
        cur->n++;
        cur->end = in->addr + in->size;
        g->block_of[i] = g->blocks->len - 1;
    }

    /* where each block starts, for edge targets (the oldest generation's block wins) */
    g->starts = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint b = 0; b < g->blocks->len; b++) {
        CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
        if (!g_hash_table_contains(g->starts, &bb->start)) {
            g_hash_table_insert(g->starts, &bb->start, GUINT_TO_POINTER(b + 1));
        }
    }
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        if (g->block_of[e->from] == CFLOW_CFG_OUTSIDE) {
            continue;
        }
        CflowCfgEdge ce = {.from = g->block_of[e->from], .to = block_at(g, e->to), .to_addr = e->to,
                           .count = e->count, .kind = (CflowEdgeKind)e->kind};
        g_array_append_val(g->edges, ce);
    }
    /*
     * A block split off by a leader is entered by straight-line flow from the one before, where
     * a translation block went on from one to the other: not after an instruction that ended
     * its translation blocks without a recorded transfer (the exit system call at the end of a
     * program, right before the next function).
     */
    g_autofree bool *goes_on = g_new0(bool, n ? n : 1);
    for (guint b = 0; b < p->blocks->len; b++) {
        const CflowBlock *blk = cflow_profile_block(p, b);
        for (uint32_t k = 0; k + 1 < blk->n_insns; k++) {
            goes_on[g_array_index(p->block_insns, uint32_t, blk->first + k)] = true;
        }
    }
    for (guint b = 0; b + 1 < g->blocks->len; b++) {
        const CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
        const CflowBasicBlock *next = &g_array_index(g->blocks, CflowBasicBlock, b + 1);
        uint32_t last_insn = g_array_index(g->order, uint32_t, bb->first + bb->n - 1);
        const CflowInsnStats *last = &st[last_insn];
        if (next->start != bb->end || !goes_on[last_insn] || last->out[CFLOW_EDGE_BRANCH] ||
            last->out[CFLOW_EDGE_FALLTHROUGH]) {
            continue;
        }
        uint64_t left = cflow_stats_exceptions(last);
        uint64_t flow = last->execs > left ? last->execs - left : 0;
        if (flow) {
            CflowCfgEdge ce = {.from = b, .to = b + 1, .to_addr = next->start, .count = flow,
                               .kind = CFLOW_EDGE_FALLTHROUGH, .implicit = true};
            g_array_append_val(g->edges, ce);
        }
    }
    return g;
}

/* One call instruction of the graph: how often it ran to each target, and its hottest one. */
typedef struct {
    uint32_t insn;
    uint64_t calls, hottest_count, hottest;
    uint32_t targets;
} CallSite;

/* The call instructions of the graph that transferred control, in the profile's edge order. */
static GArray *call_sites(const CflowCfg *g, const CflowProfile *p, const CflowDecoder *d)
{
    GArray *sites = g_array_new(FALSE, FALSE, sizeof(CallSite));
    g_autoptr(GHashTable) index = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        if (e->kind != CFLOW_EDGE_BRANCH || g->block_of[e->from] == CFLOW_CFG_OUTSIDE ||
            cflow_insn_class(p, d, e->from) != CFLOW_INSN_CALL) {
            continue;
        }
        guint k = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER(e->from + 1)));
        if (!k) {
            CallSite cs = {.insn = e->from};
            g_array_append_val(sites, cs);
            k = sites->len;
            g_hash_table_insert(index, GUINT_TO_POINTER(e->from + 1), GUINT_TO_POINTER(k));
        }
        CallSite *cs = &g_array_index(sites, CallSite, k - 1);
        cs->calls += e->count;
        cs->targets++;
        if (e->count > cs->hottest_count) {
            cs->hottest_count = e->count;
            cs->hottest = e->to;
        }
    }
    return sites;
}

void cflow_cfg_add_call_returns(CflowCfg *g, const CflowProfile *p)
{
    CflowDecoder d;
    cflow_decoder_open(&d, cflow_arch_find(cflow_profile_get_meta(p, "arch")));
    /* address -> transfers from return instructions that landed there */
    g_autoptr(GHashTable) returns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                                          g_free);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        if (e->kind != CFLOW_EDGE_BRANCH ||
            cflow_insn_class(p, &d, e->from) != CFLOW_INSN_RETURN) {
            continue;
        }
        uint64_t *n = g_hash_table_lookup(returns, &e->to);
        if (!n) {
            n = g_new0(uint64_t, 1);
            g_hash_table_insert(returns, g_memdup2(&e->to, sizeof e->to), n);
        }
        *n += e->count;
    }
    bool returns_known = g_hash_table_size(returns) > 0;
    g_autoptr(GArray) sites = call_sites(g, p, &d);
    g_autofree bool *ends_in_call = g_new0(bool, g->blocks->len ? g->blocks->len : 1);
    for (guint k = 0; k < sites->len; k++) {
        const CallSite *cs = &g_array_index(sites, CallSite, k);
        const CflowInsn *in = cflow_profile_insn(p, cs->insn);
        uint64_t after = in->addr + in->size;
        const uint64_t *landed = g_hash_table_lookup(returns, &after);
        uint64_t count = returns_known ? (landed ? *landed : 0) : cs->calls;
        uint32_t to = block_at(g, after), from = g->block_of[cs->insn];
        ends_in_call[from] = true;
        if (count && to != CFLOW_CFG_OUTSIDE) {
            CflowCfgEdge ce = {.from = from, .to = to, .to_addr = after,
                               .count = count, .kind = CFLOW_EDGE_BRANCH, .call_return = true,
                               .callee = cs->hottest, .callees = cs->targets};
            g_array_append_val(g->edges, ce);
        }
    }
    /* the call ends its block: every other branch out of the block leaves the call */
    for (guint i = 0; i < g->edges->len; i++) {
        CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, i);
        e->call = ends_in_call[e->from] && e->kind == CFLOW_EDGE_BRANCH && !e->call_return;
    }
    cflow_decoder_close(&d);
}

void cflow_cfg_free(CflowCfg *g)
{
    if (!g) {
        return;
    }
    if (g->starts) {
        g_hash_table_destroy(g->starts);
    }
    g_array_free(g->order, TRUE);
    g_array_free(g->blocks, TRUE);
    g_array_free(g->edges, TRUE);
    g_free(g->block_of);
    g_free(g);
}
