/*
 * cmd-dot.c: `cflow dot`: the control-flow graph of a profile (or one function) in Graphviz
 * form: real basic blocks (tool/cfg.c) labelled with their source lines, edges drawn wider and
 * redder the hotter they are, calls drawn to where they return so that a function reads as one
 * piece; --svg renders it with Graphviz's `dot`.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cflow.h"
#include "srcline.h"
#include "stats.h"

#define CMD "dot"

/*
 * One line of a Graphviz label inside a quoted string, left-justified (ended by "\l"): quotes
 * and backslashes escaped, so that a name holding them (or Graphviz's own escapes such as
 * "\N") shows as it is; bytes that are not UTF-8 and control characters (which Graphviz would
 * reject or write into the SVG as invalid XML) become U+FFFD. "<", ">" and "&" need nothing:
 * these are not HTML-like labels, and Graphviz escapes them in the SVG it writes.
 */
static void dot_line(GString *out, const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text, -1);
    for (const char *c = valid; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);
        if (u == '"' || u == '\\') {
            g_string_append_c(out, '\\');
        }
        if (g_unichar_iscntrl(u)) {
            g_string_append_unichar(out, 0xfffd);
        } else {
            g_string_append_unichar(out, u);
        }
    }
    g_string_append(out, "\\l");
}

/* "file.c:12,13,15" for the distinct lines of a block, in order of first appearance; NULL if
 * no line is known. */
static char *block_lines(CflowSrcline *s, const CflowCfg *g, const CflowBasicBlock *bb)
{
    const char *file = NULL;
    GArray *lines = g_array_new(FALSE, FALSE, sizeof(unsigned));
    for (uint32_t k = 0; k < bb->n; k++) {
        const CflowLoc *loc = cflow_srcline_insn(s, g_array_index(g->order, uint32_t,
                                                                  bb->first + k));
        if (!loc->line || (file && loc->file != file)) {
            continue;
        }
        file = loc->file;
        bool seen = false;
        for (guint j = 0; j < lines->len && !seen; j++) {
            seen = g_array_index(lines, unsigned, j) == loc->line;
        }
        if (!seen) {
            g_array_append_val(lines, loc->line);
        }
    }
    GString *text = NULL;
    if (file) {
        g_autofree char *base = g_path_get_basename(file);
        text = g_string_new(base);
        for (guint j = 0; j < lines->len; j++) {
            g_string_append_printf(text, "%c%u", j ? ',' : ':', g_array_index(lines, unsigned, j));
        }
    }
    g_array_free(lines, TRUE);
    return text ? g_string_free(text, FALSE) : NULL;
}

/* Cold to hot, on a log scale of the hottest count. */
static double heat(uint64_t count, uint64_t max)
{
    return max > 1 ? log1p((double)count) / log1p((double)max) : 1.0;
}

/* Graphviz "H S V": blue (cold) through violet to red (hot), dark enough for text on white. */
static char *heat_colour(double t)
{
    return g_strdup_printf("%.3f %.3f %.3f", 0.667 + 0.333 * t, 0.55 + 0.45 * t, 0.85 - 0.1 * t);
}

static void render_block(GString *out, CflowSrcline *s, const CflowCfg *g, guint b, uint64_t max)
{
    const CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
    const CflowLoc *loc = cflow_srcline_insn(s, g_array_index(g->order, uint32_t, bb->first));
    g_string_append_printf(out, "  b%u [label=\"", b);
    g_autoptr(GString) head = g_string_new(NULL);
    cflow_srcline_address(s, head, bb->start); /* run-time, link-time or both (--addresses) */
    g_string_append_printf(head, " %s", cflow_srcline_inline_name(s, loc));
    dot_line(out, head->str);
    g_autofree char *lines = block_lines(s, g, bb);
    if (lines) {
        dot_line(out, lines);
    }
    g_autofree char *counts = g_strdup_printf("%" PRIu64 " time%s, %u insn%s", bb->execs,
                                              bb->execs == 1 ? "" : "s", bb->n,
                                              bb->n == 1 ? "" : "s");
    dot_line(out, counts);
    /* the outline takes the heat; the fill only a tint of it, so the text stays readable */
    double t = heat(bb->execs, max);
    g_autofree char *colour = heat_colour(t);
    g_string_append_printf(out, "\", color=\"%s\", fillcolor=\"%.3f %.3f 1.000\", "
                                "penwidth=%.1f];\n",
                           colour, 0.667 + 0.333 * t, 0.04 + 0.16 * t, 1 + 2 * t);
}

/* The node for code outside the graph, one per function reached there; its name. */
static const char *outside_node(GString *out, CflowSrcline *s, GHashTable *drawn, uint64_t addr)
{
    const CflowLoc *loc = cflow_srcline_lookup(s, addr, NULL);
    char *name = g_strdup_printf("x%u", g_str_hash(loc->function));
    char *known = g_hash_table_lookup(drawn, name);
    if (known) {
        g_free(name);
        return known;
    }
    g_hash_table_add(drawn, name);
    g_string_append_printf(out, "  %s [shape=ellipse, style=dashed, label=\"", name);
    dot_line(out, loc->function);
    g_string_append(out, "\"];\n");
    return name;
}

/* Longer callee names (C++ templates run to hundreds of characters) are cut on an edge's label,
 * which would otherwise widen the whole picture; the callee's own node shows all of it. */
#define EDGE_NAME_CHARS 60

/* An edge's label: its count, its kind where neither a branch nor a fall-through, and for a
 * call the function called. */
static void edge_label(GString *out, CflowSrcline *s, const CflowCfgEdge *e)
{
    if (e->call_return) {
        const char *name = cflow_srcline_lookup(s, e->callee, NULL)->function;
        g_autofree char *valid = g_utf8_make_valid(name, -1);
        bool long_name = g_utf8_strlen(valid, -1) > EDGE_NAME_CHARS;
        g_autofree char *head = g_utf8_substring(valid, 0, EDGE_NAME_CHARS - 1);
        g_autofree char *callee = g_strdup_printf("call %s%s", long_name ? head : valid,
                                                  long_name ? "\u2026" : "");
        dot_line(out, callee);
        if (e->callees > 1) { /* an indirect call: its hottest callee is named */
            g_autofree char *more = g_strdup_printf("(+%u other callee%s)", e->callees - 1,
                                                    e->callees > 2 ? "s" : "");
            dot_line(out, more);
        }
    }
    bool plain = e->kind == CFLOW_EDGE_BRANCH || e->kind == CFLOW_EDGE_FALLTHROUGH;
    g_autofree char *count = plain ? g_strdup_printf("%" PRIu64, e->count)
                                   : g_strdup_printf("%" PRIu64 " %s", e->count,
                                                     cflow_edge_kind_name(e->kind));
    dot_line(out, count);
}

/*
 * Edge styles (the legend says them): a branch taken is solid, a fall-through dashed, a call
 * drawn from the calling block to where the call returns a double line with the callee's name
 * (unlike any jump at any width), and the call's own edge to the callee a thin grey dotted line
 * that does not pull the layout.
 */
static void render_edge(GString *out, CflowSrcline *s, GHashTable *drawn, const CflowCfgEdge *e,
                        uint64_t max)
{
    bool to_outside = e->to == CFLOW_CFG_OUTSIDE;
    const char *to = to_outside ? outside_node(out, s, drawn, e->to_addr) : NULL;
    if (to) {
        g_string_append_printf(out, "  b%u -> %s [label=\"", e->from, to);
    } else {
        g_string_append_printf(out, "  b%u -> b%u [label=\"", e->from, e->to);
    }
    edge_label(out, s, e);
    double t = heat(e->count, max);
    if (e->call) {
        g_string_append(out, "\", style=dotted, color=gray55, fontcolor=gray40, weight=0];\n");
        return;
    }
    g_autofree char *colour = heat_colour(t);
    if (e->call_return) {
        /* two strands of the colour with a white one between: a double line */
        g_string_append_printf(out, "\", color=\"%s:white:%s\", fontcolor=\"%s\", "
                                    "penwidth=%.1f];\n",
                               colour, colour, colour, 1 + 1.5 * t);
        return;
    }
    g_string_append_printf(out, "\", color=\"%s\", fontcolor=\"%s\", penwidth=%.1f%s];\n",
                           colour, colour, 1 + 4 * t,
                           e->kind == CFLOW_EDGE_FALLTHROUGH ? ", style=dashed" : "");
}

static const char legend[] =
    "solid: branch taken     dashed: fall-through\\l"
    "double: a call, drawn to where it returns\\l"
    "        (count: the returns that landed there)\\l"
    "grey dotted: the call, to the function called\\l"
    "colour (blue to red), width: count, log scale\\l";

static GString *render(CflowSrcline *s, const CflowCfg *g, uint64_t min_count, const char *title)
{
    GString *out = g_string_new("digraph cflow {\n  graph [label=\"");
    dot_line(out, title);
    g_string_append(out, "\", labelloc=t, labeljust=l, fontname=\"monospace\", fontsize=12, "
                         "nodesep=0.3, ranksep=0.35];\n"
                         "  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\", "
                         "fontsize=10];\n"
                         "  edge [fontname=\"monospace\", fontsize=9];\n");
    uint64_t max = 1;
    for (guint i = 0; i < g->edges->len; i++) {
        max = MAX(max, g_array_index(g->edges, CflowCfgEdge, i).count);
    }
    g_autofree bool *shown = g_new0(bool, g->blocks->len ? g->blocks->len : 1);
    for (guint b = 0; b < g->blocks->len; b++) {
        shown[b] = g_array_index(g->blocks, CflowBasicBlock, b).execs >= min_count;
        if (shown[b]) {
            render_block(out, s, g, b, max);
        }
    }
    g_autoptr(GHashTable) drawn = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < g->edges->len; i++) {
        const CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, i);
        if (e->count >= min_count && shown[e->from] &&
            (e->to == CFLOW_CFG_OUTSIDE || shown[e->to])) {
            render_edge(out, s, drawn, e, max);
        }
    }
    g_string_append_printf(out, "  legend [shape=box, style=filled, fillcolor=gray97, "
                                "color=gray60, fontsize=9, margin=\"0.2,0.1\", label=\"%s\"];\n"
                                "  { rank=sink; legend; }\n}\n",
                           legend);
    return out;
}

static const char description[] =
    "Nodes are guest basic blocks, rebuilt from the profile: QEMU's translation blocks overlap\n"
    "and also end where control does not branch (page boundaries), so a block here starts at\n"
    "any translation block start or edge target and ends at an instruction that branches or\n"
    "falls through to another translation block. Each node shows its address, function (for\n"
    "inlined code the inlined one, with where: \"classify (inlined into main at wc.c:14)\"),\n"
    "source lines (file:line,line... from DWARF where known), how often it ran and its\n"
    "instruction count. Edges show their counts: solid for a branch taken, dashed for a\n"
    "fall-through. A block that ends in a call has a double-line edge, named for the function\n"
    "called, to the block where the call returns, counting the returns that landed there, so\n"
    "a function's loops read across its calls; the call itself is a thin grey dotted edge to\n"
    "the function called (with --function, one dashed node per function outside; a PLT stub\n"
    "named as objdump does, \"puts@plt\"). Colour (blue to red) and width grow with the\n"
    "logarithm of the count; a legend says the styles. A function that only ever ran inlined\n"
    "is its inlined code. --addresses=link labels blocks with the ELF file's addresses, as\n"
    "`objdump -d` prints them (both: \"0xRUN (0xLINK)\").\n"
    "\n"
    "Without -o or --svg the graph goes to standard output. --svg runs Graphviz's `dot`.\n"
    "\n"
    "Examples:\n"
    "  cflow dot --function main --svg main.svg cflow.data\n"
    "  cflow dot --min-count 1000 cflow.data | dot -Tpng > hot.png\n";

static int run(int argc, char **argv)
{
    g_autofree char *function = NULL, *out_path = NULL, *svg = NULL, *addresses_name = NULL;
    gint64 min_count = 0;
    GOptionEntry entries[] = {
        {"function", 'f', 0, G_OPTION_ARG_STRING, &function, "Only the function NAME", "NAME"},
        {"min-count", 'm', 0, G_OPTION_ARG_INT64, &min_count,
         "Leave out blocks and edges run fewer than N times", "N"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the graph to OUT.dot",
         "OUT.dot"},
        {"svg", 0, 0, G_OPTION_ARG_FILENAME, &svg, "Render it to OUT.svg with Graphviz",
         "OUT.svg"},
        CFLOW_ADDRESSES_OPTION(addresses_name),
        G_OPTION_ENTRY_NULL,
    };
    static const CflowUsage usage = {
        "FILE", "Draw the control-flow graph of a profile as Graphviz dot.", description,
        "expected one profile FILE"};
    if (!cflow_parse_usage(&argc, &argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, argc == 2 && min_count >= 0)) {
        return CFLOW_EXIT_USAGE;
    }
    g_auto(CflowInput) in = {NULL, NULL, CFLOW_EXIT_OK};
    if (!cflow_load_input(CMD, argv[1], addresses_name, &in)) {
        return in.status;
    }
    g_autofree CflowInsnStats *st = cflow_insn_stats(in.p);
    g_autofree bool *selected = function ? cflow_cfg_select_function(in.p, in.s, function) : NULL;
    if (function && !selected) {
        cflow_error(CMD, "no function '%s' in %s", function, argv[1]);
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowCfg) g = cflow_cfg_build(in.p, st, selected);
    cflow_cfg_add_call_returns(g, in.p);
    g_autofree char *title = g_strdup_printf("%s%s%s", function ? function : "",
                                             function ? " in " : "", argv[1]);
    GString *dot = render(in.s, g, (uint64_t)min_count, title);
    int status = CFLOW_EXIT_OK;
    g_autofree char *tmp = NULL;
    const char *dot_path = out_path;
    if (!out_path && svg) {
        int fd = g_file_open_tmp("cflow-XXXXXX.dot", &tmp, NULL);
        if (fd >= 0) {
            close(fd);
        }
        dot_path = tmp;
    }
    if (dot_path) {
        g_autoptr(GError) err = NULL;
        if (!g_file_set_contents(dot_path, dot->str, (gssize)dot->len, &err)) {
            cflow_error(CMD, "%s", err->message);
            status = CFLOW_EXIT_USAGE;
        }
    } else {
        fwrite(dot->str, 1, dot->len, stdout);
    }
    if (svg && status == CFLOW_EXIT_OK) {
        const char *args[] = {"dot", "-Tsvg", "-o", svg, dot_path, NULL};
        g_autoptr(GError) err = NULL;
        g_autofree char *errors = NULL;
        int wait = 0;
        if (!g_spawn_sync(NULL, (char **)args, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                          &errors, &wait, &err)) {
            cflow_error(CMD, "cannot run Graphviz's dot: %s", err->message);
            status = CFLOW_EXIT_USAGE;
        } else if (!g_spawn_check_wait_status(wait, NULL)) {
            cflow_error(CMD, "dot failed: %s", errors ? errors : "");
            status = CFLOW_EXIT_USAGE;
        }
    }
    if (tmp) {
        unlink(tmp);
    }
    g_string_free(dot, TRUE);
    return status;
}

const CflowCommand cflow_cmd_dot = {CMD, "draw the control-flow graph (Graphviz)", run};
