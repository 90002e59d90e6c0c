/* collect.c: per-vCPU tables + registry -> one CflowProfile (see collect.h). */
#include "collect.h"

#include <inttypes.h>

#include "disas.h"
#include "edge_table.h"
#include "hotpath.h"
#include "reference.h"
#include "registry.h"

static void add_reference_edge(uint64_t from_id, int hot_kind, uint64_t to, uint64_t count,
                               void *opaque)
{
    edge_table_add(opaque, HOT_KEY(hot_kind, from_id), to, count);
}

/* Fast mode: everything counted, plus how the inline path carried it (the benchmark reports it). */
static void add_fast_edges(EdgeTable *merged, CflowProfile *p)
{
    HotpathTotals t;
    hotpath_merge_all(merged, &t);
    cflow_profile_set_meta_u64(p, "block_entries", t.entries);
    cflow_profile_set_meta_u64(p, "helper_calls", t.helper_calls);
    /* Must be 0; the tests check, and the profile would say so if ever it were not. */
    if (t.inconsistent) {
        cflow_profile_set_meta_u64(p, "inconsistent_entries", t.inconsistent);
    }
}

static uint64_t block_count(CflowMode mode, const BlockRec *b)
{
    return mode == MODE_FAST ? hotpath_block_entries(b) : reference_block_count(b);
}

/* Sort keys copied out of the records: the sort then touches one array, not the registry. */
typedef struct {
    uint64_t addr;
    uint64_t generation;
    uint64_t id;
} InsnKey;

static int cmp_insn_key(gconstpointer a, gconstpointer b)
{
    const InsnKey *x = a, *y = b;
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
        if (to == from->addr + from->size) {
            return CFLOW_EDGE_FALLTHROUGH;
        }
        /* control left an instruction that cannot transfer it: that instruction faulted */
        if (to != from->addr && !disas_may_transfer(from->addr, from->bytes, from->size)) {
            return CFLOW_EDGE_EARLY_EXIT;
        }
        return CFLOW_EDGE_BRANCH;
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
            if (v) {
                hot_allocs += v->edges.hot_allocs;
            }
        }
        cflow_profile_set_meta_u64(p, "hotpath_allocations", hot_allocs);
        cflow_profile_set_meta_u64(p, "adaptations", hotpath_adaptations());
        cflow_profile_set_meta_u64(p, "lean_stores_skipped", hotpath_skipped_stores());
        add_fast_edges(&merged, p);
    } else {
        reference_foreach_edge(add_reference_edge, &merged);
    }

    /* Which instructions go in: every edge source and every instruction of an entered block. */
    uint64_t n_ids = registry_insn_count();
    uint32_t *index_of = g_new0(uint32_t, n_ids + 1); /* id -> profile index + 1 */
    GArray *wanted = g_array_new(FALSE, FALSE, sizeof(InsnKey));
#define WANT(want_id)                                                              \
    do {                                                                           \
        uint64_t id_ = (want_id);                                                     \
        if (id_ && !index_of[id_]) {                                               \
            const InsnRec *r_ = registry_insn_by_id(id_);                          \
            InsnKey k_ = {.addr = r_->addr, .generation = r_->generation, .id = id_}; \
            index_of[id_] = 1;                                                     \
            g_array_append_val(wanted, k_);                                        \
        }                                                                          \
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
    g_array_sort(wanted, cmp_insn_key);
    for (guint i = 0; i < wanted->len; i++) {
        uint64_t id = g_array_index(wanted, InsnKey, i).id;
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
    /* Blocks with the same instructions are one block of the profile, whatever they expected. */
    GHashTable *by_content = g_hash_table_new(registry_block_content_hash,
                                              registry_block_content_equal); /* -> index + 1 */
    for (guint i = 0; i < registry_block_count(); i++) {
        uint64_t n = g_array_index(counts, uint64_t, i);
        if (!n) {
            continue;
        }
        BlockRec *b = registry_block_by_index(i);
        guint known = GPOINTER_TO_UINT(g_hash_table_lookup(by_content, b));
        if (known) {
            cflow_profile_block(p, known - 1)->count += n;
            continue;
        }
        uint32_t *idx = g_new(uint32_t, b->n_insns);
        for (uint32_t j = 0; j < b->n_insns; j++) {
            idx[j] = index_of[b->ids[j]] - 1;
        }
        cflow_profile_add_block(p, b->start, n, idx, b->n_insns);
        g_hash_table_insert(by_content, b, GUINT_TO_POINTER(p->blocks->len));
        g_free(idx);
    }
    g_hash_table_destroy(by_content);
    registry_unlock();

    cflow_profile_set_meta_u64(p, "thread_entries", thread_entries);
    if (sourceless) {
        cflow_profile_set_meta_u64(p, "sourceless_discontinuities", sourceless);
    }
    g_array_free(counts, TRUE);
    g_array_free(wanted, TRUE);
    g_free(index_of);
    edge_table_destroy(&merged);
    return p;
}
