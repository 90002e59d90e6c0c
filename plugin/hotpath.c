/* hotpath.c: fast-mode instrumentation, the helper it calls, adaptation (see hotpath.h). */
#include "hotpath.h"

#include "disas.h"

#include <stddef.h>
#include <string.h>

/* Per-block counters come in scoreboards of this many u64 slots, created as blocks appear. */
#define SLOTS_PER_CHUNK 8192
#define ENTRIES_SLOT(b) ((b)->slot) /* inline: every entry of the block */
#define MAX_ADAPTATIONS 12

static qemu_plugin_id_t plugin_id;
static struct qemu_plugin_scoreboard *cursors;
static GPtrArray *chunks; /* struct qemu_plugin_scoreboard *, SLOTS_PER_CHUNK u64 each */
static VcpuState *vcpus[CFLOW_MAX_VCPUS];
static unsigned int vcpu_limit;

static uint64_t adapt_after;
static unsigned int adaptations;   /* completed */
static int adapt_in_flight;        /* a reset was requested and has not completed */
static void (*reregister_callbacks)(void);
static GHashTable *dominant;       /* block start -> most frequent predecessor id */
static GHashTable *hot_starts;     /* starts of blocks entered often enough to go lean */
static uint64_t translated_blocks; /* translations instrumented so far */
static uint64_t skipped_stores;    /* id stores left out of lean blocks (translation time) */
static EdgeTable previous_seen;    /* cumulative counts at the previous re-plan */

static qemu_plugin_u64 cursor_field(size_t offset)
{
    return (qemu_plugin_u64){.score = cursors, .offset = offset};
}

static qemu_plugin_u64 slot_entry(uint32_t slot)
{
    return (qemu_plugin_u64){.score = g_ptr_array_index(chunks, slot / SLOTS_PER_CHUNK),
                             .offset = (slot % SLOTS_PER_CHUNK) * sizeof(uint64_t)};
}

void hotpath_init(qemu_plugin_id_t id, uint64_t after, void (*reregister)(void))
{
    plugin_id = id;
    adapt_after = after;
    reregister_callbacks = reregister;
    cursors = qemu_plugin_scoreboard_new(sizeof(Cursor));
    chunks = g_ptr_array_new();
    dominant = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    hot_starts = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    edge_table_init(&previous_seen, 2);
}

static inline Cursor *cursor_of(unsigned int cpu)
{
    return qemu_plugin_scoreboard_find(cursors, cpu);
}

static void on_reset_done(qemu_plugin_id_t id);

/* Rare: ask QEMU to stop the vCPUs, flush, and let us re-plan (see hotpath.h). */
static void request_adaptation(void)
{
    int expected = 0;
    if (__atomic_compare_exchange_n(&adapt_in_flight, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        qemu_plugin_reset(plugin_id, on_reset_done);
    }
}

/*
 * Rare (a few times per run): is re-planning worth it now? Each re-plan retranslates every
 * block, so it waits until the helper calls outnumber the blocks translated so far by a
 * payback factor (adapt_after / 4096: 256 by default): a program still busy translating (a
 * start-up) is left alone. Small adapt_after values (the tests) re-plan right away.
 */
static void consider_adaptation(VcpuState *v)
{
    uint64_t blocks = __atomic_load_n(&translated_blocks, __ATOMIC_RELAXED);
    if (adaptations >= MAX_ADAPTATIONS) {
        v->next_adapt_check = 0;
        return;
    }
    v->next_adapt_check = v->helper_calls * 2;
    if (v->helper_calls >= blocks * (adapt_after / 4096)) {
        request_adaptation();
    }
}

/* The helper: block b was entered and the last instruction started was not b->expected. */
static void on_unexpected_entry(unsigned int cpu, void *udata)
{
    const BlockRec *b = udata;
    VcpuState *v = vcpus[cpu];
    Cursor *c = v->cursor;
    uint64_t key;
    if (c->pending) {
        key = c->pending;
        c->pending = 0;
    } else if (c->last_id == 0) {
        key = HOT_KEY(HOT_ENTRY, 0);
    } else if (!(c->last_id & LAST_FLAG)) {
        key = HOT_KEY(HOT_EARLY, c->last_id);
    } else {
        key = HOT_KEY(HOT_NORMAL, c->last_id & ~LAST_FLAG);
    }
    /* keyed by the block record, not its address: the count doubles as its helper-call count */
    edge_table_add(&v->edges, key, b->slot, 1);
    if (++v->helper_calls == v->next_adapt_check) {
        consider_adaptation(v);
    }
}

/*
 * The first guess, before any re-plan: the instruction that is about to enter the block. A
 * block is translated right when a vCPU is about to run it, so that vCPU's cursor names the
 * predecessor of the very first entry: the branch to a branch target, the return to a return
 * site. With one vCPU we know whose cursor that is; otherwise, and when that instruction did
 * not complete its block, fall back to the instruction that falls through into the block.
 */
uint64_t hotpath_expected_pred(uint64_t start)
{
    gpointer id;
    if (g_hash_table_lookup_extended(dominant, &start, NULL, &id)) {
        return GPOINTER_TO_SIZE(id);
    }
    if (vcpu_limit == 1 && vcpus[0] && qemu_plugin_num_vcpus() == 1) {
        uint64_t last = vcpus[0]->cursor->last_id;
        if (last & LAST_FLAG) {
            return last & ~LAST_FLAG;
        }
    }
    return registry_fallthrough_owner_of(start);
}

void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b)
{
    while (chunks->len * SLOTS_PER_CHUNK <= ENTRIES_SLOT(b)) {
        g_ptr_array_add(chunks, qemu_plugin_scoreboard_new(SLOTS_PER_CHUNK * sizeof(uint64_t)));
    }
    registry_fallthrough_owner(b->end, b->last_id);
    __atomic_add_fetch(&translated_blocks, 1, __ATOMIC_RELAXED);

    /* TB-level operations run before the first instruction's: check the cursor, count. */
    /* An expected entry comes from E(B) having completed its own block: flagged. */
    uint64_t expected = b->expected ? b->expected | LAST_FLAG : 0;
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, on_unexpected_entry, QEMU_PLUGIN_CB_NO_REGS,
                                              QEMU_PLUGIN_COND_NE,
                                              cursor_field(offsetof(Cursor, last_id)),
                                              expected, b);
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                                      slot_entry(ENTRIES_SLOT(b)), 1);
    /*
     * Lean blocks (hot ones, once adaptation has found them) skip the id store of middle
     * instructions that cannot leave the block (disas.h): an early exit can only happen at a
     * stored one, so it is still attributed exactly. The first instruction is always stored:
     * it marks "inside this block, not yet complete".
     */
    bool lean = disas_can_classify() && g_hash_table_contains(hot_starts, &b->start);
    for (uint32_t i = 0; i < b->n_insns; i++) {
        if (lean && i > 0 && i + 1 < b->n_insns && !registry_insn_may_leave(b->ids[i])) {
            skipped_stores++;
            continue;
        }
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
            qemu_plugin_tb_get_insn(tb, i), QEMU_PLUGIN_INLINE_STORE_U64,
            cursor_field(offsetof(Cursor, last_id)),
            i + 1 == b->n_insns ? b->ids[i] | LAST_FLAG : b->ids[i]);
    }
}

void hotpath_vcpu_init(unsigned int cpu)
{
    if (cpu >= CFLOW_MAX_VCPUS) {
        g_error("cflow: vCPU index %u: at most %d vCPUs are supported", cpu, CFLOW_MAX_VCPUS);
    }
    if (!vcpus[cpu]) {
        VcpuState *v = g_new0(VcpuState, 1);
        edge_table_init(&v->edges, 1u << 14);
        v->next_adapt_check = adapt_after;
        __atomic_store_n(&vcpus[cpu], v, __ATOMIC_RELEASE);
    }
    if (cpu + 1 > vcpu_limit) {
        vcpu_limit = cpu + 1;
    }
    /* Any scoreboard growth for this vCPU happened before this callback. */
    vcpus[cpu]->cursor = cursor_of(cpu);
    /* A vCPU index can be reused by a new thread: it starts with no predecessor. */
    Cursor *c = vcpus[cpu]->cursor;
    c->last_id = 0;
    c->pending = 0;
}

void hotpath_flush(void)
{
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        if (vcpus[i]) {
            vcpus[i]->cursor = cursor_of(i);
        }
    }
}

void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t to_pc)
{
    Cursor *c = cursor_of(cpu);
    if (c->pending) {
        /*
         * Two discontinuities with no block in between (an interrupt taken on the way into a
         * handler): the first one's destination never ran. Keep the first edge's source and
         * kind; the second transfer has no executed source of its own.
         */
        return;
    }
    /* The source is the last instruction started: the faulting one for exceptions. */
    c->pending = HOT_KEY(hot_kind_of_discon(type), c->last_id & ~LAST_FLAG);
    c->pending_to = to_pc;
    c->last_id = LAST_ID_DISCON;
}

void hotpath_housekeeping(unsigned int cpu)
{
    if (cpu < CFLOW_MAX_VCPUS && vcpus[cpu]) {
        edge_table_refill_spare(&vcpus[cpu]->edges);
    }
}

void hotpath_reset_counts(void)
{
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        if (vcpus[i]) {
            edge_table_clear(&vcpus[i]->edges);
        }
    }
    for (guint ch = 0; ch < chunks->len; ch++) {
        for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
            uint64_t *slots = qemu_plugin_scoreboard_find(g_ptr_array_index(chunks, ch), cpu);
            memset(slots, 0, SLOTS_PER_CHUNK * sizeof(uint64_t));
        }
    }
}

VcpuState *hotpath_vcpu(unsigned int cpu)
{
    return cpu < CFLOW_MAX_VCPUS ? __atomic_load_n(&vcpus[cpu], __ATOMIC_ACQUIRE) : NULL;
}

unsigned int hotpath_vcpu_limit(void)
{
    return vcpu_limit;
}

static uint64_t slot_sum(uint32_t slot)
{
    return slot < chunks->len * SLOTS_PER_CHUNK ? qemu_plugin_u64_sum(slot_entry(slot)) : 0;
}

uint64_t hotpath_block_entries(const BlockRec *b)
{
    return slot_sum(ENTRIES_SLOT(b));
}

uint64_t hotpath_skipped_stores(void)
{
    return skipped_stores;
}

unsigned int hotpath_adaptations(void)
{
    return adaptations;
}

void hotpath_merge_all(EdgeTable *into, HotpathTotals *totals)
{
    *totals = (HotpathTotals){0};
    uint64_t *helper_calls = g_new0(uint64_t, registry_block_count());
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = hotpath_vcpu(cpu);
        if (!v) {
            continue;
        }
        EDGE_TABLE_FOREACH(&v->edges, s) {
            const BlockRec *b = registry_block_by_index((guint)s->k2);
            edge_table_add(into, s->k1, b->start, s->count);
            helper_calls[s->k2] += s->count;
        }
        /* A discontinuity that no block followed (the guest exited through it) */
        const Cursor *c = cursor_of(cpu);
        if (c->pending) {
            edge_table_add(into, c->pending, c->pending_to, 1);
        }
    }
    /* every entry the helper did not see came from the expected predecessor (hotpath.h) */
    for (guint i = 0; i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        uint64_t entries = hotpath_block_entries(b), helped = helper_calls[i];
        totals->entries += entries;
        totals->helper_calls += helped;
        if (helped > entries) {
            totals->inconsistent += helped - entries;
        } else if (entries > helped) {
            edge_table_add(into, HOT_KEY(b->expected ? HOT_NORMAL : HOT_ENTRY, b->expected),
                           b->start, entries - helped);
        }
    }
    g_free(helper_calls);
}

/*
 * QEMU calls this with every vCPU stopped and all translations flushed: mark the hot blocks,
 * pick each block's most frequent recent predecessor (from the same merge the exit uses), then
 * register the callbacks again so blocks are retranslated with them.
 */
static void on_reset_done(qemu_plugin_id_t id)
{
    EdgeTable seen;
    edge_table_init(&seen, 1u << 14);
    HotpathTotals totals;
    registry_lock();
    hotpath_merge_all(&seen, &totals);
    uint64_t hot_min = MAX(adapt_after / 1024, 1);
    for (guint i = 0; i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        if (hotpath_block_entries(b) >= hot_min && !g_hash_table_contains(hot_starts, &b->start)) {
            g_hash_table_add(hot_starts, g_memdup2(&b->start, sizeof(b->start)));
        }
    }
    registry_unlock();
    /*
     * Choose by what happened since the previous re-plan, not since the start: programs
     * change phase (bzip2 sorts, then codes), and the recent phase is the one that goes on.
     * A block not entered since keeps the predecessor it had.
     */
    GHashTable *best = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    EDGE_TABLE_FOREACH(&seen, s) {
        if ((s->k1 >> HOT_KIND_SHIFT) != HOT_NORMAL) {
            continue;
        }
        uint64_t recent = s->count - edge_table_get(&previous_seen, s->k1, s->k2);
        if (recent == 0) {
            continue;
        }
        uint64_t *cur = g_hash_table_lookup(best, &s->k2);
        if (!cur) {
            cur = g_new0(uint64_t, 3); /* start, best id, best recent count */
            cur[0] = s->k2;
            g_hash_table_insert(best, &cur[0], cur);
        }
        if (recent > cur[2]) {
            cur[1] = s->k1 & HOT_ID_MASK;
            cur[2] = recent;
        }
    }
    registry_lock();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, best);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        uint64_t *cur = v;
        g_hash_table_replace(dominant, g_memdup2(&cur[0], sizeof(uint64_t)),
                             GSIZE_TO_POINTER(cur[1]));
    }
    registry_unlock();
    g_hash_table_destroy(best);
    edge_table_destroy(&previous_seen);
    previous_seen = seen; /* the baseline for the next re-plan's "recent" counts */
    adaptations++;
    reregister_callbacks();
    __atomic_store_n(&adapt_in_flight, 0, __ATOMIC_RELEASE);
}
