/* report.c: text views of a profile (see report.h), ranked by the keys of sort.c. */
#include "report.h"
#include "sort.h"

#include <inttypes.h>
#include <string.h>

/* What one source instruction did, summed over its out-edges. */
typedef struct {
    uint32_t insn;
    CflowSortCounts c; /* transfers out by kind, distinct branch destinations */
    uint32_t *edges;   /* its edge indices: a run of Sources.edge_index */
    guint n_edges;
} Source;

/*
 * The instructions with out-edges, and nothing for the others: a report shows ten of them,
 * and an array over every instruction (with an array of edges each) was most of the memory
 * and a tenth of the time a python3 start-up under the plugin spent at exit.
 */
typedef struct {
    Source *at;
    guint n;
    uint32_t *edge_index; /* every edge index, grouped by source */
} Sources;

typedef struct {
    const CflowProfile *p;
    const CflowSortKey *key;
} SortCtx;

/* By the key, then by address and generation. */
static int cmp_source(gconstpointer a, gconstpointer b, gpointer data)
{
    const Source *x = *(Source *const *)a, *y = *(Source *const *)b;
    const SortCtx *ctx = data;
    int c = ctx->key->insn_compare(&x->c, &y->c);
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

/* By count, most first, then by source address, target and kind. */
static int cmp_edge_by_count(gconstpointer a, gconstpointer b, gpointer data)
{
    const CflowProfile *p = data;
    const CflowEdge *x = cflow_profile_edge(p, *(const uint32_t *)a);
    const CflowEdge *y = cflow_profile_edge(p, *(const uint32_t *)b);
    int c = x->count > y->count ? -1 : x->count < y->count ? 1 : 0;
    if (!c) {
        const CflowInsn *ix = cflow_profile_insn(p, x->from), *iy = cflow_profile_insn(p, y->from);
        c = ix->addr < iy->addr ? -1 : ix->addr > iy->addr;
    }
    if (!c) {
        c = x->to < y->to ? -1 : x->to > y->to ? 1 : (int)x->kind - (int)y->kind;
    }
    return c;
}

/* What describing an instruction or a destination needs. */
typedef struct {
    const CflowProfile *p;
    GHashTable *by_addr; /* addresses -> instruction + 1, where not in address order (else NULL) */
    const CflowReportNames *names; /* NULL: QEMU's symbols and run-time addresses */
} Describe;

static void describe_address(GString *out, const Describe *d, uint64_t addr)
{
    if (d->names) {
        d->names->address(d->names->data, out, addr);
    } else {
        g_string_append_printf(out, "0x%" PRIx64, addr);
    }
}

static void describe_insn(GString *out, const Describe *d, uint32_t index)
{
    const CflowInsn *insn = cflow_profile_insn(d->p, index);
    const char *sym = d->names ? d->names->function(d->names->data, index)
                               : cflow_profile_string(d->p, insn->symbol);
    describe_address(out, d, insn->addr);
    if (insn->generation) {
        g_string_append_printf(out, "#%u", insn->generation);
    }
    g_string_append_printf(out, " %s: %s", sym && *sym ? sym : "?",
                           cflow_profile_insn_disas(d->p, cflow_profile_insn_index(d->p, insn)));
}

static bool insns_in_address_order(const CflowProfile *p)
{
    for (guint i = 1; i < p->insns->len; i++) {
        if (cflow_profile_insn(p, i)->addr < cflow_profile_insn(p, i - 1)->addr) {
            return false;
        }
    }
    return true;
}

/*
 * Destination addresses named by their instruction where the profile has it: the last one
 * at that address in the instructions' order (the newest generation: writers list them by
 * address, then generation). A binary search where they are in address order, as every
 * writer here puts them; a table of every address for a file that is not.
 */
static GHashTable *insn_by_addr(const CflowProfile *p)
{
    if (insns_in_address_order(p)) {
        return NULL;
    }
    GHashTable *t = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint i = 0; i < p->insns->len; i++) {
        g_hash_table_replace(t, &cflow_profile_insn(p, i)->addr, GUINT_TO_POINTER(i + 1));
    }
    return t;
}

static void describe_dest(GString *out, const Describe *d, uint64_t to)
{
    guint idx;
    if (d->by_addr) {
        idx = GPOINTER_TO_UINT(g_hash_table_lookup(d->by_addr, &to));
    } else {
        idx = cflow_profile_insn_lower_bound(d->p, to);
        while (idx < d->p->insns->len && cflow_profile_insn(d->p, idx)->addr == to) {
            idx++; /* past the generations at `to`: idx is then the last one's index + 1 */
        }
        if (idx && cflow_profile_insn(d->p, idx - 1)->addr != to) {
            idx = 0;
        }
    }
    if (idx) {
        describe_insn(out, d, idx - 1);
    } else {
        describe_address(out, d, to);
    }
}

static void describe_source(GString *out, const Describe *d, const Source *s,
                            const CflowSortKey *key)
{
    const CflowProfile *p = d->p;
    g_string_append(out, "  ");
    describe_insn(out, d, s->insn);
    g_string_append_c(out, '\n');
    g_string_append(out, "     ");
    static const char *labels[] = {"taken", "fallthrough", "exceptions", "interrupts",
                                   "hostcalls", "early exits"};
    bool first = true;
    for (int k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        if (s->c.out[k]) {
            g_string_append_printf(out, "%s%s %" PRIu64, first ? "" : ", ", labels[k],
                                   s->c.out[k]);
            first = false;
        }
    }
    if (key->insn_print) {
        key->insn_print(out, &s->c);
    }
    g_string_append_printf(out, ", %u branch destination%s\n", s->c.branch_dests,
                           s->c.branch_dests == 1 ? "" : "s");
    g_qsort_with_data(s->edges, (gint)s->n_edges, sizeof(uint32_t), cmp_edge_by_count,
                      (gpointer)p);
    guint shown = MIN(s->n_edges, 8u);
    for (guint i = 0; i < shown; i++) {
        const CflowEdge *e = cflow_profile_edge(p, s->edges[i]);
        g_string_append_printf(out, "       %14" PRIu64 " %-11s -> ", e->count,
                               cflow_edge_kind_name(e->kind));
        describe_dest(out, d, e->to);
        g_string_append_c(out, '\n');
    }
    if (s->n_edges > shown) {
        g_string_append_printf(out, "       ... and %u more destinations\n",
                               s->n_edges - shown);
    }
}

/* By source instruction, then index: an edge's place in its source's run. */
static int cmp_edge_by_source(gconstpointer a, gconstpointer b, gpointer data)
{
    const CflowProfile *p = data;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t fx = cflow_profile_edge(p, x)->from, fy = cflow_profile_edge(p, y)->from;
    return fx != fy ? (fx < fy ? -1 : 1) : (x > y) - (x < y);
}

/*
 * Per source instruction totals, in source order. Writers list edges by source already; a file
 * that does not is put in that order first.
 */
static Sources collect_sources(const CflowProfile *p)
{
    guint n = p->edges->len;
    Sources all = {NULL, 0, g_new(uint32_t, MAX(n, 1u))};
    bool grouped = true;
    for (guint i = 0; i < n; i++) {
        all.edge_index[i] = i;
        grouped = grouped && (i == 0 || cflow_profile_edge(p, i)->from >=
                                            cflow_profile_edge(p, i - 1)->from);
    }
    if (!grouped) {
        g_qsort_with_data(all.edge_index, (gint)n, sizeof(uint32_t), cmp_edge_by_source,
                          (gpointer)p);
    }
    for (guint i = 0; i < n; i++) {
        all.n += i == 0 || cflow_profile_edge(p, all.edge_index[i])->from !=
                               cflow_profile_edge(p, all.edge_index[i - 1])->from;
    }
    all.at = g_new0(Source, MAX(all.n, 1u));
    Source *s = NULL;
    guint next = 0;
    for (guint i = 0; i < n; i++) {
        const CflowEdge *e = cflow_profile_edge(p, all.edge_index[i]);
        if (s == NULL || e->from != s->insn) {
            s = &all.at[next++];
            s->insn = e->from;
            s->edges = &all.edge_index[i];
        }
        s->n_edges++;
        s->c.out[e->kind] += e->count;
        s->c.branch_dests += e->kind == CFLOW_EDGE_BRANCH;
    }
    return all;
}

static void free_sources(Sources *all)
{
    g_free(all->at);
    g_free(all->edge_index);
}

/* Edges and transfers by kind, for the summary. */
static void count_kinds(const CflowProfile *p, uint64_t *kind_count, uint64_t *kind_total)
{
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        kind_count[e->kind]++;
        kind_total[e->kind] += e->count;
    }
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
 * The sources `key` selects, ranked. A key with a floor (bias) ranks only the conditional
 * branches run at least 0.1% as often as all of them together (see sort.h).
 */
static GPtrArray *rank_sources(const CflowProfile *p, const Sources *all, CflowSort sort,
                               uint64_t *floor_out, uint64_t *cond_out)
{
    const CflowSortKey *key = &cflow_sort_keys[sort];
    uint64_t cond_total = 0;
    for (guint i = 0; i < all->n && key->insn_floor; i++) {
        const Source *s = &all->at[i];
        if (cflow_sort_conditional(&s->c, 0)) {
            cond_total += s->c.out[CFLOW_EDGE_BRANCH] + s->c.out[CFLOW_EDGE_FALLTHROUGH];
        }
    }
    uint64_t floor = cond_total / 1000;
    GPtrArray *ranked = g_ptr_array_new();
    for (guint i = 0; i < all->n; i++) {
        if (cflow_sort_selects(sort, &all->at[i].c, floor)) {
            g_ptr_array_add(ranked, &all->at[i]);
        }
    }
    SortCtx ctx = {p, key};
    g_ptr_array_sort_with_data(ranked, cmp_source, &ctx);
    if (floor_out) {
        *floor_out = floor;
        *cond_out = cond_total;
    }
    return ranked;
}

GArray *cflow_report_rank(const CflowProfile *p, CflowSort sort, unsigned topn)
{
    GArray *out;
    if (cflow_sort_ranks_edges(sort)) {
        out = rank_edges(p, topn);
    } else {
        Sources all = collect_sources(p);
        GPtrArray *ranked = rank_sources(p, &all, sort, NULL, NULL);
        out = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), ranked->len);
        for (guint i = 0; i < ranked->len; i++) {
            g_array_append_val(out, ((Source *)g_ptr_array_index(ranked, i))->insn);
        }
        g_ptr_array_free(ranked, TRUE);
        free_sources(&all);
    }
    if (topn && out->len > topn) {
        g_array_set_size(out, topn);
    }
    return out;
}

/* The first lines: sizes, the guest, and edges and transfers by kind. */
static void summary(GString *out, const CflowProfile *p, const uint64_t *kind_count,
                    const uint64_t *kind_total)
{
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
}

static void top_edges(GString *out, const Describe *d, unsigned topn)
{
    const CflowProfile *p = d->p;
    GArray *all = rank_edges(p, topn);
    for (guint i = 0; i < all->len && i < topn; i++) {
        const CflowEdge *e = cflow_profile_edge(p, g_array_index(all, uint32_t, i));
        g_string_append_printf(out, "  %14" PRIu64 " %-11s ", e->count,
                               cflow_edge_kind_name(e->kind));
        describe_insn(out, d, e->from);
        g_string_append(out, " -> ");
        describe_dest(out, d, e->to);
        g_string_append_c(out, '\n');
    }
    g_array_free(all, TRUE);
}

static void top_sources(GString *out, const Describe *d, CflowSort sort, unsigned topn)
{
    const CflowProfile *p = d->p;
    const CflowSortKey *key = &cflow_sort_keys[sort];
    uint64_t floor, cond_total;
    Sources all = collect_sources(p);
    GPtrArray *ranked = rank_sources(p, &all, sort, &floor, &cond_total);
    if (key->insn_floor) {
        g_string_append_printf(out,
                               "  (conditional branches run at least %" PRIu64
                               " times: 0.1%% of all %" PRIu64 " conditional executions)\n",
                               floor, cond_total);
    }
    for (guint i = 0; i < ranked->len && i < topn; i++) {
        describe_source(out, d, g_ptr_array_index(ranked, i), key);
    }
    if (ranked->len == 0) {
        g_string_append(out, "  (none)\n");
    }
    g_ptr_array_free(ranked, TRUE);
    free_sources(&all);
}

GString *cflow_report(const CflowProfile *p, CflowSort sort, unsigned topn)
{
    return cflow_report_named(p, sort, topn, NULL);
}

GString *cflow_report_named(const CflowProfile *p, CflowSort sort, unsigned topn,
                            const CflowReportNames *names)
{
    const CflowSortKey *key = &cflow_sort_keys[sort];
    GString *out = g_string_new(NULL);
    uint64_t kind_count[CFLOW_EDGE_KIND_COUNT] = {0}, kind_total[CFLOW_EDGE_KIND_COUNT] = {0};
    count_kinds(p, kind_count, kind_total);
    summary(out, p, kind_count, kind_total);
    g_string_append_printf(out, "top %u %s (sort=%s):\n", topn, key->insn_title, key->name);
    Describe d = {p, insn_by_addr(p), names};
    if (cflow_sort_ranks_edges(sort)) {
        top_edges(out, &d, topn);
    } else {
        top_sources(out, &d, sort, topn);
    }
    if (d.by_addr) {
        g_hash_table_destroy(d.by_addr);
    }
    return out;
}
