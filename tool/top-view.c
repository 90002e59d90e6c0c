/*
 * top-view.c: `cflow top`'s screens (see top-view.h). Functions and lines are the groups of
 * `cflow report --by function|line` (stats.c), ranked by instructions executed, the measure
 * closest to perf top's samples; edges are the plugin's own ranking (profile/report.c).
 */
#include "top-view.h"

#include <inttypes.h>
#include <string.h>

#include "report.h"
#include "stats.h"

static const char *const view_names[CFLOW_TOP_VIEWS] = {"functions", "lines", "edges"};

const char *cflow_top_view_name(CflowTopView v)
{
    return view_names[v];
}

bool cflow_top_view_parse(const char *name, CflowTopView *v)
{
    for (int i = 0; i < CFLOW_TOP_VIEWS; i++) {
        if (strcmp(name, view_names[i]) == 0 || (name[0] == view_names[i][0] && !name[1])) {
            *v = (CflowTopView)i;
            return true;
        }
    }
    return false;
}

/* Appends one line, cut to `width` columns (bytes: names are ASCII in practice). */
static void add_line(GString *out, unsigned width, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void add_line(GString *out, unsigned width, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    g_string_append_len(out, line, width && n > width ? (gssize)width : (gssize)n);
    g_string_append_c(out, '\n');
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Most instructions executed first, then the lower address. */
static gint by_execs(gconstpointer a, gconstpointer b)
{
    const CflowGroup *x = *(CflowGroup *const *)a, *y = *(CflowGroup *const *)b;
    if (x->execs != y->execs) {
        return x->execs > y->execs ? -1 : 1;
    }
    return x->first_addr < y->first_addr ? -1 : x->first_addr > y->first_addr;
}

static void render_groups(GString *out, const CflowProfile *p, CflowSrcline *s, bool lines,
                          unsigned rows, unsigned width)
{
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    g_autoptr(GPtrArray) groups =
        cflow_groups(p, s, st, lines ? CFLOW_GROUP_LINE : CFLOW_GROUP_FUNCTION, NULL, false);
    g_ptr_array_sort(groups, by_execs);
    uint64_t total = 0;
    for (guint i = 0; i < groups->len; i++) {
        total += ((const CflowGroup *)g_ptr_array_index(groups, i))->execs;
    }
    add_line(out, width, "%8s %14s %12s %14s  %s", "share", "executed", "entries", "branches",
             lines ? "line  function" : "function");
    for (guint i = 0; i < groups->len && i < rows; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        add_line(out, width, "%7.2f%% %14" PRIu64 " %12" PRIu64 " %14" PRIu64 "  %s%s%s",
                 share(g->execs, total), g->execs, g->entries, g->out[CFLOW_EDGE_BRANCH],
                 lines ? (g->where ? g->where : "(no line)") : "", lines ? "  " : "",
                 g->function);
    }
}

/* The instruction at `addr` (the first generation), or -1: insns are in address order. */
static int64_t insn_at(const CflowProfile *p, uint64_t addr)
{
    guint i = cflow_profile_insn_lower_bound(p, addr);
    return i < p->insns->len && cflow_profile_insn(p, i)->addr == addr ? (int64_t)i : -1;
}

/* "function+0xOFF" of an address, or the bare address where no function is known. */
static char *place(CflowSrcline *s, const CflowProfile *p, uint64_t addr)
{
    int64_t i = insn_at(p, addr);
    const CflowLoc *loc = i >= 0 ? cflow_srcline_insn(s, (uint32_t)i)
                                 : cflow_srcline_lookup(s, addr, NULL);
    if (loc->source == CFLOW_LOC_ADDRESS) {
        return g_strdup_printf("0x%" PRIx64, addr);
    }
    if (loc->function_start && loc->function_start <= addr) {
        return g_strdup_printf("%s+0x%" PRIx64, loc->function, addr - loc->function_start);
    }
    return g_strdup_printf("%s (0x%" PRIx64 ")", loc->function, addr);
}

static void render_edges(GString *out, const CflowProfile *p, CflowSrcline *s, unsigned rows,
                         unsigned width)
{
    uint64_t total = 0;
    for (guint i = 0; i < p->edges->len; i++) {
        total += cflow_profile_edge(p, i)->count;
    }
    g_autoptr(GArray) ranked = cflow_report_rank(p, CFLOW_SORT_EDGES, rows);
    add_line(out, width, "%8s %14s  %-11s  %s", "share", "count", "kind", "from -> to");
    for (guint r = 0; r < ranked->len; r++) {
        const CflowEdge *e = cflow_profile_edge(p, g_array_index(ranked, uint32_t, r));
        g_autofree char *from = place(s, p, cflow_profile_insn(p, e->from)->addr);
        g_autofree char *to = place(s, p, e->to);
        add_line(out, width, "%7.2f%% %14" PRIu64 "  %-11s  %s -> %s", share(e->count, total),
                 e->count, cflow_edge_kind_name((CflowEdgeKind)e->kind), from, to);
    }
}

GString *cflow_top_render(const CflowProfile *p, CflowSrcline *s, CflowTopView v, unsigned rows,
                          unsigned width)
{
    GString *out = g_string_new(NULL);
    rows = MAX(rows, 1u); /* cflow_report_rank's 0 would mean every edge */
    if (v == CFLOW_TOP_EDGES) {
        render_edges(out, p, s, rows, width);
    } else {
        render_groups(out, p, s, v == CFLOW_TOP_LINES, rows, width);
    }
    return out;
}
