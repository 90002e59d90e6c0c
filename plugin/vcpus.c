/*
 * vcpus.c: fast mode's per-vCPU state (vcpu_state.h) from a vCPU's start to its exit: the
 * table that finds it, what a start on a reused index must forget, what an exit folds into
 * the process totals, the cursors refreshed after a flush, and the reset of a forked child.
 * None of it runs per executed block.
 */
#include "hotpath_internal.h"

#include "tsan.h"

VcpuState **vcpu_pages[VCPU_PAGES];
unsigned int vcpu_limit;
unsigned int live_vcpus;
pthread_mutex_t vcpus_lock = PTHREAD_MUTEX_INITIALIZER;
struct qemu_plugin_scoreboard *cursors;
VcpuState exited;
__thread VcpuState *self;
EdgeTable retired_edges;
uint64_t retired_hot_allocs;

void vcpus_init(void)
{
    cursors = qemu_plugin_scoreboard_new(sizeof(Cursor));
    edge_table_init_private(&retired_edges, 2); /* under vcpus_lock only */
}

/* Under vcpus_lock. */
static void set_vcpu(unsigned int cpu, VcpuState *v)
{
    VcpuState ***page = &vcpu_pages[cpu >> VCPU_PAGE_BITS];
    if (!*page) {
        __atomic_store_n(page, g_new0(VcpuState *, VCPU_PAGE_SIZE), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&(*page)[cpu & (VCPU_PAGE_SIZE - 1)], v, __ATOMIC_RELEASE);
}

/*
 * On the new vCPU's thread, after QEMU grew the scoreboards for it, but outside QEMU's
 * exclusive sections: another vCPU's start may be reallocating them right now, so nothing here
 * writes to a scoreboard (the helper clears what a dead thread left in the cursor, `fresh`).
 */
void hotpath_vcpu_init(unsigned int cpu)
{
    pthread_mutex_lock(&vcpus_lock);
    VcpuState *v = vcpu_of(cpu);
    /*
     * An index used before (by an exited thread, or in a forked child by a thread of the
     * parent) has a cursor that still names that thread's last instruction. A new index's
     * cursor is zero, which the first block's entry check already treats as no predecessor.
     */
    bool reused = vcpu_slot(cpu) != NULL;
    bool created = !v;
    if (!v) {
        v = g_new0(VcpuState, 1);
        /* small: sized by what it records (most threads of a churning program record little) */
        edge_table_init(&v->edges, 256);
    }
    v->next_adapt_check = counters_retired ? 0 : adapt_after;
    v->calls_at_check = 0;
    v->blocks_at_check = 0;
    v->fresh = reused;
    self = v;
    v->cursor = cursor_of(cpu);
    set_vcpu(cpu, v);
    if (cpu + 1 > vcpu_limit) {
        __atomic_store_n(&vcpu_limit, cpu + 1, __ATOMIC_RELEASE);
    }
    live_vcpus += created;
    bool second_thread = created && live_vcpus == 2 && seconds_allowed;
    pthread_mutex_unlock(&vcpus_lock);
    if (second_thread) {
        /*
         * A thread's exit or exec may now take a snapshot while this one runs: no more
         * second predecessors, and the blocks that count one translated again without
         */
        registry_lock();
        u64map_free(&second_choice);
        registry_unlock();
        request_reset();
    }
    /* the next index past a power of two grows every counter scoreboard: retire them first? */
    retire_counters_if_over(2ull * (cpu + 1), counters_capacity(&entry_counters) +
                                                  counters_capacity(&second_counters));
}

/* Under vcpus_lock: one vCPU's edges and growth count into the retired totals. */
static void fold_into_retired(VcpuState *v)
{
    EDGE_TABLE_FOREACH(&v->edges, s) {
        edge_table_add(&retired_edges, s->k1, s->k2, s->count);
    }
    retired_hot_allocs += v->edges.hot_allocs;
}

void hotpath_lock_vcpus(void)
{
    pthread_mutex_lock(&vcpus_lock);
}

void hotpath_unlock_vcpus(void)
{
    pthread_mutex_unlock(&vcpus_lock);
}

void hotpath_vcpu_exit(unsigned int cpu)
{
    pthread_mutex_lock(&vcpus_lock);
    VcpuState *v = vcpu_of(cpu);
    if (v) {
        live_vcpus--;
        fold_into_retired(v);
        set_vcpu(cpu, &exited);
        if (self == v) {
            self = NULL;
        }
        edge_table_destroy(&v->edges);
        g_free(v);
    }
    pthread_mutex_unlock(&vcpus_lock);
}

/* Called with every vCPU stopped, after scoreboards may have moved. */
void hotpath_flush(void)
{
    TSAN_ORDERED_ENTER();
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        VcpuState *v = vcpu_of(i);
        if (v) {
            v->cursor = cursor_of(i);
        }
    }
    pthread_mutex_unlock(&vcpus_lock);
    TSAN_ORDERED_LEAVE();
}

void hotpath_housekeeping(unsigned int cpu)
{
    VcpuState *v = vcpu_of(cpu);
    if (v) {
        edge_table_refill_spare(&v->edges);
    }
}

/*
 * In a forked child, where only the forking thread lives: forget every count, the baseline of
 * the next re-plan, and what other threads' cursors held.
 */
void hotpath_reset_counts(void)
{
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        VcpuState *v = vcpu_of(i);
        if (v) {
            edge_table_clear(&v->edges);
            v->helper_calls = 0;
            v->calls_at_check = 0;
            v->next_adapt_check = counters_retired ? 0 : adapt_after;
        }
    }
    edge_table_clear(&retired_edges);
    edge_table_clear(&previous_seen);
    unsigned int indices = qemu_plugin_num_vcpus();
    for (unsigned int cpu = 0; cpu < indices; cpu++) {
        Cursor *c = cursor_of(cpu);
        c->pending = 0;
    }
    /* indices no vCPU ever took hold zeros (and may have no pages: counters.c) */
    unsigned int used = MIN(indices, vcpu_limit);
    counters_reset(&entry_counters, used);
    counters_reset(&second_counters, used);
}

