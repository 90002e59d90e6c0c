/*
 * export-lcov.c: `cflow export lcov`: an lcov tracefile (geninfo's format, read by genhtml and
 * lcov itself) from the run's instruction counts and the DWARF line tables.
 *
 * Lines: every line the line table of a compile unit gives code to, for each compile unit
 * whose code ran (all of them with --all-cus), so code that never ran shows as 0. A line's
 * count is how often control entered a run of its instructions: for each real basic block
 * (tool/cfg.c), the executions of each of its instructions that starts a stretch of that line,
 * less the returns into it from a call on the same line (a call does not leave its line, as a
 * reader sees it: `if (isspace(c))` runs once per character, not twice). A line whose rows in
 * the line table all cover no code (a statement that starts where another's code does, as
 * optimised code has them: `return 0;`) takes the executions of the instruction it starts at.
 * Functions: the compile units' subprograms with code, counted by their entry instruction,
 * plus the entries of their inlined instances (a function only ever inlined is listed too).
 * Branches: each conditional branch the run translated, as two records (0: taken, 1: not
 * taken), '-' when the instruction never ran.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <string.h>

#include "cfg.h"
#include "dwarf-index.h"
#include "export.h"
#include "stats.h"

typedef struct {
    char *name;
    unsigned line;
    uint64_t count;
} Fn;

typedef struct {
    unsigned line;
    uint64_t addr; /* for the order of a line's branches */
    uint64_t execs, taken, not_taken;
} Branch;

typedef struct {
    GHashTable *lines; /* line -> uint64_t* count */
    GArray *fns;       /* Fn */
    GHashTable *fn_seen;
    GArray *branches;  /* Branch */
    GHashTable *starts; /* line -> uint64_t*: executions where its empty line-table rows are */
} SourceFile;

static void source_free(gpointer data)
{
    SourceFile *f = data;
    g_hash_table_unref(f->lines);
    for (guint i = 0; i < f->fns->len; i++) {
        g_free(g_array_index(f->fns, Fn, i).name);
    }
    g_array_free(f->fns, TRUE);
    g_hash_table_unref(f->fn_seen);
    g_array_free(f->branches, TRUE);
    g_hash_table_unref(f->starts);
    g_free(f);
}

static SourceFile *source(GHashTable *files, const char *path)
{
    SourceFile *f = g_hash_table_lookup(files, path);
    if (!f) {
        f = g_new0(SourceFile, 1);
        f->lines = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        f->fns = g_array_new(FALSE, FALSE, sizeof(Fn));
        f->fn_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        f->branches = g_array_new(FALSE, FALSE, sizeof(Branch));
        f->starts = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        g_hash_table_insert(files, g_strdup(path), f);
    }
    return f;
}

/* The count of `line` in a table of SourceFile (made 0 the first time). */
static uint64_t *line_count(GHashTable *table, unsigned line)
{
    uint64_t *c = g_hash_table_lookup(table, GUINT_TO_POINTER(line));
    if (!c) {
        c = g_new0(uint64_t, 1);
        g_hash_table_insert(table, GUINT_TO_POINTER(line), c);
    }
    return c;
}

static void add_line(GHashTable *files, const char *path, unsigned line, uint64_t count)
{
    *line_count(source(files, path)->lines, line) += count;
}

/* Lines with no code of their own take the executions of the instruction they start at. */
static void credit_empty_rows(SourceFile *f)
{
    GHashTableIter it;
    gpointer line, execs;
    g_hash_table_iter_init(&it, f->starts);
    while (g_hash_table_iter_next(&it, &line, &execs)) {
        uint64_t *c = line_count(f->lines, GPOINTER_TO_UINT(line));
        *c = *c ? *c : *(uint64_t *)execs;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Does the sorted array hold a value in [lo, hi)? */
static bool any_in(const GArray *sorted, uint64_t lo, uint64_t hi)
{
    guint a = 0, b = sorted->len;
    while (a < b) {
        guint mid = a + (b - a) / 2;
        if (g_array_index(sorted, uint64_t, mid) < lo) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    return a < sorted->len && g_array_index(sorted, uint64_t, a) < hi;
}

/* Where a unit's functions go: the export, the module's index, the files by path. */
typedef struct {
    CflowExport *x;
    uint32_t m;
    GHashTable *files;
    Dwarf_Addr cubias;
    uint64_t bias;
} UnitFunctions;

/* A subprogram of the unit (dwarf-index.c walks them all), if it has code. */
static void function(Dwarf_Die *sub, void *data)
{
    const UnitFunctions *u = data;
    Dwarf_Addr low;
    if (dwarf_lowpc(sub, &low) != 0) {
        return;
    }
    Dwarf_Attribute attr;
    const char *name = NULL;
    if (dwarf_attr_integrate(sub, DW_AT_linkage_name, &attr)) {
        name = dwarf_formstring(&attr);
    }
    if (!name) {
        name = dwarf_diename(sub);
    }
    const char *file = dwarf_decl_file(sub);
    int line = 0;
    if (!name || !file || dwarf_decl_line(sub, &line) != 0 || line <= 0) {
        return;
    }
    uint64_t vaddr = low + u->cubias - u->bias;
    SourceFile *f = source(u->files, file);
    if (g_hash_table_contains(f->fn_seen, name)) {
        return;
    }
    g_hash_table_add(f->fn_seen, g_strdup(name));
    Fn fn = {g_strdup(name), (unsigned)line, cflow_export_execs_at(u->x, u->m, vaddr)};
    g_array_append_val(f->fns, fn);
    /* gcov counts a function's entry on the line that names it, as geninfo shows it */
    add_line(u->files, file, (unsigned)line, fn.count);
}

/*
 * Functions the compiler inlined: gcov counts every call of a function, inlined or not, so
 * each inlined instance's entries (stats.c) count for its function, at its declaration, in
 * the files of the module(s) the export covers (`only`, or every module).
 */
static void inlined_functions(CflowExport *x, uint32_t only, GHashTable *files)
{
    g_autoptr(GPtrArray) groups =
        cflow_groups(x->p, x->s, x->st, CFLOW_GROUP_FUNCTION, NULL, true);
    const char *only_path =
        only == CFLOW_NO_MODULE ? NULL : g_array_index(x->modules, CflowExportModule, only).path;
    for (guint i = 0; i < groups->len; i++) {
        const CflowGroup *g = g_ptr_array_index(groups, i);
        const CflowInlineFrame *in = g->inlined;
        uint64_t vaddr;
        const char *path = in ? cflow_srcline_locate(x->s, g->first_addr, &vaddr) : NULL;
        if (!path || !in->decl_file || !in->decl_line ||
            (only_path && strcmp(path, only_path) != 0)) {
            continue;
        }
        SourceFile *f = source(files, in->decl_file);
        Fn *fn = NULL;
        for (guint k = 0; k < f->fns->len && !fn; k++) {
            fn = strcmp(g_array_index(f->fns, Fn, k).name, in->function) == 0
                     ? &g_array_index(f->fns, Fn, k)
                     : NULL;
        }
        if (!fn) {
            Fn added = {g_strdup(in->function), in->decl_line, 0};
            g_array_append_val(f->fns, added);
            g_hash_table_add(f->fn_seen, g_strdup(in->function));
            fn = &g_array_index(f->fns, Fn, f->fns->len - 1);
        }
        fn->count += g->entries;
        add_line(files, in->decl_file, in->decl_line, g->entries);
    }
}

/* Lines with code, and functions, of the compile units of module m that ran (or all). */
static void walk_line_tables(CflowExport *x, uint32_t m, GHashTable *files)
{
    const CflowExportModule *mod = &g_array_index(x->modules, CflowExportModule, m);
    uint64_t bias;
    Dwfl_Module *dm = cflow_srcline_module(x->s, mod->path, &bias);
    if (!dm) {
        return;
    }
    g_autoptr(GArray) ran = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = 0; i < x->p->insns->len; i++) {
        if (x->module_of[i] == m && x->st[i].execs) {
            g_array_append_val(ran, x->vaddr[i]);
        }
    }
    g_array_sort(ran, cmp_u64);
    Dwarf_Die *cu = NULL;
    Dwarf_Addr cubias;
    while ((cu = dwfl_module_nextcu(dm, cu, &cubias))) {
        Dwarf_Lines *lines;
        size_t n;
        if (dwarf_getsrclines(cu, &lines, &n) != 0) {
            continue;
        }
        bool include = x->all_cus;
        for (size_t i = 0; i + 1 < n && !include; i++) {
            Dwarf_Line *l = dwarf_onesrcline(lines, i), *next = dwarf_onesrcline(lines, i + 1);
            bool end;
            Dwarf_Addr a, b;
            if (dwarf_lineendsequence(l, &end) == 0 && !end && dwarf_lineaddr(l, &a) == 0 &&
                dwarf_lineaddr(next, &b) == 0 && b > a) {
                include = any_in(ran, a + cubias - bias, b + cubias - bias);
            }
        }
        if (!include) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            Dwarf_Line *l = dwarf_onesrcline(lines, i);
            bool end;
            int lineno;
            const char *file = dwarf_linesrc(l, NULL, NULL);
            if (dwarf_lineendsequence(l, &end) == 0 && !end && dwarf_lineno(l, &lineno) == 0 &&
                lineno > 0 && file) {
                add_line(files, file, (unsigned)lineno, 0);
                Dwarf_Addr a, b;
                if (i + 1 < n && dwarf_lineaddr(l, &a) == 0 &&
                    dwarf_lineaddr(dwarf_onesrcline(lines, i + 1), &b) == 0 && a == b) {
                    uint64_t *c = line_count(source(files, file)->starts, (unsigned)lineno);
                    *c = MAX(*c, cflow_export_execs_at(x, m, a + cubias - bias));
                }
            }
        }
        UnitFunctions u = {x, m, files, cubias, bias};
        cflow_dwarf_each_subprogram(cu, function, &u);
    }
}

static int cmp_uint_ptr(const void *a, const void *b)
{
    unsigned x = GPOINTER_TO_UINT(*(gpointer const *)a), y = GPOINTER_TO_UINT(*(gpointer const *)b);
    return (x > y) - (x < y);
}

static int cmp_branch(const void *a, const void *b)
{
    const Branch *x = a, *y = b;
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return (x->addr > y->addr) - (x->addr < y->addr);
}

static int cmp_fn(const void *a, const void *b)
{
    const Fn *x = a, *y = b;
    return x->line != y->line ? (x->line < y->line ? -1 : 1) : strcmp(x->name, y->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_uint_ptr(const void *a, const void *b);

/* "case X:" or "default:" at the start of a source line (C, C++). */
static bool is_case_label(const char *text)
{
    while (*text == ' ' || *text == '\t') {
        text++;
    }
    const char *rest = NULL;
    if (g_str_has_prefix(text, "case") && (text[4] == ' ' || text[4] == '\t' || text[4] == '(' ||
                                           text[4] == '\'')) {
        rest = text + 4;
    } else if (g_str_has_prefix(text, "default")) {
        rest = text + 7;
        while (*rest == ' ' || *rest == '\t') {
            rest++;
        }
        return *rest == ':';
    }
    return rest && strchr(rest, ':');
}

/*
 * Case labels have no code of their own in the line table (the code a label leads to is on
 * the next line), but gcov reports them with the count of the code they lead to; so does this.
 */
static void add_case_labels(CflowExport *x, const char *path, SourceFile *f)
{
    const unsigned window = 8; /* a label is at most this many lines before its code */
    g_autoptr(GPtrArray) lines = cflow_export_keys(f->lines);
    g_ptr_array_sort(lines, cmp_uint_ptr);
    for (guint i = 0; i < lines->len; i++) {
        unsigned code = GPOINTER_TO_UINT(g_ptr_array_index(lines, i));
        unsigned prev = i ? GPOINTER_TO_UINT(g_ptr_array_index(lines, i - 1)) : 0;
        uint64_t count = *(uint64_t *)g_hash_table_lookup(f->lines, GUINT_TO_POINTER(code));
        for (unsigned l = code - 1; l > prev && l + window >= code; l--) {
            const char *text = cflow_srcline_text(x->s, path, l);
            if (!text || !is_case_label(text)) {
                break;
            }
            uint64_t *c = g_new(uint64_t, 1);
            *c = count;
            g_hash_table_insert(f->lines, GUINT_TO_POINTER(l), c);
        }
    }
}

static void print_file(FILE *out, const char *test, const char *path, SourceFile *f)
{
    fprintf(out, "TN:%s\nSF:%s\n", test, path);
    g_array_sort(f->fns, cmp_fn);
    unsigned fnh = 0;
    for (guint i = 0; i < f->fns->len; i++) {
        const Fn *fn = &g_array_index(f->fns, Fn, i);
        fprintf(out, "FN:%u,%s\n", fn->line, fn->name);
    }
    for (guint i = 0; i < f->fns->len; i++) {
        const Fn *fn = &g_array_index(f->fns, Fn, i);
        fprintf(out, "FNDA:%" PRIu64 ",%s\n", fn->count, fn->name);
        fnh += fn->count > 0;
    }
    fprintf(out, "FNF:%u\nFNH:%u\n", f->fns->len, fnh);
    g_array_sort(f->branches, cmp_branch);
    unsigned brh = 0, block = 0;
    for (guint i = 0; i < f->branches->len; i++) {
        const Branch *b = &g_array_index(f->branches, Branch, i);
        block = i && g_array_index(f->branches, Branch, i - 1).line == b->line ? block + 1 : 0;
        if (!b->execs) {
            fprintf(out, "BRDA:%u,%u,0,-\nBRDA:%u,%u,1,-\n", b->line, block, b->line, block);
            continue;
        }
        fprintf(out, "BRDA:%u,%u,0,%" PRIu64 "\nBRDA:%u,%u,1,%" PRIu64 "\n", b->line, block,
                b->taken, b->line, block, b->not_taken);
        brh += (b->taken > 0) + (b->not_taken > 0);
    }
    fprintf(out, "BRF:%u\nBRH:%u\n", f->branches->len * 2, brh);
    g_autoptr(GPtrArray) lines = cflow_export_keys(f->lines);
    g_ptr_array_sort(lines, cmp_uint_ptr);
    unsigned lh = 0;
    for (guint i = 0; i < lines->len; i++) {
        unsigned line = GPOINTER_TO_UINT(g_ptr_array_index(lines, i));
        uint64_t count = *(uint64_t *)g_hash_table_lookup(f->lines, GUINT_TO_POINTER(line));
        fprintf(out, "DA:%u,%" PRIu64 "\n", line, count);
        lh += count > 0;
    }
    fprintf(out, "LF:%u\nLH:%u\nend_of_record\n", lines->len, lh);
}

/* Per basic block: the returns into it from a call on the line its first instruction is on. */
static uint64_t *returns_within_a_line(CflowExport *x, CflowCfg *g)
{
    cflow_cfg_add_call_returns(g, x->p);
    uint64_t *resumed = g_new0(uint64_t, g->blocks->len ? g->blocks->len : 1);
    for (guint i = 0; i < g->edges->len; i++) {
        const CflowCfgEdge *e = &g_array_index(g->edges, CflowCfgEdge, i);
        if (!e->call_return) {
            continue;
        }
        const CflowBasicBlock *from = &g_array_index(g->blocks, CflowBasicBlock, e->from);
        const CflowBasicBlock *to = &g_array_index(g->blocks, CflowBasicBlock, e->to);
        const CflowLoc *call = cflow_srcline_insn(
            x->s, g_array_index(g->order, uint32_t, from->first + from->n - 1));
        const CflowLoc *back = cflow_srcline_insn(x->s, g_array_index(g->order, uint32_t,
                                                                      to->first));
        if (call->line && call->file == back->file && call->line == back->line) {
            resumed[e->to] += e->count;
        }
    }
    return resumed;
}

static bool write_lcov(CflowExport *x, FILE *out, GError **error)
{
    const CflowProfile *p = x->p;
    uint32_t only = CFLOW_NO_MODULE;
    if (x->binary && (only = cflow_export_select(x, error)) == CFLOW_NO_MODULE) {
        return false;
    }
    g_autoptr(GHashTable) files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                        source_free);
    /* executed lines: entries into a stretch of one line within a real basic block */
    g_autoptr(CflowCfg) g = cflow_cfg_build(p, x->st, NULL);
    g_autofree uint64_t *resumed = returns_within_a_line(x, g);
    for (guint b = 0; b < g->blocks->len; b++) {
        const CflowBasicBlock *bb = &g_array_index(g->blocks, CflowBasicBlock, b);
        const CflowLoc *prev = NULL;
        for (uint32_t k = 0; k < bb->n; k++) {
            uint32_t i = g_array_index(g->order, uint32_t, bb->first + k);
            const CflowLoc *loc = cflow_srcline_insn(x->s, i);
            bool wanted = x->module_of[i] != CFLOW_NO_MODULE &&
                          (only == CFLOW_NO_MODULE || x->module_of[i] == only);
            if (wanted && loc->file && loc->line &&
                (!prev || prev->file != loc->file || prev->line != loc->line)) {
                uint64_t back = k ? 0 : MIN(resumed[b], x->st[i].execs);
                add_line(files, loc->file, loc->line, x->st[i].execs - back);
            }
            prev = loc;
            if (wanted && loc->file && loc->line &&
                cflow_export_classify(x, i) == CFLOW_INSN_COND) {
                Branch br = {loc->line, cflow_profile_insn(p, i)->addr, x->st[i].execs,
                             x->st[i].out[CFLOW_EDGE_BRANCH], x->st[i].out[CFLOW_EDGE_FALLTHROUGH]};
                g_array_append_val(source(files, loc->file)->branches, br);
            }
        }
    }
    for (guint m = 0; m < x->modules->len; m++) {
        if (only == CFLOW_NO_MODULE ? g_array_index(x->modules, CflowExportModule, m).executed > 0
                                    : m == only) {
            walk_line_tables(x, m, files);
        }
    }
    inlined_functions(x, only, files);
    g_autoptr(GPtrArray) paths = cflow_export_keys(files);
    g_ptr_array_sort(paths, cmp_str);
    unsigned missing = 0;
    const char *first_missing = NULL;
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index(paths, i);
        SourceFile *f = g_hash_table_lookup(files, path);
        if (!g_hash_table_size(f->lines)) {
            continue;
        }
        if (!x->all_sources && !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            missing++;
            first_missing = first_missing ? first_missing : path;
            continue;
        }
        credit_empty_rows(f);
        add_case_labels(x, path, f);
        print_file(out, x->test_name, path, f);
    }
    if (missing) {
        fprintf(stderr, "cflow export: lcov: left out %u source files that cannot be read here "
                        "(genhtml needs them; --all-sources keeps them), e.g. %s\n",
                missing, first_missing);
    }
    return cflow_export_written(out, error);
}

const CflowExportFormat cflow_export_lcov = {"lcov", "lcov tracefile (genhtml)", false,
                                             write_lcov, NULL};
