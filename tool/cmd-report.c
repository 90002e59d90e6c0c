/*
 * cmd-report.c: `cflow report`: the plugin's views offline (by instruction, profile/report.c),
 * and summaries by function and by source line, as text, JSON or CSV.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cflow.h"
#include "emit.h"
#include "report.h"
#include "sort.h"
#include "srcline.h"
#include "stats.h"

#define CMD "report"

/* A group's figures, as the sort keys (profile/sort.c) rank them. */
static CflowSortCounts group_counts(const CflowGroup *g)
{
    CflowSortCounts c = {.branch_dests = g->branch_dests,
                         .entries = g->entries,
                         .execs = g->execs,
                         .bias = cflow_group_bias(g)};
    memcpy(c.out, g->out, sizeof c.out);
    return c;
}

static uint64_t exceptions(const CflowGroup *g)
{
    return g->out[CFLOW_EDGE_EXCEPTION] + g->out[CFLOW_EDGE_INTERRUPT] +
           g->out[CFLOW_EDGE_HOSTCALL] + g->out[CFLOW_EDGE_EARLY_EXIT];
}

/* By the key, then by instructions executed, then by address. */
static int cmp_group(gconstpointer a, gconstpointer b, gpointer data)
{
    const CflowGroup *x = *(CflowGroup *const *)a, *y = *(CflowGroup *const *)b;
    const CflowSortKey *key = data;
    CflowSortCounts cx = group_counts(x), cy = group_counts(y);
    int c = key->group_compare(&cx, &cy);
    if (c) {
        return c;
    }
    if (x->execs != y->execs) {
        return x->execs > y->execs ? -1 : 1;
    }
    return x->first_addr < y->first_addr ? -1 : x->first_addr > y->first_addr;
}

static void biased_text(GString *out, const CflowProfile *p, CflowSrcline *s,
                        const CflowGroup *g)
{
    if (g->biased < 0) {
        g_string_append(out, "-");
        return;
    }
    uint64_t n = g->biased_taken + g->biased_fallthrough;
    cflow_srcline_address(s, out, cflow_profile_insn(p, (uint32_t)g->biased)->addr);
    g_string_append_printf(out, " taken %.1f%% of %" PRIu64,
                           100.0 * (double)g->biased_taken / (double)n, n);
}

static void groups_text(GString *out, const CflowProfile *p, CflowSrcline *s, GPtrArray *groups,
                        CflowGroupBy by, const CflowSortKey *key, unsigned shown)
{
    g_string_append_printf(out, "cflow: %u %s, top %u by %s (sort=%s)\n", groups->len,
                           by == CFLOW_GROUP_LINE ? "source lines" : "functions", shown,
                           key->group_title, key->name);
    g_string_append_printf(out, "%14s %14s %12s %10s %14s  %s%s  most biased branch\n",
                           "branches", "fallthroughs", "entries", "exceptions", "executed",
                           by == CFLOW_GROUP_LINE ? "line / " : "", "function");
    for (guint i = 0; i < shown; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        g_string_append_printf(out, "%14" PRIu64 " %14" PRIu64 " %12" PRIu64 " %10" PRIu64
                               " %14" PRIu64 "  ",
                               g->out[CFLOW_EDGE_BRANCH], g->out[CFLOW_EDGE_FALLTHROUGH],
                               g->entries, exceptions(g), g->execs);
        if (by == CFLOW_GROUP_LINE) {
            g_string_append_printf(out, "%s ", g->where ? g->where : "(no line)");
        }
        g_string_append_printf(out, "%s  ", g->function);
        biased_text(out, p, s, g);
        g_string_append_c(out, '\n');
    }
    if (groups->len == 0) {
        g_string_append(out, "  (none)\n");
    }
}

/* An inlined instance's parts (--inline): {"function", "into", "call_file", "call_line"}. */
static void inlined_json(GString *out, const CflowInlineFrame *in)
{
    if (!in) {
        g_string_append(out, "null");
        return;
    }
    g_string_append(out, "{\"function\": ");
    cflow_emit_json_string(out, in->function);
    g_string_append(out, ", \"into\": ");
    cflow_emit_json_string(out, in[1].function); /* the next level out: a chain has two */
    g_string_append(out, ", \"call_file\": ");
    cflow_emit_json_string(out, in->call_file);
    g_string_append_printf(out, ", \"call_line\": %u}", in->call_line);
}

static void groups_json(GString *out, const CflowProfile *p, GPtrArray *groups, CflowGroupBy by,
                        const CflowSortKey *key, unsigned shown)
{
    g_string_append_printf(out, "{\"by\": \"%s\", \"sort\": \"%s\", \"groups\": [",
                           by == CFLOW_GROUP_LINE ? "line" : "function", key->name);
    for (guint i = 0; i < shown; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        g_string_append(out, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
        cflow_emit_json_string(out, g->function);
        g_string_append(out, ", \"file\": ");
        cflow_emit_json_string(out, g->file);
        g_string_append_printf(out, ", \"line\": %u, \"where\": ", g->line);
        cflow_emit_json_string(out, g->where);
        g_string_append(out, ", \"inlined\": ");
        inlined_json(out, g->inlined);
        g_string_append(out, ", \"first_addr\": ");
        cflow_emit_json_addr(out, g->first_addr);
        g_string_append_printf(out, ", \"entries\": %" PRIu64 ", \"executed\": %" PRIu64
                               ", \"branches\": %" PRIu64 ", \"fallthroughs\": %" PRIu64
                               ", \"exceptions\": %" PRIu64 ", \"early_exits\": %" PRIu64
                               ", \"branch_destinations\": %u, \"most_biased\": ",
                               g->entries, g->execs, g->out[CFLOW_EDGE_BRANCH],
                               g->out[CFLOW_EDGE_FALLTHROUGH], exceptions(g),
                               g->out[CFLOW_EDGE_EARLY_EXIT], g->branch_dests);
        if (g->biased < 0) {
            g_string_append(out, "null}");
            continue;
        }
        g_string_append(out, "{\"addr\": ");
        cflow_emit_json_addr(out, cflow_profile_insn(p, (uint32_t)g->biased)->addr);
        g_string_append_printf(out, ", \"taken\": %" PRIu64 ", \"fallthrough\": %" PRIu64 "}}",
                               g->biased_taken, g->biased_fallthrough);
    }
    g_string_append(out, shown ? "\n]}\n" : "]}\n");
}

static void groups_csv(GString *out, const CflowProfile *p, GPtrArray *groups, unsigned shown)
{
    g_string_append(out, "function,file,line,entries,executed,branches,fallthroughs,exceptions,"
                         "early_exits,branch_destinations,most_biased_addr,most_biased_taken,"
                         "most_biased_fallthrough\n");
    for (guint i = 0; i < shown; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        cflow_emit_csv_field(out, g->function);
        g_string_append_c(out, ',');
        cflow_emit_csv_field(out, g->file);
        g_string_append_printf(out, ",%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                               ",%" PRIu64 ",%" PRIu64 ",%u,",
                               g->line, g->entries, g->execs, g->out[CFLOW_EDGE_BRANCH],
                               g->out[CFLOW_EDGE_FALLTHROUGH], exceptions(g),
                               g->out[CFLOW_EDGE_EARLY_EXIT], g->branch_dests);
        if (g->biased >= 0) {
            g_string_append_printf(out, "0x%" PRIx64 ",%" PRIu64 ",%" PRIu64,
                                   cflow_profile_insn(p, (uint32_t)g->biased)->addr,
                                   g->biased_taken, g->biased_fallthrough);
        } else {
            g_string_append(out, ",,");
        }
        g_string_append_c(out, '\n');
    }
}

/* One edge of the edges view, as JSON or CSV. */
static void insn_edge_row(GString *out, const CflowProfile *p, CflowSrcline *s, const CflowEdge *e,
                          bool json, bool first)
{
    if (json) {
        g_string_append(out, first ? "\n  " : ",\n  ");
        cflow_emit_json_edge(out, p, e);
        return;
    }
    const CflowLoc *loc = cflow_srcline_insn(s, e->from);
    g_string_append_printf(out, "0x%" PRIx64 ",0x%" PRIx64 ",%s,%" PRIu64 ",%u,",
                           cflow_profile_insn(p, e->from)->addr, e->to,
                           cflow_edge_kind_name((CflowEdgeKind)e->kind), e->count,
                           cflow_profile_insn(p, e->from)->generation);
    cflow_emit_csv_field(out, loc->function);
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, cflow_srcline_short(s, loc));
    g_string_append_c(out, '\n');
}

static void insn_source_csv(GString *out, const CflowProfile *p, CflowSrcline *s, uint32_t idx,
                            const CflowInsnStats *is)
{
    const CflowInsn *in = cflow_profile_insn(p, idx);
    const CflowLoc *loc = cflow_srcline_insn(s, idx);
    g_string_append_printf(out, "0x%" PRIx64 ",%u,", in->addr, in->generation);
    cflow_emit_csv_field(out, loc->function);
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, cflow_srcline_short(s, loc));
    g_string_append_printf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,",
                           is->execs, is->out[CFLOW_EDGE_BRANCH], is->out[CFLOW_EDGE_FALLTHROUGH],
                           cflow_stats_exceptions(is) - is->out[CFLOW_EDGE_EARLY_EXIT],
                           is->out[CFLOW_EDGE_EARLY_EXIT], is->branch_dests);
    cflow_emit_csv_field(out, cflow_profile_insn_disas(p, idx));
    g_string_append_c(out, '\n');
}

/* A source instruction as JSON, with its out-edges (`edges`: const CflowEdge *). */
static void insn_source_json(GString *out, const CflowProfile *p, CflowSrcline *s, uint32_t idx,
                             const CflowInsnStats *is, GPtrArray *edges, bool first)
{
    const CflowInsn *in = cflow_profile_insn(p, idx);
    const CflowLoc *loc = cflow_srcline_insn(s, idx);
    g_string_append(out, first ? "\n  {\"addr\": " : ",\n  {\"addr\": ");
    cflow_emit_json_addr(out, in->addr);
    g_string_append_printf(out, ", \"generation\": %u, \"disas\": ", in->generation);
    cflow_emit_json_string(out, cflow_profile_insn_disas(p, idx));
    g_string_append(out, ", \"function\": ");
    cflow_emit_json_string(out, loc->function);
    g_string_append(out, ", \"file\": ");
    cflow_emit_json_string(out, loc->file);
    g_string_append_printf(
        out,
        ", \"line\": %u, \"executed\": %" PRIu64 ", \"taken\": %" PRIu64
        ", \"fallthrough\": %" PRIu64 ", \"exceptions\": %" PRIu64 ", \"early_exits\": %" PRIu64
        ", \"branch_destinations\": %u, \"edges\": [",
        loc->line, is->execs, is->out[CFLOW_EDGE_BRANCH], is->out[CFLOW_EDGE_FALLTHROUGH],
        cflow_stats_exceptions(is) - is->out[CFLOW_EDGE_EARLY_EXIT],
        is->out[CFLOW_EDGE_EARLY_EXIT], is->branch_dests);
    for (guint k = 0; k < edges->len; k++) {
        g_string_append(out, k ? ", " : "");
        cflow_emit_json_edge(out, p, g_ptr_array_index(edges, k));
    }
    g_string_append(out, "]}");
}

/* The out-edges of each ranked source, by source index + 1. */
static GHashTable *edges_of(const CflowProfile *p, const GArray *ranked)
{
    GHashTable *out_edges =
        g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < ranked->len; i++) {
        g_hash_table_insert(out_edges, GUINT_TO_POINTER(g_array_index(ranked, uint32_t, i) + 1),
                            g_ptr_array_new());
    }
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        GPtrArray *a = g_hash_table_lookup(out_edges, GUINT_TO_POINTER(e->from + 1));
        if (a) {
            g_ptr_array_add(a, (gpointer)e);
        }
    }
    return out_edges;
}

/* The instruction view as JSON or CSV: the entries cflow_report ranks, with their edges. */
static void insns_machine(GString *out, const CflowProfile *p, CflowSrcline *s, CflowSort sort,
                          unsigned topn, CflowFormat format)
{
    g_autoptr(GArray) ranked = cflow_report_rank(p, sort, topn);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    bool json = format == CFLOW_FORMAT_JSON, edges = cflow_sort_ranks_edges(sort);
    if (json) {
        g_string_append_printf(out, "{\"by\": \"insn\", \"sort\": \"%s\", \"%s\": [",
                               cflow_sort_name(sort), edges ? "edges" : "sources");
    } else {
        g_string_append(out, edges ? "from,to,kind,count,from_generation,function,where\n"
                                   : "addr,generation,function,where,executed,taken,fallthrough,"
                                     "exceptions,early_exits,branch_destinations,disas\n");
    }
    g_autoptr(GHashTable) out_edges = !edges && json ? edges_of(p, ranked) : NULL;
    for (guint r = 0; r < ranked->len; r++) {
        uint32_t idx = g_array_index(ranked, uint32_t, r);
        if (edges) {
            insn_edge_row(out, p, s, cflow_profile_edge(p, idx), json, r == 0);
        } else if (json) {
            insn_source_json(out, p, s, idx, &st[idx],
                             g_hash_table_lookup(out_edges, GUINT_TO_POINTER(idx + 1)), r == 0);
        } else {
            insn_source_csv(out, p, s, idx, &st[idx]);
        }
    }
    if (json) {
        g_string_append(out, ranked->len ? "\n]}\n" : "]}\n");
    }
}

/* The report's names: the tool's (DWARF, ELF symbols, PLT stubs), not QEMU's. */
static const char *insn_function(void *data, uint32_t insn)
{
    return cflow_srcline_insn(data, insn)->function;
}

static void insn_address(void *data, GString *out, uint64_t addr)
{
    cflow_srcline_address(data, out, addr);
}

/* The instruction view: cflow_report's, or as JSON or CSV; with `function`, only its edges. */
static void report_insns(GString *out, const CflowProfile *p, CflowSrcline *s,
                         const char *function, CflowSort sort, unsigned topn, CflowFormat format)
{
    /* a view of p with only the edges out of the function's instructions */
    CflowProfile view = *p;
    g_autoptr(GArray) kept = NULL;
    if (function) {
        kept = g_array_new(FALSE, FALSE, sizeof(CflowEdge));
        for (guint i = 0; i < p->edges->len; i++) {
            const CflowEdge *e = cflow_profile_edge(p, i);
            if (strcmp(cflow_srcline_insn(s, e->from)->function, function) == 0) {
                g_array_append_vals(kept, e, 1);
            }
        }
        view.edges = kept;
    }
    if (format == CFLOW_FORMAT_TEXT) {
        CflowReportNames names = {insn_function, insn_address, s};
        GString *r = cflow_report_named(&view, sort,
                                        topn ? topn : MAX(view.edges->len, view.insns->len),
                                        &names);
        g_string_append(out, r->str);
        g_string_free(r, TRUE);
    } else {
        insns_machine(out, &view, s, sort, topn, format);
    }
}

/* The function or line view. */
static void report_groups(GString *out, const CflowProfile *p, CflowSrcline *s, CflowGroupBy by,
                          const char *function, bool inlines, CflowSort sort, unsigned topn,
                          CflowFormat format)
{
    const CflowSortKey *key = &cflow_sort_keys[sort];
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    g_autoptr(GPtrArray) groups = cflow_groups(p, s, st, by, function, inlines);
    g_ptr_array_sort_with_data(groups, cmp_group, (gpointer)key);
    unsigned shown = topn && topn < groups->len ? topn : groups->len;
    if (format == CFLOW_FORMAT_TEXT) {
        groups_text(out, p, s, groups, by, key, shown);
    } else if (format == CFLOW_FORMAT_JSON) {
        groups_json(out, p, groups, by, key, shown);
    } else {
        groups_csv(out, p, groups, shown);
    }
}

static const char summary[] =
    "Print the profile FILE's hottest instructions, edges, functions or source lines.";

static const char description_views[] =
    "Views (--by):\n"
    "  insn      the plugin's report: source instructions (or, with --sort=edges, the edges\n"
    "            themselves) ranked by --sort, named as the other views name them; the default\n"
    "  function  one row per function (from DWARF, else ELF symbols, else QEMU's symbol,\n"
    "            else the address; PLT stubs as objdump names them, puts@plt)\n"
    "  line      one row per source line (file:line from the guest's DWARF)\n"
    "            Each row of these two: branches taken, fall-throughs, entries (function:\n"
    "            transfers to its entry address; line: transfers into it from another line),\n"
    "            exceptions (exceptions, interrupts, host calls and early exits), instructions\n"
    "            executed, and the most biased conditional branch (taken ratio furthest from\n"
    "            1/2).\n"
    "            With --inline, code the compiler inlined is shown as the inlined function, one\n"
    "            row per inlined instance, named with where it was inlined (\"classify\n"
    "            (inlined into main at wc.c:14)\", from the DWARF inline chain); an instance's\n"
    "            entries are the times control came into its code from outside it (its calls,\n"
    "            though no call instruction runs). Without it, inlined code counts for the\n"
    "            function it was inlined in. --function NAME then keeps NAME's code and the\n"
    "            code inlined from NAME anywhere.\n";

/* After the sort keys, which come from their table (profile/sort.c). */
static const char description_end[] =
    "\n"
    "Formats (--format): text (default); json: one object, {\"by\", \"sort\", and \"edges\" (the\n"
    "plugin's JSON edge objects) or \"sources\" or \"groups\"}; csv: a header row, then rows.\n"
    "A group's \"inlined\" is null, or with --inline an inlined instance's {\"function\",\n"
    "\"into\" (the function it was inlined into), \"call_file\", \"call_line\"}.\n"
    "\n"
    "Addresses (--addresses): run, where the run had the code (default); link, where the ELF\n"
    "file has it, as `objdump -d` of that file prints it (through meta.maps and the file's\n"
    "program headers; PIE programs, libraries and fixed-address programs alike); both,\n"
    "\"0xRUN (0xLINK)\". The text views only: JSON and CSV keep run-time addresses.\n"
    "Calls into a PLT are named as objdump names them (\"puts@plt\").\n"
    "\n"
    "Source lines are looked up in the ELF files the profile's meta names (meta.guest, and\n"
    "meta.maps for shared libraries), with separate debug info found by build-id,\n"
    ".gnu_debuglink or under /usr/lib/debug. The files must still be where the run found them.\n"
    "\n"
    "Examples:\n"
    "  cflow report cflow.data\n"
    "  cflow report --sort bias --topn 5 cflow.data\n"
    "  cflow report --by line --topn 0 --format csv cflow.data > lines.csv\n"
    "  cflow report --by function --inline cflow.data\n"
    "  cflow report --by insn --function main --sort edges cflow.data\n";

/* The view --by names and the key --sort names in it; false, after a message, if none. */
static bool choose_view(const char *by_name, const char *sort_name, bool *by_insn,
                        CflowGroupBy *by, CflowSort *sort)
{
    *by_insn = !by_name || strcmp(by_name, "insn") == 0;
    *by = CFLOW_GROUP_FUNCTION;
    if (by_name && strcmp(by_name, "line") == 0) {
        *by = CFLOW_GROUP_LINE;
    } else if (!*by_insn && strcmp(by_name, "function") != 0) {
        cflow_error(CMD, "unknown view '%s' (insn, function or line)", by_name);
        return false;
    }
    *sort = CFLOW_SORT_HOTTEST;
    CflowSortView view = *by_insn ? CFLOW_SORT_VIEW_INSN : CFLOW_SORT_VIEW_GROUP;
    if (sort_name && !cflow_sort_find(sort_name, view, sort)) {
        cflow_error(CMD, "unknown sort '%s' (see 'cflow report --help')", sort_name);
        return false;
    }
    return true;
}

static int run(int argc, char **argv)
{
    g_autofree char *sort_name = NULL, *by_name = NULL, *function = NULL, *format_name = NULL,
                    *addresses_name = NULL;
    int topn = 10;
    gboolean inlines = FALSE;
    GOptionEntry entries[] = {
        {"sort", 's', 0, G_OPTION_ARG_STRING, &sort_name, "What to rank by (see below)", "S"},
        {"topn", 'n', 0, G_OPTION_ARG_INT, &topn, "How many entries (default 10, 0 = all)",
         "N"},
        {"by", 'b', 0, G_OPTION_ARG_STRING, &by_name, "insn (default), function or line",
         "VIEW"},
        {"function", 'f', 0, G_OPTION_ARG_STRING, &function,
         "Only the instructions of function NAME", "NAME"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &format_name, "text (default), json or csv", "F"},
        {"inline", 'i', 0, G_OPTION_ARG_NONE, &inlines,
         "Inlined code as the inlined function (--by function or line)", NULL},
        CFLOW_ADDRESSES_OPTION(addresses_name),
        G_OPTION_ENTRY_NULL,
    };
    g_autofree char *sorts = cflow_sort_help(2);
    g_autofree char *description =
        g_strconcat(description_views, "\nSorts (--sort):\n", sorts, description_end, NULL);
    if (!cflow_parse_options(&argc, &argv, "FILE", summary, description, entries, false)) {
        return CFLOW_EXIT_USAGE;
    }
    if (argc != 2) {
        cflow_error(CMD, "expected one profile FILE (see 'cflow report --help')");
        return CFLOW_EXIT_USAGE;
    }
    if (topn < 0) {
        cflow_error(CMD, "--topn must be 0 or more");
        return CFLOW_EXIT_USAGE;
    }
    CflowFormat format = CFLOW_FORMAT_TEXT;
    bool by_insn;
    CflowGroupBy by;
    CflowSort sort;
    if ((format_name && !cflow_parse_format(CMD, format_name, &format)) ||
        !choose_view(by_name, sort_name, &by_insn, &by, &sort)) {
        return CFLOW_EXIT_USAGE;
    }
    if (inlines && by_insn) {
        cflow_error(CMD, "--inline needs --by function or --by line");
        return CFLOW_EXIT_USAGE;
    }

    g_auto(CflowInput) in = {NULL, NULL, CFLOW_EXIT_OK};
    if (!cflow_load_input(CMD, argv[1], addresses_name, &in)) {
        return in.status;
    }
    GString *out = g_string_new(NULL);
    if (by_insn) {
        report_insns(out, in.p, in.s, function, sort, (unsigned)topn, format);
    } else {
        report_groups(out, in.p, in.s, by, function, inlines, sort, (unsigned)topn, format);
    }
    if (function && out->len == 0) {
        cflow_error(CMD, "no function '%s' in %s", function, argv[1]);
    }
    fwrite(out->str, 1, out->len, stdout);
    g_string_free(out, TRUE);
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_report = {CMD, "rank instructions, edges, functions or lines", run};
