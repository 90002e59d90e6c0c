/*
 * export-callgrind.c: `cflow export callgrind`: a callgrind.out file (the Callgrind format,
 * version 1) for callgrind_annotate and KCachegrind.
 *
 *   positions: instr line      every position is "ADDRESS LINE" (link-time address)
 *   events: Ir                 instructions executed
 *   ob=/fl=/fn=                object, file, function (name compression: "(id) name" the first
 *                              time, "(id)" after); fi= when an instruction's line is in another
 *                              file (inlined code)
 *   ADDRESS LINE COUNT         one cost line per executed instruction
 *   jcnd=TAKEN/EXECUTED T      a conditional branch's edge to T (taken or falling through),
 *   jump=COUNT T               an unconditional jump or straight-line flow to T; both followed
 *                              by the source position (jfi=/jfn= before them when T is in another
 *                              file or function)
 *   cob=/cfi=/cfn=, calls=COUNT T, then "ADDRESS LINE INCLUSIVE"   a call site
 *
 * A profile of edges has no call stacks, so a call's inclusive cost is estimated: the callee's
 * inclusive cost per entry times the calls from the site, with recursion cut (a callee already
 * being summed adds nothing). An unconditional jump to another function's entry (PLT stubs,
 * tail calls) is a call, as Callgrind records it. Returns and exceptional edges are not
 * written (calls imply the returns; callgrind has no records for the others).
 */
#include <inttypes.h>
#include <string.h>

#include "export.h"

#define NO_FN UINT32_MAX

typedef struct {
    const char *name;   /* owned by the srcline */
    const char *file;   /* file of its lowest instruction with a line, NULL if none */
    uint32_t module;    /* or CFLOW_NO_MODULE */
    GArray *insns;      /* uint32_t, in address order */
    uint64_t self, entries, incl;
    int state;          /* inclusive cost: 0 not yet, 1 being summed, 2 done */
    uint64_t low;       /* lowest instruction address */
} Fn;

typedef struct {
    CflowExport *x;
    GArray *fns;          /* Fn */
    uint32_t *fn_of;      /* insn -> function */
    GHashTable *by_key;   /* "module:name" -> function + 1 */
    GHashTable *insn_at;  /* run-time address -> insn + 1 (generation 0 first) */
    GPtrArray *out_edges; /* insn -> GPtrArray of CflowEdge* */
    GHashTable *ids[3];   /* ob, file, fn names -> id */
} Graph;

enum { ID_OB, ID_FILE, ID_FN };

static uint32_t function_for(Graph *g, uint32_t module, const char *name)
{
    g_autofree char *key = g_strdup_printf("%u:%s", module, name);
    gpointer v = g_hash_table_lookup(g->by_key, key);
    if (v) {
        return GPOINTER_TO_UINT(v) - 1;
    }
    Fn f = {name, NULL, module, g_array_new(FALSE, FALSE, sizeof(uint32_t)), 0, 0, 0, 0,
            UINT64_MAX};
    g_array_append_val(g->fns, f);
    g_hash_table_insert(g->by_key, g_steal_pointer(&key), GUINT_TO_POINTER(g->fns->len));
    return g->fns->len - 1;
}

static int cmp_insn_addr(const void *a, const void *b, void *data)
{
    const CflowProfile *p = data;
    uint64_t x = cflow_profile_insn(p, *(const uint32_t *)a)->addr;
    uint64_t y = cflow_profile_insn(p, *(const uint32_t *)b)->addr;
    return (x > y) - (x < y);
}

static void build(Graph *g, CflowExport *x)
{
    const CflowProfile *p = x->p;
    guint n = p->insns->len;
    g->x = x;
    g->fns = g_array_new(FALSE, FALSE, sizeof(Fn));
    g->fn_of = g_new(uint32_t, n ? n : 1);
    g->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g->insn_at = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g->out_edges = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (int k = 0; k < 3; k++) {
        g->ids[k] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    for (guint i = 0; i < n; i++) {
        const CflowInsn *in = cflow_profile_insn(p, i);
        const CflowLoc *loc = cflow_srcline_insn(x->s, i);
        uint32_t f = function_for(g, x->module_of[i], loc->function);
        g->fn_of[i] = f;
        Fn *fn = &g_array_index(g->fns, Fn, f);
        g_array_append_val(fn->insns, i);
        fn->self += x->st[i].execs;
        if (in->addr < fn->low) {
            fn->low = in->addr;
        }
        if (!g_hash_table_contains(g->insn_at, &in->addr)) {
            g_hash_table_insert(g->insn_at, g_memdup2(&in->addr, sizeof in->addr),
                                GUINT_TO_POINTER(i + 1));
        }
        g_ptr_array_add(g->out_edges, g_ptr_array_new());
    }
    for (guint f = 0; f < g->fns->len; f++) {
        Fn *fn = &g_array_index(g->fns, Fn, f);
        g_array_sort_with_data(fn->insns, cmp_insn_addr, (gpointer)p);
        for (guint k = 0; k < fn->insns->len && !fn->file; k++) {
            fn->file = cflow_srcline_insn(x->s, g_array_index(fn->insns, uint32_t, k))->file;
        }
    }
    for (guint e = 0; e < p->edges->len; e++) {
        CflowEdge *edge = cflow_profile_edge(p, e);
        g_ptr_array_add(g_ptr_array_index(g->out_edges, edge->from), edge);
    }
}

static void graph_clear(Graph *g)
{
    for (guint f = 0; f < g->fns->len; f++) {
        g_array_free(g_array_index(g->fns, Fn, f).insns, TRUE);
    }
    g_array_free(g->fns, TRUE);
    g_free(g->fn_of);
    g_hash_table_unref(g->by_key);
    g_hash_table_unref(g->insn_at);
    g_ptr_array_unref(g->out_edges);
    for (int k = 0; k < 3; k++) {
        g_hash_table_unref(g->ids[k]);
    }
}

/* The instruction at a transfer's target, or -1 (never translated: outside the profile). */
static int64_t insn_at(Graph *g, uint64_t addr)
{
    gpointer v = g_hash_table_lookup(g->insn_at, &addr);
    return v ? (int64_t)GPOINTER_TO_UINT(v) - 1 : -1;
}

/*
 * A call, as Callgrind counts them: the branch of a call instruction, or an unconditional jump
 * to the entry of another function (a PLT stub's jump into the library, a tail call), which
 * Callgrind records as a call too. Without the jumps, KCachegrind showed getc called by no
 * one and main's inclusive cost without it: main called the PLT stub, whose cost was its one
 * jump.
 */
static bool is_call(Graph *g, const CflowEdge *e)
{
    if (e->kind != CFLOW_EDGE_BRANCH) {
        return false;
    }
    CflowInsnClass cls = cflow_export_classify(g->x, e->from);
    int64_t t = cls == CFLOW_INSN_JUMP ? insn_at(g, e->to) : -1;
    if (t < 0 || g->fn_of[t] == g->fn_of[e->from]) {
        return cls == CFLOW_INSN_CALL;
    }
    const CflowLoc *loc = cflow_srcline_insn(g->x->s, (uint32_t)t);
    uint64_t entry = loc->function_start ? loc->function_start
                                         : g_array_index(g->fns, Fn, g->fn_of[t]).low;
    return e->to == entry;
}

/* Inclusive cost of function f (self plus its calls' estimated share), recursion cut. */
static uint64_t inclusive(Graph *g, uint32_t f, uint64_t total)
{
    Fn *fn = &g_array_index(g->fns, Fn, f);
    if (fn->state == 2) {
        return fn->incl;
    }
    if (fn->state == 1) {
        return 0;
    }
    fn->state = 1;
    uint64_t sum = fn->self;
    for (guint k = 0; k < fn->insns->len; k++) {
        uint32_t i = g_array_index(fn->insns, uint32_t, k);
        GPtrArray *edges = g_ptr_array_index(g->out_edges, i);
        for (guint j = 0; j < edges->len; j++) {
            const CflowEdge *e = g_ptr_array_index(edges, j);
            int64_t t = is_call(g, e) ? insn_at(g, e->to) : -1;
            if (t < 0) {
                continue;
            }
            uint32_t callee = g->fn_of[t];
            uint64_t ci = inclusive(g, callee, total);
            uint64_t entries = g_array_index(g->fns, Fn, callee).entries;
            if (entries) {
                sum += (uint64_t)((double)ci * ((double)e->count / (double)entries));
            }
        }
    }
    fn = &g_array_index(g->fns, Fn, f);
    fn->incl = MIN(sum, total);
    fn->state = 2;
    return fn->incl;
}

/* "(id) name" the first time a name is used in its id space, "(id)" after. */
static void name_ref(FILE *out, Graph *g, int space, const char *key, const char *name)
{
    gpointer v = g_hash_table_lookup(g->ids[space], name);
    if (v) {
        fprintf(out, "%s=(%u)\n", key, GPOINTER_TO_UINT(v));
        return;
    }
    guint id = g_hash_table_size(g->ids[space]) + 1;
    g_hash_table_insert(g->ids[space], g_strdup(name), GUINT_TO_POINTER(id));
    fprintf(out, "%s=(%u) %s\n", key, id, name);
}

static const char *module_name(Graph *g, uint32_t m)
{
    return m == CFLOW_NO_MODULE ? "???" : g_array_index(g->x->modules, CflowExportModule, m).path;
}

static int cmp_fn(const void *a, const void *b, void *data)
{
    const Graph *g = data;
    const Fn *x = &g_array_index(g->fns, Fn, *(const uint32_t *)a);
    const Fn *y = &g_array_index(g->fns, Fn, *(const uint32_t *)b);
    if (x->module != y->module) {
        return x->module < y->module ? -1 : 1;
    }
    return (x->low > y->low) - (x->low < y->low);
}

static int cmp_edge(const void *a, const void *b)
{
    const CflowEdge *x = *(CflowEdge *const *)a, *y = *(CflowEdge *const *)b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return (x->to > y->to) - (x->to < y->to);
}

/* Position of a target: its link-time address and line ("0xADDR LINE"). */
static void target_pos(Graph *g, uint64_t to, int64_t t, uint64_t *addr, unsigned *line)
{
    CflowExport *x = g->x;
    *addr = t >= 0 ? x->vaddr[t] : to;
    const CflowLoc *loc = t >= 0 ? cflow_srcline_insn(x->s, (uint32_t)t)
                                 : cflow_srcline_lookup(x->s, to, NULL);
    *line = loc->line;
}

/* Entries of every function (calls into it), then every function's inclusive cost. */
static void costs(Graph *g)
{
    const CflowProfile *p = g->x->p;
    uint64_t total = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        total += g->x->st[i].execs;
    }
    for (guint e = 0; e < p->edges->len; e++) {
        const CflowEdge *edge = cflow_profile_edge(p, e);
        int64_t t = is_call(g, edge) ? insn_at(g, edge->to) : -1;
        if (t >= 0) {
            g_array_index(g->fns, Fn, g->fn_of[t]).entries += edge->count;
        }
    }
    for (guint f = 0; f < g->fns->len; f++) {
        inclusive(g, f, total);
    }
}

/* The header, up to the summary: the cost of the functions written (`only`'s, or all). */
static void write_header(FILE *out, Graph *g, uint64_t shown)
{
    const CflowProfile *p = g->x->p;
    const char *cmdline = cflow_profile_get_meta(p, "cmdline");
    const char *pid = cflow_profile_get_meta(p, "pid");
    fprintf(out, "# callgrind format\nversion: 1\ncreator: %s (cflow export callgrind)\n",
            cflow_profile_get_meta(p, "tool") ? cflow_profile_get_meta(p, "tool") : "cflow");
    if (pid) {
        fprintf(out, "pid: %s\n", pid);
    }
    if (cmdline) {
        /* one line: newlines in the command line would end the header entry */
        g_autofree char *one = g_strdup(cmdline);
        g_strdelimit(one, "\n\r", ' ');
        fprintf(out, "cmd: %s\n", one);
    }
    fprintf(out, "positions: instr line\nevents: Ir\n");
    fprintf(out, "summary: %" PRIu64 "\n", shown);
}

/* Where the cost lines of one instruction are being written. */
typedef struct {
    FILE *out;
    Graph *g;
    uint32_t f;           /* the function */
    const Fn *fn;
    uint32_t i;           /* the instruction */
    const CflowLoc *loc;
    uint64_t execs;
    const char *cur_file; /* the file the cost lines are in now (fl=/fi=/fe=) */
} Site;

/* A call site: cob=/cfi=/cfn=, calls=, and the call's estimated inclusive cost. */
static void write_call(Site *w, const CflowEdge *edge, const Fn *target, uint64_t taddr,
                       unsigned tline)
{
    if (target->module != w->fn->module) {
        name_ref(w->out, w->g, ID_OB, "cob", module_name(w->g, target->module));
    }
    name_ref(w->out, w->g, ID_FILE, "cfi", target->file ? target->file : "???");
    name_ref(w->out, w->g, ID_FN, "cfn", target->name);
    uint64_t incl = target->entries ? (uint64_t)((double)target->incl *
                                                 ((double)edge->count / (double)target->entries))
                                    : 0;
    fprintf(w->out, "calls=%" PRIu64 " 0x%" PRIx64 " %u\n", edge->count, taddr, tline);
    fprintf(w->out, "0x%" PRIx64 " %u %" PRIu64 "\n", w->g->x->vaddr[w->i], w->loc->line, incl);
}

/* A branch or fall-through edge: a call site, a jcnd= or a jump= line (returns are not). */
static void write_transfer(Site *w, const CflowEdge *edge, CflowInsnClass cls)
{
    CflowExport *x = w->g->x;
    int64_t t = insn_at(w->g, edge->to);
    uint64_t taddr;
    unsigned tline;
    target_pos(w->g, edge->to, t, &taddr, &tline);
    uint32_t tfn = t >= 0 ? w->g->fn_of[t] : NO_FN;
    const Fn *target = tfn != NO_FN ? &g_array_index(w->g->fns, Fn, tfn) : NULL;
    const char *tfile = t >= 0 && cflow_srcline_insn(x->s, (uint32_t)t)->file
                            ? cflow_srcline_insn(x->s, (uint32_t)t)->file
                            : (target && target->file ? target->file : "???");
    if (is_call(w->g, edge)) {
        if (target) { /* else never translated: nothing to attribute */
            write_call(w, edge, target, taddr, tline);
        }
        return;
    }
    if (strcmp(tfile, w->cur_file) != 0) {
        name_ref(w->out, w->g, ID_FILE, "jfi", tfile);
    }
    if (target && tfn != w->f) {
        name_ref(w->out, w->g, ID_FN, "jfn", target->name);
    }
    if (cls == CFLOW_INSN_COND) {
        fprintf(w->out, "jcnd=%" PRIu64 "/%" PRIu64 " 0x%" PRIx64 " %u\n", edge->count,
                MAX(w->execs, edge->count), taddr, tline);
    } else {
        fprintf(w->out, "jump=%" PRIu64 " 0x%" PRIx64 " %u\n", edge->count, taddr, tline);
    }
    fprintf(w->out, "0x%" PRIx64 " %u\n", x->vaddr[w->i], w->loc->line);
}

/* One instruction: a file switch if its line is in another file, its cost, its transfers. */
static void write_insn(Site *w, const char *fn_file)
{
    CflowExport *x = w->g->x;
    w->loc = cflow_srcline_insn(x->s, w->i);
    const char *file = w->loc->file ? w->loc->file : fn_file;
    if (strcmp(file, w->cur_file) != 0) {
        name_ref(w->out, w->g, ID_FILE, strcmp(file, fn_file) == 0 ? "fe" : "fi", file);
        w->cur_file = file;
    }
    w->execs = x->st[w->i].execs;
    if (w->execs) {
        fprintf(w->out, "0x%" PRIx64 " %u %" PRIu64 "\n", x->vaddr[w->i], w->loc->line,
                w->execs);
    }
    GPtrArray *edges = g_ptr_array_index(w->g->out_edges, w->i);
    g_ptr_array_sort(edges, cmp_edge);
    CflowInsnClass cls = cflow_export_classify(x, w->i);
    for (guint e = 0; e < edges->len; e++) {
        const CflowEdge *edge = g_ptr_array_index(edges, e);
        if (edge->kind != CFLOW_EDGE_BRANCH && edge->kind != CFLOW_EDGE_FALLTHROUGH) {
            continue;
        }
        if (edge->kind == CFLOW_EDGE_BRANCH && cls == CFLOW_INSN_RETURN) {
            continue;
        }
        write_transfer(w, edge, cls);
    }
}

/* One function: ob=, fl=, fn=, then its instructions in address order. */
static void write_function(FILE *out, Graph *g, uint32_t f)
{
    const Fn *fn = &g_array_index(g->fns, Fn, f);
    const char *fn_file = fn->file ? fn->file : "???";
    fprintf(out, "\n");
    name_ref(out, g, ID_OB, "ob", module_name(g, fn->module));
    name_ref(out, g, ID_FILE, "fl", fn_file);
    name_ref(out, g, ID_FN, "fn", fn->name);
    Site w = {out, g, f, fn, 0, NULL, 0, fn_file};
    for (guint j = 0; j < fn->insns->len; j++) {
        w.i = g_array_index(fn->insns, uint32_t, j);
        write_insn(&w, fn_file);
    }
}

static bool write_callgrind(CflowExport *x, FILE *out, GError **error)
{
    uint32_t only = CFLOW_NO_MODULE;
    if (x->binary && (only = cflow_export_select(x, error)) == CFLOW_NO_MODULE) {
        return false;
    }
    Graph g = {0};
    build(&g, x);
    costs(&g);
    uint64_t shown = 0;
    for (guint f = 0; f < g.fns->len; f++) {
        const Fn *fn = &g_array_index(g.fns, Fn, f);
        if (only == CFLOW_NO_MODULE || fn->module == only) {
            shown += fn->self;
        }
    }
    write_header(out, &g, shown);
    /* functions by module, then address */
    g_autofree uint32_t *order = g_new(uint32_t, g.fns->len ? g.fns->len : 1);
    for (guint f = 0; f < g.fns->len; f++) {
        order[f] = f;
    }
    g_qsort_with_data(order, (gint)g.fns->len, sizeof(uint32_t), cmp_fn, &g);
    for (guint k = 0; k < g.fns->len; k++) {
        const Fn *fn = &g_array_index(g.fns, Fn, order[k]);
        if ((only == CFLOW_NO_MODULE || fn->module == only) && fn->self) {
            write_function(out, &g, order[k]);
        }
    }
    fprintf(out, "\ntotals: %" PRIu64 "\n", shown);
    graph_clear(&g);
    return cflow_export_written(out, error);
}

const CflowExportFormat cflow_export_callgrind = {
    "callgrind", "callgrind.out (callgrind_annotate, KCachegrind)", false, write_callgrind,
    NULL};
