/* stats.c: per-instruction and per-function / per-line figures (see stats.h). */
#include "stats.h"

#include <math.h>
#include <string.h>

CflowInsnStats *cflow_insn_stats(const CflowProfile *p)
{
    CflowInsnStats *st = g_new0(CflowInsnStats, p->insns->len ? p->insns->len : 1);
    for (guint b = 0; b < p->blocks->len; b++) {
        const CflowBlock *blk = cflow_profile_block(p, b);
        for (uint32_t k = 0; k < blk->n_insns; k++) {
            st[g_array_index(p->block_insns, uint32_t, blk->first + k)].execs += blk->count;
        }
    }
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        st[e->from].out[e->kind] += e->count;
        st[e->from].branch_dests += e->kind == CFLOW_EDGE_BRANCH;
    }
    return st;
}

void cflow_insn_transfer(const CflowProfile *p, const CflowDecoder *d, uint32_t i,
                         CflowTransfer *t)
{
    const CflowInsn *in = cflow_profile_insn(p, i);
    const uint8_t *bytes = cflow_profile_insn_bytes(p, i);
    bool from_bytes = d->open && bytes && in->disas == 0 && in->size != 0 &&
                      in->size <= CFLOW_INSN_BYTES;
    cflow_arch_classify(d, in->addr, from_bytes ? bytes : NULL, in->size,
                        from_bytes ? NULL : cflow_profile_insn_disas(p, i), t);
}

CflowInsnClass cflow_insn_class(const CflowProfile *p, const CflowDecoder *d, uint32_t i)
{
    CflowTransfer t;
    cflow_insn_transfer(p, d, i, &t);
    return t.cls;
}

uint64_t cflow_stats_exceptions(const CflowInsnStats *s)
{
    return s->out[CFLOW_EDGE_EXCEPTION] + s->out[CFLOW_EDGE_INTERRUPT] +
           s->out[CFLOW_EDGE_HOSTCALL] + s->out[CFLOW_EDGE_EARLY_EXIT];
}

double cflow_group_bias(const CflowGroup *g)
{
    uint64_t n = g->biased_taken + g->biased_fallthrough;
    return g->biased >= 0 && n ? fabs((double)g->biased_taken / (double)n - 0.5) : 0.0;
}

/*
 * Groups are told apart by interned string pointers: srcline returns one copy per text.
 * `name` is the function's, or the inlined instance's (cflow_srcline_inline_name); a line is
 * told apart by it only with inlines (then each inlined instance has its own lines).
 */
static char *group_key(const CflowLoc *loc, const char *name, CflowGroupBy by, bool inlines)
{
    if (by == CFLOW_GROUP_LINE && loc->file && loc->line) {
        return g_strdup_printf("%p:%u:%p", (const void *)loc->file, loc->line,
                               inlines ? (const void *)name : NULL);
    }
    return g_strdup_printf("%p:%p", (const void *)loc->object, (const void *)name);
}

/* Whether loc is code of `function`: the function it is in, or (inlines) one inlined there. */
static bool is_of(const CflowLoc *loc, const char *function, bool inlines)
{
    if (strcmp(loc->function, function) == 0) {
        return true;
    }
    for (unsigned i = 0; inlines && i < loc->n_frames; i++) {
        if (strcmp(loc->frames[i].function, function) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * An inlined instance's entries: the times control came into its code from outside it, by a
 * transfer or by running on into it in a block. Not entries: control coming back after the
 * instance sent it away (the return from a call it makes), and running on into it again in
 * the same block after some of the caller's instructions that the compiler scheduled among its
 * own. Its DWARF entry pc is no measure: GCC may put it on an instruction of the caller's
 * loop test.
 */
static void count_inlined_entries(const CflowProfile *p, CflowSrcline *s, GHashTable *by_key,
                                  CflowGroup **of_insn)
{
    /* where control comes back to an instance after one of its instructions sent it away (a
     * call): the address after such an instruction -> its group */
    g_autoptr(GHashTable) comebacks = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                                            NULL);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *in = cflow_profile_insn(p, e->from);
        uint64_t next = in->addr + in->size;
        if (e->kind == CFLOW_EDGE_BRANCH && of_insn[e->from] && of_insn[e->from]->inlined &&
            e->to != next) {
            g_hash_table_insert(comebacks, g_memdup2(&next, sizeof next), of_insn[e->from]);
        }
    }
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowLoc *to = cflow_srcline_lookup(s, e->to, NULL);
        if (to->n_frames < 2) {
            continue;
        }
        g_autofree char *key = group_key(to, cflow_srcline_inline_name(s, to),
                                         CFLOW_GROUP_FUNCTION, true);
        CflowGroup *g = g_hash_table_lookup(by_key, key);
        if (g && g != of_insn[e->from] && g_hash_table_lookup(comebacks, &e->to) != g) {
            g->entries += e->count;
        }
    }
    for (guint b = 0; b < p->blocks->len; b++) {
        const CflowBlock *blk = cflow_profile_block(p, b);
        const uint32_t *ids = &g_array_index(p->block_insns, uint32_t, blk->first);
        for (uint32_t k = 1; k < blk->n_insns; k++) {
            CflowGroup *g = of_insn[ids[k]];
            bool earlier = false; /* the caller's code scheduled into the instance: no entry */
            for (uint32_t j = 0; j < k && g && !earlier; j++) {
                earlier = of_insn[ids[j]] == g;
            }
            if (g && g->inlined && !earlier) {
                g->entries += blk->count;
            }
        }
    }
}

/* Entries: a function's are the transfers to its entry address; a line's those into it from
 * another line. */
static void count_entries(const CflowProfile *p, CflowSrcline *s, GPtrArray *groups,
                          GHashTable *by_key, CflowGroupBy by, bool inlines)
{
    g_autoptr(GHashTable) by_start = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint gi = 0; gi < groups->len && by == CFLOW_GROUP_FUNCTION; gi++) {
        CflowGroup *g = g_ptr_array_index(groups, gi);
        if (g->inlined) {
            continue;
        }
        if (!g->function_start) {
            g->function_start = g->first_addr; /* no symbol: its lowest address run */
        }
        g_hash_table_insert(by_start, &g->function_start, g);
    }
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        if (by == CFLOW_GROUP_FUNCTION) {
            CflowGroup *g = g_hash_table_lookup(by_start, &e->to);
            if (g) {
                g->entries += e->count;
            }
            continue;
        }
        const CflowLoc *to = cflow_srcline_lookup(s, e->to, NULL);
        if (!to->line) {
            continue;
        }
        const CflowLoc *from = cflow_srcline_insn(s, e->from);
        if (from->file == to->file && from->line == to->line) {
            continue;
        }
        g_autofree char *key = group_key(to, inlines ? cflow_srcline_inline_name(s, to)
                                                     : to->function, by, inlines);
        CflowGroup *g = g_hash_table_lookup(by_key, key);
        if (g) {
            g->entries += e->count;
        }
    }
}

GPtrArray *cflow_groups(const CflowProfile *p, CflowSrcline *s, const CflowInsnStats *st,
                        CflowGroupBy by, const char *function, bool inlines)
{
    GPtrArray *groups = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* instruction index -> its group, for the edges below */
    CflowGroup **of_insn = g_new0(CflowGroup *, p->insns->len ? p->insns->len : 1);
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsnStats *is = &st[i];
        bool any = is->execs > 0;
        for (int k = 0; k < CFLOW_EDGE_KIND_COUNT && !any; k++) {
            any = is->out[k] > 0;
        }
        if (!any) {
            continue;
        }
        const CflowLoc *loc = cflow_srcline_insn(s, i);
        if (function && !is_of(loc, function, inlines)) {
            continue;
        }
        const char *name = inlines ? cflow_srcline_inline_name(s, loc) : loc->function;
        char *key = group_key(loc, name, by, inlines);
        CflowGroup *g = g_hash_table_lookup(by_key, key);
        uint64_t addr = cflow_profile_insn(p, i)->addr;
        if (!g) {
            g = g_new0(CflowGroup, 1);
            g->function = name;
            g->inlined = name != loc->function ? &loc->frames[0] : NULL;
            if (by == CFLOW_GROUP_LINE && loc->line) {
                g->file = loc->file;
                g->line = loc->line;
                g->where = cflow_srcline_short(s, loc);
            }
            g->first_addr = addr;
            g->function_start = g->inlined ? loc->frames[0].entry : loc->function_start;
            g->biased = -1;
            g_ptr_array_add(groups, g);
            g_hash_table_insert(by_key, key, g);
        } else {
            g_free(key);
        }
        of_insn[i] = g;
        g->first_addr = MIN(g->first_addr, addr);
        g->execs += is->execs;
        for (int k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
            g->out[k] += is->out[k];
        }
        g->branch_dests += is->branch_dests;
        uint64_t t = is->out[CFLOW_EDGE_BRANCH], f = is->out[CFLOW_EDGE_FALLTHROUGH];
        if (t && f) {
            /* most biased: furthest from 1/2, then the more often run */
            CflowGroup cand = *g;
            cand.biased = i;
            cand.biased_taken = t;
            cand.biased_fallthrough = f;
            double b = cflow_group_bias(&cand), old = cflow_group_bias(g);
            if (g->biased < 0 || b > old ||
                (b == old && t + f > g->biased_taken + g->biased_fallthrough)) {
                g->biased = i;
                g->biased_taken = t;
                g->biased_fallthrough = f;
            }
        }
    }

    if (by == CFLOW_GROUP_FUNCTION && inlines) {
        count_inlined_entries(p, s, by_key, of_insn);
    }
    count_entries(p, s, groups, by_key, by, inlines);
    g_free(of_insn);
    return groups;
}
