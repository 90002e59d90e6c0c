/*
 * cmd-diff.c: `cflow diff A B`: what changed between two runs, for regression hunting: the
 * conditional branches whose bias moved most, and the edges whose rate moved most.
 *
 * Counts are compared as rates per block entry (all block counts summed), so a run twice as
 * long does not make every edge "change". Addresses are compared as (file, offset) through
 * each profile's own maps, so runs whose libraries were loaded elsewhere still line up.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cflow.h"
#include "emit.h"
#include "srcline.h"
#include "stats.h"

#define CMD "diff"

typedef struct {
    const CflowProfile *p;
    CflowSrcline *s;
    CflowInsnStats *st;
    uint64_t entries; /* block entries: the run's length */
    uint64_t cond;    /* conditional branch executions */
} Side;

typedef struct {
    int64_t edge[2];  /* edge index in A, B, or -1 */
    uint64_t count[2];
    double change;    /* rate B - rate A */
} EdgeRow;

typedef struct {
    int64_t insn[2];
    uint64_t taken[2], fall[2];
    double change; /* taken ratio B - A */
} BranchRow;

static void side_init(Side *d, const CflowProfile *p)
{
    d->p = p;
    d->s = cflow_srcline_new(p);
    d->st = cflow_insn_stats(p);
    d->entries = 0;
    for (guint i = 0; i < p->blocks->len; i++) {
        d->entries += cflow_profile_block(p, i)->count;
    }
    d->cond = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsnStats *is = &d->st[i];
        if (is->out[CFLOW_EDGE_BRANCH] && is->out[CFLOW_EDGE_FALLTHROUGH]) {
            d->cond += is->out[CFLOW_EDGE_BRANCH] + is->out[CFLOW_EDGE_FALLTHROUGH];
        }
    }
}

static double rate(const Side *d, uint64_t count)
{
    return d->entries ? (double)count / (double)d->entries : 0.0;
}

static char *insn_key(Side *d, uint32_t insn)
{
    const CflowInsn *in = cflow_profile_insn(d->p, insn);
    g_autofree char *where = cflow_srcline_file_offset(d->s, in->addr);
    return g_strdup_printf("%s#%u", where, in->generation);
}

static char *edge_key(Side *d, const CflowEdge *e)
{
    g_autofree char *from = insn_key(d, e->from);
    g_autofree char *to = cflow_srcline_file_offset(d->s, e->to);
    return g_strdup_printf("%s %u %s", from, e->kind, to);
}

static int cmp_change(double a, double b)
{
    return fabs(a) > fabs(b) ? -1 : fabs(a) < fabs(b) ? 1 : 0;
}

static int cmp_edge_row(gconstpointer a, gconstpointer b)
{
    const EdgeRow *x = a, *y = b;
    int c = cmp_change(x->change, y->change);
    if (!c) {
        uint64_t nx = x->count[0] + x->count[1], ny = y->count[0] + y->count[1];
        c = nx > ny ? -1 : nx < ny;
    }
    return c;
}

static int cmp_branch_row(gconstpointer a, gconstpointer b)
{
    const BranchRow *x = a, *y = b;
    int c = cmp_change(x->change, y->change);
    if (!c) {
        uint64_t nx = x->taken[0] + x->fall[0] + x->taken[1] + x->fall[1];
        uint64_t ny = y->taken[0] + y->fall[0] + y->taken[1] + y->fall[1];
        c = nx > ny ? -1 : nx < ny;
    }
    return c;
}

/* The side (A, else B) an instruction of a row is named from, and its index there. */
static Side *named(Side *sides, const int64_t *idx, uint32_t *insn)
{
    int k = idx[0] >= 0 ? 0 : 1;
    *insn = (uint32_t)idx[k];
    return &sides[k];
}

static void describe(GString *out, Side *d, uint32_t insn)
{
    const CflowInsn *in = cflow_profile_insn(d->p, insn);
    const CflowLoc *loc = cflow_srcline_insn(d->s, insn);
    const char *where = cflow_srcline_short(d->s, loc);
    g_string_append_printf(out, "0x%" PRIx64 " %s%s%s: %s", in->addr, loc->function,
                           where ? " " : "", where ? where : "",
                           cflow_profile_insn_disas(d->p, cflow_profile_insn_index(d->p, in)));
}

static void json_loc(GString *out, Side *d, uint32_t insn)
{
    const CflowLoc *loc = cflow_srcline_insn(d->s, insn);
    g_string_append(out, "\"function\": ");
    cflow_emit_json_string(out, loc->function);
    g_string_append(out, ", \"file\": ");
    cflow_emit_json_string(out, loc->file);
    g_string_append_printf(out, ", \"line\": %u, \"where\": ", loc->line);
    cflow_emit_json_string(out, cflow_srcline_short(d->s, loc));
}

static const char description[] =
    "Compares profile B with profile A (the baseline) and prints two rankings:\n"
    "  branches  conditional branches (seen both taken and falling through) run in both\n"
    "            profiles, at least 0.1% as often as all conditional branches of one of\n"
    "            them, by how much their taken ratio changed;\n"
    "  edges     edges of either profile by how much their rate changed: count per block\n"
    "            entry (the sum of all block counts, the run's length), so that a longer\n"
    "            run of the same code shows no change. Rates are printed per 1000 entries.\n"
    "Instructions are matched by file and offset through each profile's maps (so shared\n"
    "libraries loaded at other addresses still match), then by generation.\n"
    "\n"
    "Example:\n"
    "  cflow record -o old.cflow -- ./prog input1; cflow record -o new.cflow -- ./prog input2\n"
    "  cflow diff old.cflow new.cflow\n";

static int run(int argc, char **argv)
{
    int topn = 10;
    g_autofree char *format_name = NULL;
    GOptionEntry entries[] = {
        {"topn", 'n', 0, G_OPTION_ARG_INT, &topn, "Rows per ranking (default 10, 0 = all)",
         "N"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &format_name, "text (default) or json", "F"},
        {NULL},
    };
    if (!cflow_parse_options(&argc, &argv, "A B",
                             "Show the branches and edges whose bias or rate changed most "
                             "from profile A to profile B.",
                             description, entries, false)) {
        return CFLOW_EXIT_USAGE;
    }
    CflowFormat format = CFLOW_FORMAT_TEXT;
    if (format_name && (!cflow_parse_format(CMD, format_name, &format) ||
                        format == CFLOW_FORMAT_CSV)) {
        if (format == CFLOW_FORMAT_CSV) {
            cflow_error(CMD, "csv is not offered by diff (text or json)");
        }
        return CFLOW_EXIT_USAGE;
    }
    if (argc != 3 || topn < 0) {
        cflow_error(CMD, "expected two profiles A B (see 'cflow diff --help')");
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowProfile) pa = cflow_load(CMD, argv[1]);
    if (!pa) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    g_autoptr(CflowProfile) pb = cflow_load(CMD, argv[2]);
    if (!pb) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    const char *ga = cflow_profile_get_meta(pa, "guest"), *gb = cflow_profile_get_meta(pb, "guest");
    if (ga && gb && strcmp(ga, gb) != 0) {
        fprintf(stderr, "cflow diff: note: different programs (%s, %s)\n", ga, gb);
    }
    Side sides[2];
    side_init(&sides[0], pa);
    side_init(&sides[1], pb);

    /* edges and branch instructions of both sides, by their run-independent key */
    g_autoptr(GHashTable) erows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GHashTable) brows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (int k = 0; k < 2; k++) {
        Side *d = &sides[k];
        for (guint i = 0; i < d->p->edges->len; i++) {
            const CflowEdge *e = cflow_profile_edge(d->p, i);
            char *key = edge_key(d, e);
            EdgeRow *r = g_hash_table_lookup(erows, key);
            if (!r) {
                r = g_new0(EdgeRow, 1);
                r->edge[0] = r->edge[1] = -1;
                g_hash_table_insert(erows, key, r);
            } else {
                g_free(key);
            }
            r->edge[k] = i;
            r->count[k] += e->count;
        }
        for (guint i = 0; i < d->p->insns->len; i++) {
            const CflowInsnStats *is = &d->st[i];
            if (!is->out[CFLOW_EDGE_BRANCH] && !is->out[CFLOW_EDGE_FALLTHROUGH]) {
                continue;
            }
            char *key = insn_key(d, i);
            BranchRow *r = g_hash_table_lookup(brows, key);
            if (!r) {
                r = g_new0(BranchRow, 1);
                r->insn[0] = r->insn[1] = -1;
                g_hash_table_insert(brows, key, r);
            } else {
                g_free(key);
            }
            r->insn[k] = i;
            r->taken[k] = is->out[CFLOW_EDGE_BRANCH];
            r->fall[k] = is->out[CFLOW_EDGE_FALLTHROUGH];
        }
    }
    g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(EdgeRow));
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, erows);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        EdgeRow *r = value;
        r->change = rate(&sides[1], r->count[1]) - rate(&sides[0], r->count[0]);
        g_array_append_vals(edges, r, 1);
    }
    g_array_sort(edges, cmp_edge_row);
    g_autoptr(GArray) branches = g_array_new(FALSE, FALSE, sizeof(BranchRow));
    g_hash_table_iter_init(&it, brows);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        BranchRow *r = value;
        uint64_t n0 = r->taken[0] + r->fall[0], n1 = r->taken[1] + r->fall[1];
        bool cond = (r->taken[0] && r->fall[0]) || (r->taken[1] && r->fall[1]);
        bool enough = n0 >= sides[0].cond / 1000 || n1 >= sides[1].cond / 1000;
        if (!n0 || !n1 || !cond || !enough) {
            continue;
        }
        r->change = (double)r->taken[1] / (double)n1 - (double)r->taken[0] / (double)n0;
        g_array_append_vals(branches, r, 1);
    }
    g_array_sort(branches, cmp_branch_row);
    guint nb = topn && (guint)topn < branches->len ? (guint)topn : branches->len;
    guint ne = topn && (guint)topn < edges->len ? (guint)topn : edges->len;

    GString *out = g_string_new(NULL);
    if (format == CFLOW_FORMAT_TEXT) {
        g_string_append_printf(out, "cflow diff: A %s (%" PRIu64 " block entries) -> B %s (%"
                               PRIu64 " block entries)\n",
                               argv[1], sides[0].entries, argv[2], sides[1].entries);
        g_string_append_printf(out, "top %u conditional branches by change of taken ratio:\n"
                               "  taken A  taken B   change  executions A -> B   branch\n", nb);
        for (guint i = 0; i < nb; i++) {
            const BranchRow *r = &g_array_index(branches, BranchRow, i);
            uint64_t n0 = r->taken[0] + r->fall[0], n1 = r->taken[1] + r->fall[1];
            g_string_append_printf(out, "  %6.1f%%  %6.1f%%  %+6.1f%%  %10" PRIu64 " -> %-10"
                                   PRIu64 " ",
                                   100.0 * (double)r->taken[0] / (double)n0,
                                   100.0 * (double)r->taken[1] / (double)n1, 100.0 * r->change,
                                   n0, n1);
            uint32_t insn;
            Side *d = named(sides, r->insn, &insn);
            describe(out, d, insn);
            g_string_append_c(out, '\n');
        }
        if (!nb) {
            g_string_append(out, "  (none)\n");
        }
        g_string_append_printf(out, "top %u edges by change of rate (per 1000 block entries):\n"
                               "   rate A    rate B    change       count A ->    count B  "
                               "kind         edge\n", ne);
        for (guint i = 0; i < ne; i++) {
            const EdgeRow *r = &g_array_index(edges, EdgeRow, i);
            uint32_t e = (uint32_t)(r->edge[0] >= 0 ? r->edge[0] : r->edge[1]);
            Side *d = &sides[r->edge[0] >= 0 ? 0 : 1];
            const CflowEdge *edge = cflow_profile_edge(d->p, e);
            g_string_append_printf(out, "  %8.3f  %8.3f  %+8.3f  %12" PRIu64 " -> %10" PRIu64
                                   "  %-11s  ",
                                   1000 * rate(&sides[0], r->count[0]),
                                   1000 * rate(&sides[1], r->count[1]), 1000 * r->change,
                                   r->count[0], r->count[1],
                                   cflow_edge_kind_name((CflowEdgeKind)edge->kind));
            describe(out, d, edge->from);
            g_string_append_printf(out, " -> 0x%" PRIx64 "\n", edge->to);
        }
    } else {
        g_string_append(out, "{\"a\": {\"path\": ");
        cflow_emit_json_string(out, argv[1]);
        g_string_append_printf(out, ", \"block_entries\": %" PRIu64 "}, \"b\": {\"path\": ",
                               sides[0].entries);
        cflow_emit_json_string(out, argv[2]);
        g_string_append_printf(out, ", \"block_entries\": %" PRIu64 "},\n\"branches\": [",
                               sides[1].entries);
        for (guint i = 0; i < nb; i++) {
            const BranchRow *r = &g_array_index(branches, BranchRow, i);
            uint32_t insn;
            Side *d = named(sides, r->insn, &insn);
            g_string_append(out, i ? ",\n  {\"addr\": " : "\n  {\"addr\": ");
            cflow_emit_json_addr(out, cflow_profile_insn(d->p, insn)->addr);
            g_string_append(out, ", ");
            json_loc(out, d, insn);
            g_string_append_printf(out, ", \"taken_a\": %" PRIu64 ", \"fallthrough_a\": %" PRIu64
                                   ", \"taken_b\": %" PRIu64 ", \"fallthrough_b\": %" PRIu64
                                   ", \"ratio_change\": %.6f}",
                                   r->taken[0], r->fall[0], r->taken[1], r->fall[1], r->change);
        }
        g_string_append(out, nb ? "\n],\n\"edges\": [" : "],\n\"edges\": [");
        for (guint i = 0; i < ne; i++) {
            const EdgeRow *r = &g_array_index(edges, EdgeRow, i);
            Side *d = &sides[r->edge[0] >= 0 ? 0 : 1];
            const CflowEdge *edge =
                cflow_profile_edge(d->p, (uint32_t)(r->edge[0] >= 0 ? r->edge[0] : r->edge[1]));
            g_string_append(out, i ? ",\n  {\"edge\": " : "\n  {\"edge\": ");
            CflowEdge shown = *edge;
            shown.count = r->count[1];
            cflow_emit_json_edge(out, d->p, &shown);
            g_string_append_printf(out, ", \"count_a\": %" PRIu64 ", \"count_b\": %" PRIu64
                                   ", \"rate_a\": %.9g, \"rate_b\": %.9g, \"rate_change\": %.9g, ",
                                   r->count[0], r->count[1], rate(&sides[0], r->count[0]),
                                   rate(&sides[1], r->count[1]), r->change);
            json_loc(out, d, edge->from);
            g_string_append(out, "}");
        }
        g_string_append(out, ne ? "\n]}\n" : "]}\n");
    }
    fwrite(out->str, 1, out->len, stdout);
    g_string_free(out, TRUE);
    for (int k = 0; k < 2; k++) {
        cflow_srcline_free(sides[k].s);
        g_free(sides[k].st);
    }
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_diff = {CMD, "what changed between two runs", run};
