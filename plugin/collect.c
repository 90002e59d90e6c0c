/* collect.c: per-vCPU tables + registry -> one CflowProfile (see collect.h). */
#include "collect.h"

#include <inttypes.h>

#include "edge_table.h"
#include "hotpath.h"
#include "reference.h"
#include "registry.h"

static void add_reference_edge(uint64_t from_id, int hot_kind, uint64_t to, uint64_t count,
                               void *opaque)
{
    edge_table_add(opaque, HOT_KEY(hot_kind, from_id), to, count);
}

static uint64_t block_count(CflowMode mode, const BlockRec *b)
{
    return mode == MODE_FAST ? hotpath_block_count(b) : reference_block_count(b);
}

/*
 * Fast mode records only the entries that did not come from a block's fall-through owner.
 * Every other entry did, so per address: owner fall-throughs = entries - recorded entries.
 */
static void add_implicit_fallthroughs(EdgeTable *merged, CflowProfile *p)
{
    GHashTable *recorded = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    EDGE_TABLE_FOREACH(merged, s) {
        uint64_t *n = g_hash_table_lookup(recorded, &s->k2);
        if (!n) {
            n = g_new0(uint64_t, 1);
            g_hash_table_insert(recorded, g_memdup2(&s->k2, sizeof(s->k2)), n);
        }
        *n += s->count;
    }
    GHashTable *entered = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    for (guint i = 0; i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        uint64_t *n = g_hash_table_lookup(entered, &b->start);
        if (!n) {
            n = g_new0(uint64_t, 1);
            g_hash_table_insert(entered, &b->start, n);
        }
        *n += hotpath_block_count(b);
    }
    uint64_t unattributed = 0, inconsistent = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, entered);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        uint64_t addr = *(uint64_t *)k, total = *(uint64_t *)v;
        uint64_t *rec = g_hash_table_lookup(recorded, &addr);
        uint64_t seen = rec ? *rec : 0;
        if (seen > total) {
            inconsistent += seen - total;
            continue;
        }
        if (total == seen) {
            continue;
        }
        uint64_t owner = registry_fallthrough_owner_of(addr);
        if (owner) {
            edge_table_add(merged, HOT_KEY(HOT_NORMAL, owner), addr, total - seen);
        } else {
            unattributed += total - seen;
        }
    }
    /* Both must be 0; the tests check, and the profile says so if ever they are not. */
    if (unattributed || inconsistent) {
        g_autofree char *u = g_strdup_printf("%" PRIu64, unattributed);
        g_autofree char *c = g_strdup_printf("%" PRIu64, inconsistent);
        cflow_profile_set_meta(p, "unattributed_entries", u);
        cflow_profile_set_meta(p, "inconsistent_entries", c);
    }
    g_hash_table_destroy(recorded);
    g_hash_table_destroy(entered);
}

static int cmp_id_by_addr(gconstpointer a, gconstpointer b)
{
    const InsnRec *x = registry_insn_by_id(*(const uint64_t *)a);
    const InsnRec *y = registry_insn_by_id(*(const uint64_t *)b);
    if (x->addr != y->addr) {
        return x->addr < y->addr ? -1 : 1;
    }
    return x->generation < y->generation ? -1 : x->generation > y->generation;
}

static gint cmp_edge(gconstpointer a, gconstpointer b)
{
    const CflowEdge *x = a, *y = b;
    if (x->from != y->from) {
        return x->from < y->from ? -1 : 1;
    }
    if (x->to != y->to) {
        return x->to < y->to ? -1 : 1;
    }
    return (int)x->kind - (int)y->kind;
}

static CflowEdgeKind public_kind(int hot_kind, const InsnRec *from, uint64_t to)
{
    switch (hot_kind) {
    case HOT_EARLY:
        return CFLOW_EDGE_EARLY_EXIT;
    case HOT_EXCEPTION:
        return CFLOW_EDGE_EXCEPTION;
    case HOT_INTERRUPT:
        return CFLOW_EDGE_INTERRUPT;
    case HOT_HOSTCALL:
        return CFLOW_EDGE_HOSTCALL;
    default:
        return to == from->addr + from->size ? CFLOW_EDGE_FALLTHROUGH : CFLOW_EDGE_BRANCH;
    }
}

CflowProfile *collect_profile(CflowMode mode)
{
    CflowProfile *p = cflow_profile_new();
    EdgeTable merged;
    edge_table_init(&merged, 1u << 12);
    registry_lock();
    if (mode == MODE_FAST) {
        uint64_t hot_allocs = 0;
        for (unsigned int cpu = 0; cpu < hotpath_vcpu_limit(); cpu++) {
            VcpuState *v = hotpath_vcpu(cpu);
            if (!v) {
                continue;
            }
            EDGE_TABLE_FOREACH(&v->edges, s) {
                edge_table_add(&merged, s->k1, s->k2, s->count);
            }
            hot_allocs += v->edges.hot_allocs;
        }
        g_autofree char *h = g_strdup_printf("%" PRIu64, hot_allocs);
        cflow_profile_set_meta(p, "hotpath_allocations", h);
        add_implicit_fallthroughs(&merged, p);
    } else {
        reference_foreach_edge(add_reference_edge, &merged);
    }

    /* Which instructions go in: every edge source and every instruction of an entered block. */
    uint64_t n_ids = registry_insn_count();
    uint32_t *index_of = g_new0(uint32_t, n_ids + 1); /* id -> profile index + 1 */
    GArray *wanted = g_array_new(FALSE, FALSE, sizeof(uint64_t));
#define WANT(id)                                   \
    do {                                           \
        uint64_t id_ = (id);                       \
        if (id_ && !index_of[id_]) {               \
            index_of[id_] = 1;                     \
            g_array_append_val(wanted, id_);       \
        }                                          \
    } while (0)
    uint64_t thread_entries = 0, sourceless = 0;
    EDGE_TABLE_FOREACH(&merged, s) {
        WANT(s->k1 & HOT_ID_MASK);
    }
    GArray *counts = g_array_sized_new(FALSE, TRUE, sizeof(uint64_t), registry_block_count());
    for (guint i = 0; i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        uint64_t n = block_count(mode, b);
        g_array_append_val(counts, n);
        if (n) {
            for (uint32_t j = 0; j < b->n_insns; j++) {
                WANT(b->ids[j]);
            }
        }
    }
#undef WANT
    g_array_sort(wanted, cmp_id_by_addr);
    for (guint i = 0; i < wanted->len; i++) {
        uint64_t id = g_array_index(wanted, uint64_t, i);
        const InsnRec *r = registry_insn_by_id(id);
        index_of[id] = cflow_profile_add_insn(p, r->addr, r->size, r->generation,
                                              registry_insn_disas(id), r->symbol) + 1;
    }

    EDGE_TABLE_FOREACH(&merged, s) {
        int kind = (int)(s->k1 >> HOT_KIND_SHIFT);
        uint64_t id = s->k1 & HOT_ID_MASK;
        if (kind == HOT_ENTRY) {
            thread_entries += s->count;
            continue;
        }
        if (!id) {
            sourceless += s->count;
            continue;
        }
        cflow_profile_add_edge(p, index_of[id] - 1,
                               public_kind(kind, registry_insn_by_id(id), s->k2), s->k2,
                               s->count);
    }
    g_array_sort(p->edges, cmp_edge); /* stable output: by source address, then destination */
    for (guint i = 0; i < registry_block_count(); i++) {
        uint64_t n = g_array_index(counts, uint64_t, i);
        if (!n) {
            continue;
        }
        BlockRec *b = registry_block_by_index(i);
        uint32_t *idx = g_new(uint32_t, b->n_insns);
        for (uint32_t j = 0; j < b->n_insns; j++) {
            idx[j] = index_of[b->ids[j]] - 1;
        }
        cflow_profile_add_block(p, b->start, n, idx, b->n_insns);
        g_free(idx);
    }
    registry_unlock();

    g_autofree char *te = g_strdup_printf("%" PRIu64, thread_entries);
    cflow_profile_set_meta(p, "thread_entries", te);
    if (sourceless) {
        g_autofree char *sl = g_strdup_printf("%" PRIu64, sourceless);
        cflow_profile_set_meta(p, "sourceless_discontinuities", sl);
    }
    g_array_free(counts, TRUE);
    g_array_free(wanted, TRUE);
    g_free(index_of);
    edge_table_destroy(&merged);
    return p;
}
