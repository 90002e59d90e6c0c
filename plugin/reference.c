/* reference.c: mode=reference, the oracle (see reference.h). */
#include "reference.h"

#include <pthread.h>

#include "edge_kind.h" /* the HOT_* kind names, shared so results compare directly */
#include "sigframe.h"
#include "tsan.h"

typedef struct {
    uint64_t id;
    const BlockRec *block; /* non-NULL on a block's first instruction */
    gboolean last;         /* the block's last instruction */
} RefInsn;

typedef struct {
    uint64_t prev_id;
    gboolean prev_was_last;
    int pending_kind;
    uint64_t pending_from;
    uint64_t pending_to; /* recorded at exit if no block ever followed */
} RefVcpu;

typedef struct {
    uint64_t from_id;
    uint64_t to;
    int kind;
} RefEdge;

/* recursive: a snapshot holds it across the whole merge (reference_lock), which locks again */
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static GHashTable *edges;        /* RefEdge* -> uint64_t* count */
static GHashTable *block_counts; /* BlockRec* -> uint64_t* count */
static GHashTable *vcpus;        /* cpu index -> RefVcpu* */

static guint ref_edge_hash(gconstpointer p)
{
    const RefEdge *e = p;
    return g_int64_hash(&e->from_id) ^ (g_int64_hash(&e->to) * 31) ^ (guint)e->kind;
}

static gboolean ref_edge_equal(gconstpointer a, gconstpointer b)
{
    const RefEdge *x = a, *y = b;
    return x->from_id == y->from_id && x->to == y->to && x->kind == y->kind;
}

static void reference_init(const CflowModeSetup *setup)
{
    edges = g_hash_table_new_full(ref_edge_hash, ref_edge_equal, g_free, g_free);
    block_counts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    vcpus = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
}

static RefVcpu *vcpu_locked(unsigned int cpu)
{
    RefVcpu *v = g_hash_table_lookup(vcpus, GUINT_TO_POINTER(cpu));
    if (!v) {
        v = g_new0(RefVcpu, 1);
        g_hash_table_insert(vcpus, GUINT_TO_POINTER(cpu), v);
    }
    return v;
}

static void bump(GHashTable *table, gpointer key)
{
    uint64_t *count = g_hash_table_lookup(table, key);
    if (!count) {
        count = g_new0(uint64_t, 1);
        g_hash_table_insert(table, key, count);
    }
    (*count)++;
}

static void on_insn(unsigned int cpu, void *udata)
{
    const RefInsn *insn = udata;
    TSAN_RECEIVED(insn);
    if (insn->block) {
        TSAN_RECEIVED(insn->block);
    }
    pthread_mutex_lock(&lock);
    RefVcpu *v = vcpu_locked(cpu);
    if (insn->block) {
        RefEdge key = {.from_id = v->prev_id, .to = insn->block->start};
        if (v->pending_kind) {
            key.kind = v->pending_kind;
            key.from_id = v->pending_from;
            v->pending_kind = 0;
        } else if (v->prev_id == LAST_ID_FOREIGN) {
            key.kind = HOT_FOREIGN;
            key.from_id = 0;
        } else if (v->prev_id == 0) {
            key.kind = HOT_ENTRY;
        } else if (!v->prev_was_last) {
            key.kind = HOT_EARLY;
        } else if (insn->block->signal_entry &&
                   sigframe_fault_of(registry_insn_addr_unlocked(v->prev_id))) {
            key.kind = HOT_EARLY; /* a fault delivered to the handler (sigframe.h) */
        } else {
            key.kind = HOT_NORMAL;
        }
        if (!g_hash_table_contains(edges, &key)) {
            g_hash_table_insert(edges, g_memdup2(&key, sizeof(key)), g_new0(uint64_t, 1));
        }
        (*(uint64_t *)g_hash_table_lookup(edges, &key))++;
        bump(block_counts, (gpointer)insn->block);
    }
    v->prev_id = insn->id;
    v->prev_was_last = insn->last;
    pthread_mutex_unlock(&lock);
}

static void reference_instrument(struct qemu_plugin_tb *tb, BlockRec *b)
{
    for (uint32_t i = 0; i < b->n_insns; i++) {
        /* One record per translated instruction; freed never (translation-time data). */
        RefInsn *r = g_new0(RefInsn, 1);
        r->id = b->ids[i];
        r->block = i == 0 ? b : NULL;
        r->last = i == b->n_insns - 1;
        bool frame = i == 0 && b->signal_entry; /* reads the signal frame's registers */
        qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), on_insn,
                                               frame ? QEMU_PLUGIN_CB_R_REGS
                                                     : QEMU_PLUGIN_CB_NO_REGS, r);
        TSAN_PUBLISHED(r);
    }
}

static void reference_vcpu_init(unsigned int cpu)
{
    pthread_mutex_lock(&lock);
    RefVcpu *v = vcpu_locked(cpu);
    *v = (RefVcpu){0};
    pthread_mutex_unlock(&lock);
}

static void on_foreign_block(unsigned int cpu, void *udata)
{
    pthread_mutex_lock(&lock);
    vcpu_locked(cpu)->prev_id = LAST_ID_FOREIGN;
    pthread_mutex_unlock(&lock);
}

static void reference_instrument_foreign(struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_foreign_block, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void reference_discon(unsigned int cpu, enum qemu_plugin_discon_type type,
                             uint64_t from_pc, uint64_t to_pc)
{
    pthread_mutex_lock(&lock);
    RefVcpu *v = vcpu_locked(cpu);
    if (!v->pending_kind && v->prev_id != LAST_ID_FOREIGN) {
        v->pending_kind = hot_kind_of_discon(type);
        v->pending_from = v->prev_id;
        v->pending_to = to_pc;
    }
    pthread_mutex_unlock(&lock);
}

/* Held across fork (cflow.c), so a child never inherits it taken, and across a snapshot's
 * merge, so that every vCPU stands still (recursive). */
static void reference_lock(void)
{
    pthread_mutex_lock(&lock);
}

static void reference_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/* A recursive mutex remembers its owner's thread id, which a forked child's thread does not
 * have: the child starts from a fresh one instead of unlocking the inherited one. */
static void reference_unlock_in_child(void)
{
    lock = (pthread_mutex_t)PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
}

/* In a forked child: nothing the parent counted, nothing its other threads left pending. */
static void reference_reset_counts(void)
{
    pthread_mutex_lock(&lock);
    g_hash_table_remove_all(edges);
    g_hash_table_remove_all(block_counts);
    g_hash_table_remove_all(vcpus);
    pthread_mutex_unlock(&lock);
}

/*
 * Every recorded edge, and every block record's entries. Under the lock: other vCPUs may still
 * be inserting (an exec snapshot, system mode).
 */
static uint64_t *reference_collect(EdgeTable *into, CflowProfile *p, bool live)
{
    pthread_mutex_lock(&lock);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, edges);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const RefEdge *e = k;
        edge_table_add(into, HOT_KEY(e->kind, e->from_id), e->to, *(uint64_t *)v);
    }
    g_hash_table_iter_init(&it, vcpus);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const RefVcpu *r = v;
        if (r->pending_kind && !live) { /* live: the next block entry will carry it */
            edge_table_add(into, HOT_KEY(r->pending_kind, r->pending_from), r->pending_to, 1);
        }
    }
    guint n_blocks = registry_block_count();
    uint64_t *entries = g_new0(uint64_t, n_blocks);
    for (guint i = 0; i < n_blocks; i++) {
        uint64_t *count = g_hash_table_lookup(block_counts, registry_block_by_index(i));
        entries[i] = count ? *count : 0;
    }
    pthread_mutex_unlock(&lock);
    return entries;
}

const CflowModeOps reference_mode = {
    .name = "reference", .init = reference_init, .vcpu_init = reference_vcpu_init,
    .instrument = reference_instrument, .instrument_foreign = reference_instrument_foreign,
    .discon = reference_discon,
    .fork_lock = reference_lock, .fork_unlock = reference_unlock,
    .unlock_in_child = reference_unlock_in_child, .reset_counts = reference_reset_counts,
    /* the lock is recursive: the snapshot's merge (reference_collect) locks again */
    .freeze = reference_lock, .thaw = reference_unlock, .collect = reference_collect,
};
