/*
 * cmd-annotate.c: `cflow annotate FILE FUNCTION`: a function's instructions (the disassembly
 * the profile recorded) with how often each ran and where each branch went, interleaved with
 * the source lines they came from, in the manner of perf annotate and callgrind_annotate.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cflow.h"
#include "srcline.h"
#include "stats.h"

#define CMD "annotate"

/* "func+0x10 (file.c:12)" or the address for a transfer target. */
static void target_text(GString *out, CflowSrcline *s, uint64_t to)
{
    const CflowLoc *loc = cflow_srcline_lookup(s, to, NULL);
    cflow_srcline_address(s, out, to);
    if (loc->source != CFLOW_LOC_ADDRESS) {
        g_string_append_printf(out, " <%s", loc->function);
        if (loc->function_start && to >= loc->function_start && to != loc->function_start) {
            g_string_append_printf(out, "+0x%" PRIx64, to - loc->function_start);
        }
        g_string_append_c(out, '>');
    }
    const char *where = cflow_srcline_short(s, loc);
    if (where) {
        g_string_append_printf(out, " %s", where);
    }
}

static int cmp_edge_count(gconstpointer a, gconstpointer b)
{
    const CflowEdge *x = *(CflowEdge *const *)a, *y = *(CflowEdge *const *)b;
    return x->count > y->count ? -1 : x->count < y->count ? 1 : (x->to > y->to) - (x->to < y->to);
}

static const char description[] =
    "Prints every instruction of FUNCTION the run translated, in address order, grouped into\n"
    "basic blocks (a blank line between blocks), as\n"
    "    EXECUTED  PERCENT  ADDRESS: DISASSEMBLY\n"
    "followed, for an instruction control left from, by one line per edge kind:\n"
    "    taken N -> TARGET <function+offset> file:line   (one line per destination)\n"
    "    fallthrough N, exception N, ...\n"
    "EXECUTED is how often the instruction ran: the sum of the counts of the translation\n"
    "blocks holding it (a block left early by a fault counts its later instructions too).\n"
    "PERCENT is its share of all instruction executions in the function. Where the guest has\n"
    "DWARF, each new source line is printed before its instructions, with its text when the\n"
    "source file can be read. FUNCTION is matched against the function names `report --by\n"
    "function` prints (DWARF, ELF symbols, QEMU's symbols); code self-modified at run time\n"
    "shows every generation (ADDRESS#N). With --addresses=link, addresses are the ELF file's,\n"
    "as `objdump -d` prints them (both: \"0xRUN (0xLINK)\"). Calls into a PLT are named as\n"
    "objdump names them (\"puts@plt\"). Code the compiler inlined is listed once per inlined\n"
    "instance, after the function's own code if any ran, each under its name with where it was\n"
    "inlined (\"classify (inlined into main at wc.c:14)\", from the DWARF inline chain); in any\n"
    "listing, a source line of inlined code ends with that name in brackets.\n"
    "\n"
    "Example:\n"
    "  cflow annotate cflow.data main | less\n";

static const CflowUsage usage = {
    "FILE FUNCTION", "Show a function's instructions with execution and branch counts.",
    description, "expected FILE FUNCTION"};

/* What the listing is made from, and the source line it printed last. */
typedef struct {
    const CflowProfile *p;
    CflowSrcline *s;
    const CflowInsnStats *st;
    GHashTable *outs; /* insn + 1 -> GPtrArray of its out-edges */
    uint64_t total;   /* instruction executions in the function */
    const char *last_file;
    unsigned last_line;
    CflowAddresses addresses;
} Listing;

/*
 * An instruction's text; with --addresses=link made again from its bytes at its link-time
 * address, so that its operands read as objdump's do (*owned is then to be freed).
 */
static const char *insn_text(const Listing *l, uint32_t i, char **owned)
{
    const CflowInsn *in = cflow_profile_insn(l->p, i);
    const uint8_t *bytes = cflow_profile_insn_bytes(l->p, i);
    const char *arch = cflow_profile_get_meta(l->p, "arch");
    uint64_t link;
    *owned = NULL;
    if (l->addresses == CFLOW_ADDRESSES_LINK && bytes && arch &&
        cflow_srcline_locate(l->s, in->addr, &link) && link != in->addr) {
        *owned = cflow_disasm(arch, link, bytes, in->size);
        return *owned;
    }
    return cflow_profile_insn_disas(l->p, i);
}

/* The out-edges of each selected instruction. */
static GHashTable *out_edges(const CflowProfile *p, const bool *selected)
{
    GHashTable *outs = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        if (!selected[e->from]) {
            continue;
        }
        GPtrArray *a = g_hash_table_lookup(outs, GUINT_TO_POINTER(e->from + 1));
        if (!a) {
            a = g_ptr_array_new();
            g_hash_table_insert(outs, GUINT_TO_POINTER(e->from + 1), a);
        }
        g_ptr_array_add(a, (gpointer)e);
    }
    return outs;
}

/* One instruction: its source line if new, its count and text, then where control went. */
static void list_insn(GString *out, Listing *l, uint32_t i)
{
    const CflowInsn *in = cflow_profile_insn(l->p, i);
    const CflowLoc *loc = cflow_srcline_insn(l->s, i);
    if (loc->line && (loc->file != l->last_file || loc->line != l->last_line)) {
        g_autofree char *text = g_strdup(cflow_srcline_text(l->s, loc->file, loc->line));
        g_string_append_printf(out, "  %s%s%s", cflow_srcline_short(l->s, loc),
                               text ? "    " : "", text ? g_strstrip(text) : "");
        if (loc->n_frames > 1) { /* inlined code: say whose */
            g_string_append_printf(out, "    [%s]", cflow_srcline_inline_name(l->s, loc));
        }
        g_string_append_c(out, '\n');
        l->last_file = loc->file;
        l->last_line = loc->line;
    }
    uint64_t execs = l->st[i].execs;
    g_string_append_printf(out, "%12" PRIu64 " %6.2f  ", execs,
                           l->total ? 100.0 * (double)execs / (double)l->total : 0.0);
    cflow_srcline_address(l->s, out, in->addr);
    if (in->generation) {
        g_string_append_printf(out, "#%u", in->generation);
    }
    g_autofree char *owned = NULL;
    g_string_append_printf(out, ": %s\n", insn_text(l, i, &owned));
    GPtrArray *edges = g_hash_table_lookup(l->outs, GUINT_TO_POINTER(i + 1));
    if (!edges) {
        return;
    }
    g_ptr_array_sort(edges, cmp_edge_count);
    for (guint j = 0; j < edges->len; j++) {
        const CflowEdge *e = g_ptr_array_index(edges, j);
        g_string_append_printf(out, "%22s %s %" PRIu64 " -> ", "",
                               e->kind == CFLOW_EDGE_BRANCH
                                   ? "taken"
                                   : cflow_edge_kind_name((CflowEdgeKind)e->kind),
                               e->count);
        target_text(out, l->s, e->to);
        g_string_append_c(out, '\n');
    }
}

/* One listing: a title line, then the selected instructions by basic block. */
static void annotate(GString *out, Listing *l, const char *title, const bool *selected)
{
    g_autoptr(CflowCfg) g = cflow_cfg_build(l->p, l->st, selected);
    g_autoptr(GHashTable) outs = out_edges(l->p, selected);
    l->outs = outs;
    l->total = 0;
    l->last_file = NULL;
    l->last_line = 0;
    for (guint k = 0; k < g->order->len; k++) {
        l->total += l->st[g_array_index(g->order, uint32_t, k)].execs;
    }
    g_string_append_printf(out, "%s: %u instructions in %u basic blocks, %" PRIu64
                           " instruction executions\n",
                           title, g->order->len, g->blocks->len, l->total);
    g_string_append(out, "    executed      %  address: instruction\n");
    for (guint b = 0; b < g->blocks->len; b++) {
        const CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
        g_string_append_c(out, '\n');
        for (uint32_t k = 0; k < bb->n; k++) {
            list_insn(out, l, g_array_index(g->order, uint32_t, bb->first + k));
        }
    }
    l->outs = NULL;
}

static int run(int argc, char **argv)
{
    g_autofree char *addresses_name = NULL;
    GOptionEntry entries[] = {
        CFLOW_ADDRESSES_OPTION(addresses_name),
        G_OPTION_ENTRY_NULL,
    };
    if (!cflow_parse_usage(&argc, &argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, argc == 3)) {
        return CFLOW_EXIT_USAGE;
    }
    const char *function = argv[2];
    g_auto(CflowInput) in = {NULL, NULL, CFLOW_EXIT_OK};
    if (!cflow_load_input(CMD, argv[1], addresses_name, &in)) {
        return in.status;
    }
    g_autofree CflowInsnStats *st = cflow_insn_stats(in.p);
    g_autofree bool *own = cflow_cfg_select_own(in.p, in.s, function);
    g_autoptr(GArray) instances = cflow_cfg_inlined_instances(in.p, in.s, function);
    if (!own && !instances->len) {
        cflow_error(CMD, "no function '%s' in %s (see 'cflow report --by function')", function,
                    argv[1]);
        return CFLOW_EXIT_USAGE;
    }
    Listing l = {in.p, in.s, st, NULL, 0, NULL, 0, cflow_srcline_addresses(in.s)};
    GString *out = g_string_new(NULL);
    if (own) {
        g_autofree char *title = g_strdup_printf("%s in %s", function, argv[1]);
        annotate(out, &l, title, own);
    }
    for (guint k = 0; k < instances->len; k++) {
        const CflowCfgInstance *in = &g_array_index(instances, CflowCfgInstance, k);
        g_autofree char *title = g_strdup_printf("%s in %s", in->name, argv[1]);
        g_string_append(out, out->len ? "\n" : "");
        annotate(out, &l, title, in->selected);
    }
    fwrite(out->str, 1, out->len, stdout);
    g_string_free(out, TRUE);
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_annotate = {CMD, "a function's instructions with their counts",
                                         run};
