/*
 * sort.c: the table of sort keys (see sort.h) and the comparisons, selections and figures its rows
 * name. Adding a key is one row here (and its enum value in sort.h).
 */
#include "sort.h"

#include <string.h>

static int desc_u64(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b ? 1 : 0;
}

static int desc_double(double a, double b)
{
    return a > b ? -1 : a < b ? 1 : 0;
}

/* Exceptions, interrupts and host calls: what QEMU reported. */
static uint64_t reported(const CflowSortCounts *c)
{
    return c->out[CFLOW_EDGE_EXCEPTION] + c->out[CFLOW_EDGE_INTERRUPT] +
           c->out[CFLOW_EDGE_HOSTCALL];
}

static uint64_t conditional_runs(const CflowSortCounts *c)
{
    return c->out[CFLOW_EDGE_BRANCH] + c->out[CFLOW_EDGE_FALLTHROUGH];
}

static double taken_ratio(const CflowSortCounts *c)
{
    uint64_t t = c->out[CFLOW_EDGE_BRANCH], n = conditional_runs(c);
    return n ? (double)t / (double)n : 0.0;
}

static int by_branches(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(x->out[CFLOW_EDGE_BRANCH], y->out[CFLOW_EDGE_BRANCH]);
}

static int by_early_exits(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(x->out[CFLOW_EDGE_EARLY_EXIT], y->out[CFLOW_EDGE_EARLY_EXIT]);
}

static int by_reported(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(reported(x), reported(y));
}

/* Groups count early exits among their exceptions (a fault is one). */
static int by_reported_and_early(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(reported(x) + x->out[CFLOW_EDGE_EARLY_EXIT],
                    reported(y) + y->out[CFLOW_EDGE_EARLY_EXIT]);
}

static int by_dests(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(x->branch_dests, y->branch_dests);
}

static int by_dests_then_branches(const CflowSortCounts *x, const CflowSortCounts *y)
{
    int c = by_dests(x, y);
    return c ? c : by_branches(x, y);
}

static int by_transfers(const CflowSortCounts *x, const CflowSortCounts *y)
{
    uint64_t tx = 0, ty = 0;
    for (int k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        tx += x->out[k];
        ty += y->out[k];
    }
    return desc_u64(tx, ty);
}

static int by_taken_ratio(const CflowSortCounts *x, const CflowSortCounts *y)
{
    int c = desc_double(taken_ratio(x), taken_ratio(y));
    return c ? c : desc_u64(conditional_runs(x), conditional_runs(y));
}

static int by_bias(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_double(x->bias, y->bias);
}

static int by_entries(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(x->entries, y->entries);
}

static int by_execs(const CflowSortCounts *x, const CflowSortCounts *y)
{
    return desc_u64(x->execs, y->execs);
}

static bool has_branches(const CflowSortCounts *c, uint64_t floor)
{
    (void)floor;
    return c->out[CFLOW_EDGE_BRANCH] > 0;
}

bool cflow_sort_conditional(const CflowSortCounts *c, uint64_t floor)
{
    return c->out[CFLOW_EDGE_BRANCH] > 0 && c->out[CFLOW_EDGE_FALLTHROUGH] > 0 &&
           conditional_runs(c) >= floor;
}

static void print_taken_ratio(GString *out, const CflowSortCounts *c)
{
    g_string_append_printf(out, ", taken ratio %.1f%%", 100.0 * taken_ratio(c));
}

/*
 * The keys, a row each: name and help; the instruction view's title and compare; the group
 * view's title and compare; where a key has them, the instruction view's select, floor and
 * print (sort.h says what each is).
 */
const CflowSortKey cflow_sort_keys[CFLOW_SORT_KEYS] = {
    [CFLOW_SORT_HOTTEST] = {
        .name = "hottest", .help = "branches taken (the default)",
        .insn_title = "source instructions with the most branches taken",
        .insn_compare = by_branches,
        .group_title = "branches taken", .group_compare = by_branches},
    [CFLOW_SORT_EARLY] = {
        .name = "early", .help = "early exits (blocks left before their end: faults)",
        .insn_title = "source instructions with the most early exits",
        .insn_compare = by_early_exits,
        .group_title = "early exits", .group_compare = by_early_exits},
    [CFLOW_SORT_EXCEPTIONS] = {
        .name = "exceptions",
        .help = "exceptions, interrupts and host calls (groups: and early exits)",
        .insn_title = "source instructions with the most exceptions, interrupts and host calls",
        .insn_compare = by_reported,
        .group_title = "exceptions, interrupts, host calls and early exits",
        .group_compare = by_reported_and_early},
    [CFLOW_SORT_POPULAR] = {
        .name = "popular", .help = "distinct branch destinations",
        .insn_title = "source instructions with the most distinct branch destinations",
        .insn_compare = by_dests_then_branches,
        .group_title = "distinct branch destinations", .group_compare = by_dests,
        .insn_select = has_branches},
    [CFLOW_SORT_EDGES] = {
        .name = "edges",
        .help = "insn view: the hottest edges themselves; groups: transfers of every kind",
        .insn_title = "hottest edges", .insn_compare = NULL,
        .group_title = "control transfers of every kind", .group_compare = by_transfers},
    [CFLOW_SORT_BIAS] = {
        .name = "bias",
        .help = "conditional branches by taken ratio, those run at least 0.1% as often as all "
                "conditional branches; groups: by their most biased branch",
        .insn_title = "conditional branches by taken ratio", .insn_compare = by_taken_ratio,
        .group_title = "the bias of their most biased conditional branch",
        .group_compare = by_bias,
        .insn_select = cflow_sort_conditional, .insn_floor = true,
        .insn_print = print_taken_ratio},
    [CFLOW_SORT_ENTRIES] = {
        .name = "entries",
        .help = "groups only: entries (function: transfers to its entry; line: into it)",
        .group_title = "entries", .group_compare = by_entries},
    [CFLOW_SORT_EXECS] = {
        .name = "execs", .help = "groups only: instructions executed",
        .group_title = "instructions executed", .group_compare = by_execs},
};

static bool in_view(const CflowSortKey *k, CflowSortView view)
{
    return view == CFLOW_SORT_VIEW_INSN ? k->insn_title != NULL : k->group_title != NULL;
}

bool cflow_sort_find(const char *name, CflowSortView view, CflowSort *sort)
{
    for (unsigned i = 0; i < CFLOW_SORT_KEYS; i++) {
        if (in_view(&cflow_sort_keys[i], view) && strcmp(name, cflow_sort_keys[i].name) == 0) {
            *sort = (CflowSort)i;
            return true;
        }
    }
    return false;
}

char *cflow_sort_names(CflowSortView view, const char *sep)
{
    GString *names = g_string_new(NULL);
    for (unsigned i = 0; i < CFLOW_SORT_KEYS; i++) {
        if (in_view(&cflow_sort_keys[i], view)) {
            g_string_append_printf(names, "%s%s", names->len ? sep : "", cflow_sort_keys[i].name);
        }
    }
    return g_string_free(names, FALSE);
}

char *cflow_sort_help(unsigned indent)
{
    const int width = 90, pad = (int)indent + 12; /* a name takes 11 columns and a space */
    GString *help = g_string_new(NULL);
    for (unsigned i = 0; i < CFLOW_SORT_KEYS; i++) {
        gsize line = help->len;
        g_string_append_printf(help, "%*s%-11s", (int)indent, "", cflow_sort_keys[i].name);
        g_auto(GStrv) words = g_strsplit(cflow_sort_keys[i].help, " ", -1);
        for (char **w = words; *w; w++) {
            if (w != words && help->len - line + 1 + strlen(*w) > (gsize)width) {
                g_string_append_c(help, '\n');
                line = help->len;
                g_string_append_printf(help, "%*s", pad, "");
            } else {
                g_string_append_c(help, ' ');
            }
            g_string_append(help, *w);
        }
        g_string_append_c(help, '\n');
    }
    return g_string_free(help, FALSE);
}

const char *cflow_sort_name(CflowSort sort)
{
    return (unsigned)sort < CFLOW_SORT_KEYS ? cflow_sort_keys[sort].name : "unknown";
}

bool cflow_sort_parse(const char *name, CflowSort *sort)
{
    return cflow_sort_find(name, CFLOW_SORT_VIEW_INSN, sort);
}

bool cflow_sort_selects(CflowSort sort, const CflowSortCounts *c, uint64_t floor)
{
    static const CflowSortCounts none;
    const CflowSortKey *k = &cflow_sort_keys[sort];
    return k->insn_select ? k->insn_select(c, floor) : k->insn_compare(c, &none) < 0;
}

bool cflow_sort_ranks_edges(CflowSort sort)
{
    return cflow_sort_keys[sort].insn_compare == NULL;
}
