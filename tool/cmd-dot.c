/*
 * cmd-dot.c: `cflow dot`: the control-flow graph of a profile (or one function) in Graphviz
 * form: real basic blocks (tool/cfg.c) labelled with their source lines, edges drawn wider and
 * redder the hotter they are; --svg renders it with Graphviz's `dot`.
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

/* A Graphviz string: quotes and backslashes escaped; "\n" stays a Graphviz line break. */
static void dot_text(GString *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            g_string_append_c(out, '\\');
        }
        g_string_append_c(out, *s);
    }
}

/* "file.c:12,13,15" for the distinct lines of a block, in order of first appearance. */
static void block_lines(GString *label, const CflowProfile *p, CflowSrcline *s,
                        const CflowCfg *g, const CflowBasicBlock *bb)
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
    if (file) {
        g_autofree char *base = g_path_get_basename(file);
        g_string_append_printf(label, "\\n%s:", base);
        for (guint j = 0; j < lines->len; j++) {
            g_string_append_printf(label, "%s%u", j ? "," : "", g_array_index(lines, unsigned, j));
        }
    }
    g_array_free(lines, TRUE);
    (void)p;
}

/* Cold blue to hot red, on a log scale of the hottest edge. */
static double heat(uint64_t count, uint64_t max)
{
    return max > 1 ? log1p((double)count) / log1p((double)max) : 1.0;
}

static GString *render(const CflowProfile *p, CflowSrcline *s, const CflowCfg *g,
                       const CflowInsnStats *st, uint64_t min_count, const char *title)
{
    GString *out = g_string_new("digraph cflow {\n");
    g_string_append(out, "  graph [label=\"");
    dot_text(out, title);
    g_string_append(out, "\", labelloc=t, fontname=\"monospace\"];\n"
                         "  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
                         "  edge [fontname=\"monospace\", fontsize=9];\n");
    uint64_t max = 1;
    for (guint i = 0; i < g->edges->len; i++) {
        max = MAX(max, g_array_index(g->edges, CflowCfgEdge, i).count);
    }
    g_autofree bool *shown = g_new0(bool, g->blocks->len ? g->blocks->len : 1);
    for (guint b = 0; b < g->blocks->len; b++) {
        const CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
        if (bb->execs < min_count) {
            continue;
        }
        shown[b] = true;
        uint32_t first = g_array_index(g->order, uint32_t, bb->first);
        const CflowLoc *loc = cflow_srcline_insn(s, first);
        GString *label = g_string_new(NULL);
        cflow_srcline_address(s, label, bb->start);
        g_string_append_printf(label, " %s (%u insns)", cflow_srcline_inline_name(s, loc), bb->n);
        block_lines(label, p, s, g, bb);
        g_string_append_printf(label, "\\n%" PRIu64 " times", bb->execs);
        double t = heat(bb->execs, max);
        g_string_append_printf(out, "  b%u [label=\"", b);
        dot_text(out, label->str);
        g_string_append_printf(out, "\", color=\"#%02x00%02x\", penwidth=%.1f];\n",
                               (int)(255 * t), (int)(255 * (1 - t)), 1 + 2 * t);
        g_string_free(label, TRUE);
    }
    g_autoptr(GHashTable) outside = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < g->edges->len; i++) {
        const CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, i);
        if (e->count < min_count || !shown[e->from] ||
            (e->to != CFLOW_CFG_OUTSIDE && !shown[e->to])) {
            continue;
        }
        g_autofree char *to = NULL;
        if (e->to == CFLOW_CFG_OUTSIDE) {
            /* one node per function outside the graph */
            const CflowLoc *loc = cflow_srcline_lookup(s, e->to_addr, NULL);
            to = g_strdup_printf("x%u", g_str_hash(loc->function));
            if (!g_hash_table_contains(outside, to)) {
                g_hash_table_add(outside, g_strdup(to));
                g_string_append_printf(out, "  %s [shape=ellipse, style=dashed, label=\"", to);
                dot_text(out, loc->function);
                g_string_append(out, "\"];\n");
            }
        } else {
            to = g_strdup_printf("b%u", e->to);
        }
        double t = heat(e->count, max);
        g_string_append_printf(out, "  b%u -> %s [label=\"%" PRIu64 "%s%s\", penwidth=%.1f, "
                               "color=\"#%02x00%02x\"%s];\n",
                               e->from, to, e->count, e->kind == CFLOW_EDGE_BRANCH ? "" : " ",
                               e->kind == CFLOW_EDGE_BRANCH || e->implicit
                                   ? ""
                                   : cflow_edge_kind_name(e->kind),
                               1 + 5 * t, (int)(255 * t), (int)(255 * (1 - t)),
                               e->implicit || e->kind == CFLOW_EDGE_FALLTHROUGH ? ", style=dashed"
                                                                                 : "");
    }
    g_string_append(out, "}\n");
    (void)st;
    return out;
}

static const char description[] =
    "Nodes are guest basic blocks, rebuilt from the profile: QEMU's translation blocks overlap\n"
    "and also end where control does not branch (page boundaries), so a block here starts at\n"
    "any translation block start or edge target and ends at an instruction that branches or\n"
    "falls through to another translation block. Each node shows its address, function (for\n"
    "inlined code the inlined one, with where: \"classify (inlined into main at wc.c:14)\"),\n"
    "instruction count, source lines (file:line,line... from DWARF where known) and how often\n"
    "it ran; edges show their counts, dashed for fall-through. Colour (blue to red) and width\n"
    "grow with the logarithm of the count. With --function, edges leaving the function go to\n"
    "one dashed node per function they reach (a PLT stub named as objdump does, \"puts@plt\");\n"
    "a function that only ever ran inlined is its inlined code. --addresses=link labels blocks\n"
    "with the ELF file's addresses, as `objdump -d` prints them (both: \"0xRUN (0xLINK)\").\n"
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
    CflowAddresses addresses;
    if (!cflow_parse_addresses(CMD, addresses_name, &addresses)) {
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowProfile) p = cflow_load(CMD, argv[1]);
    if (!p) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    cflow_srcline_set_addresses(s, addresses);
    g_autofree CflowInsnStats *st = cflow_insn_stats(p);
    g_autofree bool *selected = function ? cflow_cfg_select_function(p, s, function) : NULL;
    if (function && !selected) {
        cflow_error(CMD, "no function '%s' in %s", function, argv[1]);
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowCfg) g = cflow_cfg_build(p, st, selected);
    g_autofree char *title = g_strdup_printf("%s%s%s", function ? function : "",
                                             function ? " in " : "", argv[1]);
    GString *dot = render(p, s, g, st, (uint64_t)min_count, title);
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
