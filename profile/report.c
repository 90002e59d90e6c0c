/* report.c: text views of a profile (see report.h). */
#include "report.h"

#include <inttypes.h>
#include <string.h>

/* What one source instruction did, summed over its out-edges. */
typedef struct {
    uint32_t insn;
    uint64_t kind_total[CFLOW_EDGE_KIND_COUNT];
    uint32_t branch_dests;
    GArray *edges; /* uint32_t edge indices */
} Source;

static const char *sort_names[] = {"hottest", "early", "exceptions", "popular", "edges", "bias"};

const char *cflow_sort_name(CflowSort sort)
{
    return sort_names[sort];
}

bool cflow_sort_parse(const char *name, CflowSort *sort)
{
    for (int s = 0; s < CFLOW_SORT_COUNT; s++) {
        if (strcmp(name, sort_names[s]) == 0) {
            *sort = s;
            return true;
        }
    }
    return false;
}

static uint64_t exc_total(const Source *s)
{
    return s->kind_total[CFLOW_EDGE_EXCEPTION] + s->kind_total[CFLOW_EDGE_INTERRUPT] +
           s->kind_total[CFLOW_EDGE_HOSTCALL];
}

static double taken_ratio(const Source *s)
{
    uint64_t t = s->kind_total[CFLOW_EDGE_BRANCH], f = s->kind_total[CFLOW_EDGE_FALLTHROUGH];
    return t + f ? (double)t / (double)(t + f) : 0.0;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b ? 1 : 0;
}

typedef struct {
    const CflowProfile *p;
    CflowSort sort;
} SortCtx;

static int cmp_source(gconstpointer a, gconstpointer b, gpointer data)
{
    const Source *x = *(Source *const *)a, *y = *(Source *const *)b;
    const SortCtx *ctx = data;
    int c = 0;
    switch (ctx->sort) {
    case CFLOW_SORT_HOTTEST:
        c = cmp_u64_desc(x->kind_total[CFLOW_EDGE_BRANCH], y->kind_total[CFLOW_EDGE_BRANCH]);
        break;
    case CFLOW_SORT_EARLY:
        c = cmp_u64_desc(x->kind_total[CFLOW_EDGE_EARLY_EXIT],
                         y->kind_total[CFLOW_EDGE_EARLY_EXIT]);
        break;
    case CFLOW_SORT_EXCEPTIONS:
        c = cmp_u64_desc(exc_total(x), exc_total(y));
        break;
    case CFLOW_SORT_POPULAR:
        c = cmp_u64_desc(x->branch_dests, y->branch_dests);
        if (!c) {
            c = cmp_u64_desc(x->kind_total[CFLOW_EDGE_BRANCH], y->kind_total[CFLOW_EDGE_BRANCH]);
        }
        break;
    case CFLOW_SORT_BIAS: {
        double rx = taken_ratio(x), ry = taken_ratio(y);
        c = rx > ry ? -1 : rx < ry ? 1 : 0;
        if (!c) {
            c = cmp_u64_desc(x->kind_total[CFLOW_EDGE_BRANCH] + x->kind_total[CFLOW_EDGE_FALLTHROUGH],
                             y->kind_total[CFLOW_EDGE_BRANCH] + y->kind_total[CFLOW_EDGE_FALLTHROUGH]);
        }
        break;
    }
    case CFLOW_SORT_EDGES:
        break;
    }
    if (!c) {
        const CflowInsn *ix = cflow_profile_insn(ctx->p, x->insn);
        const CflowInsn *iy = cflow_profile_insn(ctx->p, y->insn);
        c = ix->addr < iy->addr ? -1 : ix->addr > iy->addr ? 1 : 0;
        if (!c) {
            c = ix->generation < iy->generation ? -1 : ix->generation > iy->generation;
        }
    }
    return c;
}

static bool source_selected(const Source *s, CflowSort sort, uint64_t bias_floor)
{
    switch (sort) {
    case CFLOW_SORT_HOTTEST:
    case CFLOW_SORT_POPULAR:
        return s->kind_total[CFLOW_EDGE_BRANCH] > 0;
    case CFLOW_SORT_EARLY:
        return s->kind_total[CFLOW_EDGE_EARLY_EXIT] > 0;
    case CFLOW_SORT_EXCEPTIONS:
        return exc_total(s) > 0;
    case CFLOW_SORT_BIAS:
        return s->kind_total[CFLOW_EDGE_BRANCH] > 0 && s->kind_total[CFLOW_EDGE_FALLTHROUGH] > 0 &&
               s->kind_total[CFLOW_EDGE_BRANCH] + s->kind_total[CFLOW_EDGE_FALLTHROUGH] >=
                   bias_floor;
    case CFLOW_SORT_EDGES:
        return false;
    }
    return false;
}

static int cmp_edge_by_count(gconstpointer a, gconstpointer b, gpointer data)
{
    const CflowProfile *p = data;
    const CflowEdge *x = cflow_profile_edge(p, *(const uint32_t *)a);
    const CflowEdge *y = cflow_profile_edge(p, *(const uint32_t *)b);
    int c = cmp_u64_desc(x->count, y->count);
    if (!c) {
        const CflowInsn *ix = cflow_profile_insn(p, x->from), *iy = cflow_profile_insn(p, y->from);
        c = ix->addr < iy->addr ? -1 : ix->addr > iy->addr;
    }
    if (!c) {
        c = x->to < y->to ? -1 : x->to > y->to ? 1 : (int)x->kind - (int)y->kind;
    }
    return c;
}

static void describe_insn(GString *out, const CflowProfile *p, uint32_t index)
{
    const CflowInsn *insn = cflow_profile_insn(p, index);
    const char *sym = cflow_profile_string(p, insn->symbol);
    g_string_append_printf(out, "0x%" PRIx64, insn->addr);
    if (insn->generation) {
        g_string_append_printf(out, "#%u", insn->generation);
    }
    g_string_append_printf(out, " %s: %s", sym && *sym ? sym : "?",
                           cflow_profile_insn_disas(p, cflow_profile_insn_index(p, insn)));
}

/* Destination addresses named by their instruction where the profile has it. */
static GHashTable *insn_by_addr(const CflowProfile *p)
{
    GHashTable *t = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint i = 0; i < p->insns->len; i++) {
        /* insns are sorted by address then generation: the newest generation wins */
        g_hash_table_replace(t, &cflow_profile_insn(p, i)->addr, GUINT_TO_POINTER(i + 1));
    }
    return t;
}

static void describe_dest(GString *out, const CflowProfile *p, GHashTable *by_addr, uint64_t to)
{
    guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(by_addr, &to));
    if (idx) {
        describe_insn(out, p, idx - 1);
    } else {
        g_string_append_printf(out, "0x%" PRIx64, to);
    }
}

static void describe_source(GString *out, const CflowProfile *p, GHashTable *by_addr,
                            const Source *s, CflowSort sort)
{
    g_string_append(out, "  ");
    describe_insn(out, p, s->insn);
    g_string_append_c(out, '\n');
    g_string_append(out, "     ");
    static const char *labels[] = {"taken", "fallthrough", "exceptions", "interrupts",
                                   "hostcalls", "early exits"};
    bool first = true;
    for (int k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        if (s->kind_total[k]) {
            g_string_append_printf(out, "%s%s %" PRIu64, first ? "" : ", ", labels[k],
                                   s->kind_total[k]);
            first = false;
        }
    }
    if (sort == CFLOW_SORT_BIAS) {
        g_string_append_printf(out, ", taken ratio %.1f%%", 100.0 * taken_ratio(s));
    }
    g_string_append_printf(out, ", %u branch destination%s\n", s->branch_dests,
                           s->branch_dests == 1 ? "" : "s");
    g_array_sort_with_data(s->edges, cmp_edge_by_count, (gpointer)p);
    guint shown = MIN(s->edges->len, 8u);
    for (guint i = 0; i < shown; i++) {
        const CflowEdge *e = cflow_profile_edge(p, g_array_index(s->edges, uint32_t, i));
        g_string_append_printf(out, "       %14" PRIu64 " %-11s -> ", e->count,
                               cflow_edge_kind_name(e->kind));
        describe_dest(out, p, by_addr, e->to);
        g_string_append_c(out, '\n');
    }
    if (s->edges->len > shown) {
        g_string_append_printf(out, "       ... and %u more destinations\n",
                               s->edges->len - shown);
    }
}

/* Per source instruction totals, indexed by instruction; entries without edges are empty. */
static Source *collect_sources(const CflowProfile *p, uint64_t *kind_count, uint64_t *kind_total)
{
    Source *sources = g_new0(Source, p->insns->len);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        Source *s = &sources[e->from];
        if (!s->edges) {
            s->edges = g_array_new(FALSE, FALSE, sizeof(uint32_t));
            s->insn = e->from;
        }
        uint32_t idx = i;
        g_array_append_val(s->edges, idx);
        s->kind_total[e->kind] += e->count;
        s->branch_dests += e->kind == CFLOW_EDGE_BRANCH;
        if (kind_count) {
            kind_count[e->kind]++;
            kind_total[e->kind] += e->count;
        }
    }
    return sources;
}

static void free_sources(const CflowProfile *p, Source *sources)
{
    for (guint i = 0; i < p->insns->len; i++) {
        if (sources[i].edges) {
            g_array_free(sources[i].edges, TRUE);
        }
    }
    g_free(sources);
}

/* Keeps heap[0] the worst (last in ranking order) of the kept edges. */
static void sift_down(uint32_t *heap, guint n, guint i, const CflowProfile *p)
{
    while (true) {
        guint l = 2 * i + 1, r = l + 1, worst = i;
        if (l < n && cmp_edge_by_count(&heap[l], &heap[worst], (gpointer)p) > 0) {
            worst = l;
        }
        if (r < n && cmp_edge_by_count(&heap[r], &heap[worst], (gpointer)p) > 0) {
            worst = r;
        }
        if (worst == i) {
            return;
        }
        uint32_t t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

/*
 * Edge indices, hottest first: the top `topn` (0: all). A few out of millions are picked with
 * a bounded heap in one pass rather than by sorting them all (10 million edges: 0.3 s, not 3).
 */
static GArray *rank_edges(const CflowProfile *p, unsigned topn)
{
    guint n = p->edges->len;
    GArray *all;
    if (topn && topn < n / 8) {
        all = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), topn);
        uint32_t *heap = g_new(uint32_t, topn);
        guint k = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (k < topn) {
                heap[k++] = i;
                if (k == topn) {
                    for (guint j = topn / 2; j-- > 0;) {
                        sift_down(heap, k, j, p);
                    }
                }
            } else if (cmp_edge_by_count(&i, &heap[0], (gpointer)p) < 0) {
                heap[0] = i;
                sift_down(heap, k, 0, p);
            }
        }
        g_array_append_vals(all, heap, k);
        g_free(heap);
    } else {
        all = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), n);
        for (uint32_t i = 0; i < n; i++) {
            g_array_append_val(all, i);
        }
    }
    g_array_sort_with_data(all, cmp_edge_by_count, (gpointer)p);
    return all;
}

/*
 * The selected sources of a source sort, ranked. bias: a conditional branch is an instruction
 * seen both taken and falling through. Rare ones would crowd the top with 1-of-2 ratios, so
 * only those run at least 0.1% as often as all conditional branches together are ranked.
 */
static GPtrArray *rank_sources(const CflowProfile *p, Source *sources, CflowSort sort,
                               uint64_t *floor_out, uint64_t *cond_out)
{
    uint64_t cond_total = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        if (sources[i].edges && source_selected(&sources[i], CFLOW_SORT_BIAS, 0)) {
            cond_total += sources[i].kind_total[CFLOW_EDGE_BRANCH] +
                          sources[i].kind_total[CFLOW_EDGE_FALLTHROUGH];
        }
    }
    uint64_t bias_floor = cond_total / 1000;
    GPtrArray *ranked = g_ptr_array_new();
    for (guint i = 0; i < p->insns->len; i++) {
        if (sources[i].edges && source_selected(&sources[i], sort, bias_floor)) {
            g_ptr_array_add(ranked, &sources[i]);
        }
    }
    SortCtx ctx = {p, sort};
    g_ptr_array_sort_with_data(ranked, cmp_source, &ctx);
    if (floor_out) {
        *floor_out = bias_floor;
        *cond_out = cond_total;
    }
    return ranked;
}

GArray *cflow_report_rank(const CflowProfile *p, CflowSort sort, unsigned topn)
{
    GArray *out;
    if (sort == CFLOW_SORT_EDGES) {
        out = rank_edges(p, topn);
    } else {
        Source *sources = collect_sources(p, NULL, NULL);
        GPtrArray *ranked = rank_sources(p, sources, sort, NULL, NULL);
        out = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), ranked->len);
        for (guint i = 0; i < ranked->len; i++) {
            g_array_append_val(out, ((Source *)g_ptr_array_index(ranked, i))->insn);
        }
        g_ptr_array_free(ranked, TRUE);
        free_sources(p, sources);
    }
    if (topn && out->len > topn) {
        g_array_set_size(out, topn);
    }
    return out;
}

GString *cflow_report(const CflowProfile *p, CflowSort sort, unsigned topn)
{
    GString *out = g_string_new(NULL);
    uint64_t kind_count[CFLOW_EDGE_KIND_COUNT] = {0}, kind_total[CFLOW_EDGE_KIND_COUNT] = {0};
    Source *sources = collect_sources(p, kind_count, kind_total);

    const char *arch = cflow_profile_get_meta(p, "arch");
    const char *guest = cflow_profile_get_meta(p, "guest");
    g_string_append_printf(out, "cflow: %u edges, %u instructions, %u blocks", p->edges->len,
                           p->insns->len, p->blocks->len);
    if (guest || arch) {
        g_string_append_printf(out, " (%s%s%s)", guest ? guest : "", guest && arch ? ", " : "",
                               arch ? arch : "");
    }
    g_string_append_c(out, '\n');
    for (int k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        if (kind_count[k]) {
            g_string_append_printf(out, "  %-11s %8" PRIu64 " edges %14" PRIu64 " transfers\n",
                                   cflow_edge_kind_name(k), kind_count[k], kind_total[k]);
        }
    }

    static const char *titles[] = {
        "source instructions with the most branches taken",
        "source instructions with the most early exits",
        "source instructions with the most exceptions, interrupts and host calls",
        "source instructions with the most distinct branch destinations",
        "hottest edges",
        "conditional branches by taken ratio",
    };
    g_string_append_printf(out, "top %u %s (sort=%s):\n", topn, titles[sort], sort_names[sort]);
    GHashTable *by_addr = insn_by_addr(p);
    if (sort == CFLOW_SORT_EDGES) {
        GArray *all = rank_edges(p, topn);
        for (guint i = 0; i < all->len && i < topn; i++) {
            const CflowEdge *e = cflow_profile_edge(p, g_array_index(all, uint32_t, i));
            g_string_append_printf(out, "  %14" PRIu64 " %-11s ", e->count,
                                   cflow_edge_kind_name(e->kind));
            describe_insn(out, p, e->from);
            g_string_append(out, " -> ");
            describe_dest(out, p, by_addr, e->to);
            g_string_append_c(out, '\n');
        }
        g_array_free(all, TRUE);
    } else {
        uint64_t bias_floor, cond_total;
        GPtrArray *ranked = rank_sources(p, sources, sort, &bias_floor, &cond_total);
        if (sort == CFLOW_SORT_BIAS) {
            g_string_append_printf(out, "  (conditional branches run at least %" PRIu64
                                   " times: 0.1%% of all %" PRIu64 " conditional executions)\n",
                                   bias_floor, cond_total);
        }
        for (guint i = 0; i < ranked->len && i < topn; i++) {
            describe_source(out, p, by_addr, g_ptr_array_index(ranked, i), sort);
        }
        if (ranked->len == 0) {
            g_string_append(out, "  (none)\n");
        }
        g_ptr_array_free(ranked, TRUE);
    }
    g_hash_table_destroy(by_addr);
    free_sources(p, sources);
    return out;
}
