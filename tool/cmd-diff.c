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

/* The side (A, else B) a row is named from, and its instruction or edge index there. */
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

/*
 * A row of one ranking, made on first sight of its key: an edge's or a branch's. Both row
 * types start with the index of their record in A and in B (-1: not in that profile).
 */
static gpointer row_for(GHashTable *rows, char *key, gsize size)
{
    int64_t *r = g_hash_table_lookup(rows, key);
    if (r) {
        g_free(key);
        return r;
    }
    r = g_malloc0(size);
    r[0] = r[1] = -1;
    g_hash_table_insert(rows, key, r);
    return r;
}

/* Side k's edges and branch instructions into the rows, by their run-independent key. */
static void add_side(Side *d, int k, GHashTable *erows, GHashTable *brows)
{
    for (guint i = 0; i < d->p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(d->p, i);
        EdgeRow *r = row_for(erows, edge_key(d, e), sizeof(EdgeRow));
        r->edge[k] = i;
        r->count[k] += e->count;
    }
    for (guint i = 0; i < d->p->insns->len; i++) {
        const CflowInsnStats *is = &d->st[i];
        if (!is->out[CFLOW_EDGE_BRANCH] && !is->out[CFLOW_EDGE_FALLTHROUGH]) {
            continue;
        }
        BranchRow *r = row_for(brows, insn_key(d, i), sizeof(BranchRow));
        r->insn[k] = i;
        r->taken[k] = is->out[CFLOW_EDGE_BRANCH];
        r->fall[k] = is->out[CFLOW_EDGE_FALLTHROUGH];
    }
}

/* An edge row's change of rate; every edge of either side is ranked. */
static bool score_edge(const Side *sides, gpointer row)
{
    EdgeRow *r = row;
    r->change = rate(&sides[1], r->count[1]) - rate(&sides[0], r->count[0]);
    return true;
}

/* A branch row's change of taken ratio, if it is a conditional branch run often enough in both. */
static bool score_branch(const Side *sides, gpointer row)
{
    BranchRow *r = row;
    uint64_t n0 = r->taken[0] + r->fall[0], n1 = r->taken[1] + r->fall[1];
    bool cond = (r->taken[0] && r->fall[0]) || (r->taken[1] && r->fall[1]);
    bool enough = n0 >= sides[0].cond / 1000 || n1 >= sides[1].cond / 1000;
    if (!n0 || !n1 || !cond || !enough) {
        return false;
    }
    r->change = (double)r->taken[1] / (double)n1 - (double)r->taken[0] / (double)n0;
    return true;
}

/* The rows `score` keeps, copied into an array of rows of `size` bytes, sorted by `cmp`. */
static GArray *rank(GHashTable *rows, guint size, const Side *sides,
                    bool (*score)(const Side *, gpointer), GCompareFunc cmp)
{
    GArray *ranked = g_array_new(FALSE, FALSE, size);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, rows);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (score(sides, value)) {
            g_array_append_vals(ranked, value, 1);
        }
    }
    g_array_sort(ranked, cmp);
    return ranked;
}

/* The two rankings of a diff, and what their rows are read with. */
typedef struct {
    Side sides[2];
    const char *path[2];
    GArray *edges;    /* EdgeRow, ranked */
    GArray *branches; /* BranchRow, ranked */
    guint ne, nb;     /* rows shown of each */
} Diff;

/* The side an edge row is named from (A, else B), and its edge there. */
static const CflowEdge *row_edge(Diff *df, const EdgeRow *r, Side **d)
{
    uint32_t edge;
    *d = named(df->sides, r->edge, &edge);
    return cflow_profile_edge((*d)->p, edge);
}

static void text_branches(GString *out, Diff *df)
{
    g_string_append_printf(out, "top %u conditional branches by change of taken ratio:\n"
                           "  taken A  taken B   change  executions A -> B   branch\n", df->nb);
    for (guint i = 0; i < df->nb; i++) {
        const BranchRow *r = &g_array_index(df->branches, BranchRow, i);
        uint64_t n0 = r->taken[0] + r->fall[0], n1 = r->taken[1] + r->fall[1];
        g_string_append_printf(out, "  %6.1f%%  %6.1f%%  %+6.1f%%  %10" PRIu64 " -> %-10"
                               PRIu64 " ",
                               100.0 * (double)r->taken[0] / (double)n0,
                               100.0 * (double)r->taken[1] / (double)n1, 100.0 * r->change,
                               n0, n1);
        uint32_t insn;
        Side *d = named(df->sides, r->insn, &insn);
        describe(out, d, insn);
        g_string_append_c(out, '\n');
    }
    if (!df->nb) {
        g_string_append(out, "  (none)\n");
    }
}

static void text_edges(GString *out, Diff *df)
{
    Side *sides = df->sides;
    g_string_append_printf(out, "top %u edges by change of rate (per 1000 block entries):\n"
                           "   rate A    rate B    change       count A ->    count B  "
                           "kind         edge\n", df->ne);
    for (guint i = 0; i < df->ne; i++) {
        const EdgeRow *r = &g_array_index(df->edges, EdgeRow, i);
        Side *d;
        const CflowEdge *edge = row_edge(df, r, &d);
        g_string_append_printf(out, "  %8.3f  %8.3f  %+8.3f  %12" PRIu64 " -> %10" PRIu64
                               "  %-11s  ",
                               1000 * rate(&sides[0], r->count[0]),
                               1000 * rate(&sides[1], r->count[1]), 1000 * r->change,
                               r->count[0], r->count[1],
                               cflow_edge_kind_name((CflowEdgeKind)edge->kind));
        describe(out, d, edge->from);
        g_string_append_printf(out, " -> 0x%" PRIx64 "\n", edge->to);
    }
}

static void text_diff(GString *out, Diff *df)
{
    g_string_append_printf(out, "cflow diff: A %s (%" PRIu64 " block entries) -> B %s (%"
                           PRIu64 " block entries)\n",
                           df->path[0], df->sides[0].entries, df->path[1],
                           df->sides[1].entries);
    text_branches(out, df);
    text_edges(out, df);
}

static void json_branches(GString *out, Diff *df)
{
    for (guint i = 0; i < df->nb; i++) {
        const BranchRow *r = &g_array_index(df->branches, BranchRow, i);
        uint32_t insn;
        Side *d = named(df->sides, r->insn, &insn);
        g_string_append(out, i ? ",\n  {\"addr\": " : "\n  {\"addr\": ");
        cflow_emit_json_addr(out, cflow_profile_insn(d->p, insn)->addr);
        g_string_append(out, ", ");
        json_loc(out, d, insn);
        g_string_append_printf(out, ", \"taken_a\": %" PRIu64 ", \"fallthrough_a\": %" PRIu64
                               ", \"taken_b\": %" PRIu64 ", \"fallthrough_b\": %" PRIu64
                               ", \"ratio_change\": %.6f}",
                               r->taken[0], r->fall[0], r->taken[1], r->fall[1], r->change);
    }
}

static void json_edges(GString *out, Diff *df)
{
    Side *sides = df->sides;
    for (guint i = 0; i < df->ne; i++) {
        const EdgeRow *r = &g_array_index(df->edges, EdgeRow, i);
        Side *d;
        const CflowEdge *edge = row_edge(df, r, &d);
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
}

static void json_diff(GString *out, Diff *df)
{
    g_string_append(out, "{\"a\": {\"path\": ");
    cflow_emit_json_string(out, df->path[0]);
    g_string_append_printf(out, ", \"block_entries\": %" PRIu64 "}, \"b\": {\"path\": ",
                           df->sides[0].entries);
    cflow_emit_json_string(out, df->path[1]);
    g_string_append_printf(out, ", \"block_entries\": %" PRIu64 "},\n\"branches\": [",
                           df->sides[1].entries);
    json_branches(out, df);
    g_string_append(out, df->nb ? "\n],\n\"edges\": [" : "],\n\"edges\": [");
    json_edges(out, df);
    g_string_append(out, df->ne ? "\n]}\n" : "]}\n");
}

/* Matches the records of the two sides and ranks them; topn 0 shows every row. */
static void diff_rank(Diff *df, int topn)
{
    g_autoptr(GHashTable) erows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GHashTable) brows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (int k = 0; k < 2; k++) {
        add_side(&df->sides[k], k, erows, brows);
    }
    df->edges = rank(erows, sizeof(EdgeRow), df->sides, score_edge, cmp_edge_row);
    df->branches = rank(brows, sizeof(BranchRow), df->sides, score_branch, cmp_branch_row);
    df->nb = topn && (guint)topn < df->branches->len ? (guint)topn : df->branches->len;
    df->ne = topn && (guint)topn < df->edges->len ? (guint)topn : df->edges->len;
}

/* The options: --topn and --format (text or json); false after a message (exit 1). */
static bool parse_args(int *argc, char ***argv, int *topn, CflowFormat *format)
{
    static const CflowUsage usage = {
        "A B",
        "Show the branches and edges whose bias or rate changed most from profile A to "
        "profile B.",
        description, "expected two profiles A B"};
    g_autofree char *format_name = NULL;
    GOptionEntry entries[] = {
        {"topn", 'n', 0, G_OPTION_ARG_INT, topn, "Rows per ranking (default 10, 0 = all)", "N"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &format_name, "text (default) or json", "F"},
        G_OPTION_ENTRY_NULL,
    };
    if (!cflow_parse_usage(argc, argv, &usage, entries, false)) {
        return false;
    }
    *format = CFLOW_FORMAT_TEXT;
    if (format_name && (!cflow_parse_format(CMD, format_name, format) ||
                        *format == CFLOW_FORMAT_CSV)) {
        if (*format == CFLOW_FORMAT_CSV) {
            cflow_error(CMD, "csv is not offered by diff (text or json)");
        }
        return false;
    }
    return cflow_check_args(CMD, &usage, *argc == 3 && *topn >= 0);
}

static int run(int argc, char **argv)
{
    int topn = 10;
    CflowFormat format;
    if (!parse_args(&argc, &argv, &topn, &format)) {
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
    Diff df = {.path = {argv[1], argv[2]}};
    side_init(&df.sides[0], pa);
    side_init(&df.sides[1], pb);
    diff_rank(&df, topn);
    GString *out = g_string_new(NULL);
    if (format == CFLOW_FORMAT_TEXT) {
        text_diff(out, &df);
    } else {
        json_diff(out, &df);
    }
    fwrite(out->str, 1, out->len, stdout);
    g_string_free(out, TRUE);
    g_array_free(df.edges, TRUE);
    g_array_free(df.branches, TRUE);
    for (int k = 0; k < 2; k++) {
        cflow_srcline_free(df.sides[k].s);
        g_free(df.sides[k].st);
    }
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_diff = {CMD, "what changed between two runs", run};
