/*
 * export-bolt.c: `cflow export bolt`: BOLT's pre-aggregated profile (llvm-bolt -pa -p FILE)
 * for one binary, in that binary's own ELF addresses.
 *
 *   B FROM TO COUNT MISPRED   a taken branch (jump, call, return), MISPRED always 0
 *   F START END COUNT         code run straight from START to END (END is the address of the
 *                             last instruction): once per executed translation block, and
 *                             once per fall-through edge (the not-taken side of a branch)
 *
 * Hex without 0x. BOLT turns a trace (F) into the fall-throughs between its basic blocks and a
 * branch (B) into a taken edge, an entry or an exit; with both it sees every edge cflow
 * counted. An address outside the binary is written as 0, which is in no function: BOLT then
 * counts the edge as an entry into (or an exit from) the binary's function.
 */
#include <inttypes.h>
#include <string.h>

#include "export.h"

typedef struct {
    char kind; /* 'B' or 'F' */
    uint64_t from, to;
} Key;

static guint key_hash(gconstpointer k)
{
    const Key *a = k;
    return (guint)(a->from * 0x9E3779B97F4A7C15ull ^ a->to * 0xC2B2AE3D27D4EB4Full ^ a->kind);
}

static gboolean key_equal(gconstpointer x, gconstpointer y)
{
    const Key *a = x, *b = y;
    return a->kind == b->kind && a->from == b->from && a->to == b->to;
}

static void add(GHashTable *records, char kind, uint64_t from, uint64_t to, uint64_t count)
{
    if (!count) {
        return;
    }
    Key k = {kind, from, to};
    uint64_t *v = g_hash_table_lookup(records, &k);
    if (!v) {
        v = g_new0(uint64_t, 1);
        g_hash_table_insert(records, g_memdup2(&k, sizeof k), v);
    }
    *v += count;
}

static int cmp_key(gconstpointer x, gconstpointer y)
{
    const Key *a = *(Key *const *)x, *b = *(Key *const *)y;
    if (a->kind != b->kind) {
        return a->kind < b->kind ? -1 : 1;
    }
    if (a->from != b->from) {
        return a->from < b->from ? -1 : 1;
    }
    return a->to < b->to ? -1 : a->to > b->to;
}

/* The link-time address of run-time address `addr` if it is in module m. */
static bool in_module(CflowExport *x, uint32_t m, uint64_t addr, uint64_t *vaddr)
{
    const char *path = cflow_srcline_locate(x->s, addr, vaddr);
    return path && strcmp(path, g_array_index(x->modules, CflowExportModule, m).path) == 0;
}

static bool write_bolt(CflowExport *x, FILE *out, GError **error)
{
    uint32_t m = cflow_export_select(x, error);
    if (m == CFLOW_NO_MODULE) {
        return false;
    }
    const CflowProfile *p = x->p;
    g_autoptr(GHashTable) records = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        bool from_in = x->module_of[e->from] == m;
        uint64_t to;
        bool to_in = in_module(x, m, e->to, &to);
        if (!from_in && !to_in) {
            continue;
        }
        uint64_t from = from_in ? x->vaddr[e->from] : 0;
        to = to_in ? to : 0;
        if (e->kind == CFLOW_EDGE_BRANCH) {
            add(records, 'B', from, to, e->count);
        } else if (e->kind == CFLOW_EDGE_FALLTHROUGH && from_in && to_in) {
            add(records, 'F', from, to, e->count);
        }
    }
    for (guint b = 0; b < p->blocks->len; b++) {
        const CflowBlock *blk = cflow_profile_block(p, b);
        uint32_t first, last;
        if (!cflow_export_block_ran(p, blk, &first, &last)) {
            continue;
        }
        if (x->module_of[first] == m && x->module_of[last] == m) {
            add(records, 'F', x->vaddr[first], x->vaddr[last], blk->count);
        }
    }
    g_autoptr(GPtrArray) keys = cflow_export_keys(records);
    g_ptr_array_sort(keys, cmp_key);
    for (guint i = 0; i < keys->len; i++) {
        const Key *k = g_ptr_array_index(keys, i);
        uint64_t count = *(uint64_t *)g_hash_table_lookup(records, k);
        if (k->kind == 'B') {
            fprintf(out, "B %" PRIx64 " %" PRIx64 " %" PRIu64 " 0\n", k->from, k->to, count);
        } else {
            fprintf(out, "F %" PRIx64 " %" PRIx64 " %" PRIu64 "\n", k->from, k->to, count);
        }
    }
    return cflow_export_written(out, error);
}

const CflowExportFormat cflow_export_bolt = {
    "bolt", "BOLT pre-aggregated profile (llvm-bolt -pa)", false, write_bolt, NULL};
