/*
 * helper.c: fast mode's code that runs during execution beyond the inline operations: the
 * helper a block entry calls when it did not come from the expected predecessor, the one a
 * signal handler's first block calls, the discontinuity callback, and the door at which they
 * wait while a snapshot is taken (hotpath.h). Kept apart from the rest of the mode so that
 * what runs per entry reads as one piece: no lock, no allocation, no I/O.
 */
#include "hotpath_internal.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sigframe.h"
#include "tsan.h"

static int frozen;         /* futex word: helpers wait at the door (hotpath_freeze) */
static bool helper_fence;  /* membarrier unavailable: helpers take a full fence */
static uint64_t unplaced_exits;    /* hotpath_unplaced_exits; rare, atomic */

void helper_init(void)
{
    helper_fence = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
}

/*
 * Where a sparse block was left (BLOCK_MARK): the id of its instruction at `pc` (where the
 * fault happened, or where execution went on), else the block's first instruction, counted as
 * unplaced. Lock-free: runs in the helper.
 */
uint64_t place_in_block(uint64_t mark, uint64_t pc)
{
    const BlockRec *b = registry_block_unlocked((uint32_t)(mark & ~BLOCK_MARK));
    if (!b) {
        return 0;
    }
    if (pc >= b->start && pc < b->end) {
        for (uint32_t i = 0; i < b->n_insns; i++) {
            if (registry_insn_addr_unlocked(b->ids[i]) == pc) {
                return b->ids[i];
            }
        }
    }
    __atomic_add_fetch(&unplaced_exits, 1, __ATOMIC_RELAXED);
    return b->ids[0];
}

/*
 * Freezing (hotpath_freeze). The helper announces itself in its own VcpuState (busy), then looks at
 * `frozen`; the freezer sets `frozen`, then looks at every busy flag. Each side's store must be
 * visible before its load: the freezer pays for that with membarrier() (a barrier on every
 * thread of the process), so the helper needs only a compiler barrier; without membarrier
 * the helper takes a full fence.
 */

static void wait_thawed(VcpuState *v)
{
    do {
        __atomic_store_n(&v->busy, 0, __ATOMIC_RELEASE);
        while (__atomic_load_n(&frozen, __ATOMIC_ACQUIRE)) {
            syscall(SYS_futex, &frozen, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
        }
        __atomic_store_n(&v->busy, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* rare: the full fence is fine here */
    } while (__atomic_load_n(&frozen, __ATOMIC_RELAXED));
}

static inline void helper_enter(VcpuState *v)
{
    __atomic_store_n(&v->busy, 1, __ATOMIC_RELAXED);
    if (__builtin_expect(helper_fence, 0)) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    } else {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
    if (__builtin_expect(__atomic_load_n(&frozen, __ATOMIC_RELAXED), 0)) {
        wait_thawed(v);
    }
}

static inline void helper_leave(VcpuState *v)
{
    __atomic_store_n(&v->busy, 0, __ATOMIC_RELEASE);
}

void hotpath_freeze(void)
{
    __atomic_store_n(&frozen, 1, __ATOMIC_SEQ_CST);
    if (helper_fence || syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        VcpuState *v = vcpu_of(i);
        while (v && __atomic_load_n(&v->busy, __ATOMIC_ACQUIRE)) {
            sched_yield();
        }
    }
    pthread_mutex_unlock(&vcpus_lock);
}

void hotpath_thaw(void)
{
    __atomic_store_n(&frozen, 0, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &frozen, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* The kind and source of the entry that is happening now (helper side of hotpath.h). */
static inline uint64_t entry_key(VcpuState *v, Cursor *c)
{
    uint64_t key;
    if (v->fresh) {
        /* a new thread's first block: whatever the cursor says belongs to a dead thread */
        v->fresh = false;
        c->pending = 0;
        key = HOT_KEY(HOT_ENTRY, 0);
    } else if (c->pending) {
        key = placed(c->pending, c->pending_from);
        c->pending = 0;
    } else if (c->last_id == LAST_ID_FOREIGN) {
        key = HOT_KEY(HOT_FOREIGN, 0);
    } else if (c->last_id == 0) {
        key = HOT_KEY(HOT_ENTRY, 0);
    } else if (!(c->last_id & LAST_FLAG)) {
        key = HOT_KEY(HOT_EARLY, c->last_id);
    } else {
        key = HOT_KEY(HOT_NORMAL, c->last_id & ~LAST_FLAG);
    }
    return key;
}

static inline void record_entry(VcpuState *v, uint64_t key, uint32_t slot)
{
    /* keyed by the block record, not its address: the count doubles as its helper-call count */
    edge_table_add(&v->edges, key, slot, 1);
    if (++v->helper_calls == v->next_adapt_check) {
        consider_adaptation(v);
    }
}

/*
 * A helper called with a vCPU index that has no state: never, unless QEMU passes an index it
 * never started (stock QEMU 10.2 under round-robin TCG could, qemu_compat.h). The entry cannot
 * be recorded; it is counted, and the profile says so (meta.entries_on_unknown_vcpus) rather
 * than the plugin crashing.
 */
static uint64_t unknown_vcpu_entries;

static void __attribute__((noinline, cold)) unknown_vcpu_entry(void)
{
    __atomic_add_fetch(&unknown_vcpu_entries, 1, __ATOMIC_RELAXED);
}

/* A helper's vCPU state, or NULL (counted: unknown_vcpu_entry) when the index has none. */
static inline VcpuState *helper_vcpu(unsigned int cpu)
{
    VcpuState *v = vcpu_of(cpu);
    if (__builtin_expect(!v, 0)) {
        unknown_vcpu_entry();
    }
    return v;
}

/* A helper's way in: its vCPU's state, inside the door (helper_enter), or NULL. */
static inline VcpuState *helper_open(unsigned int cpu)
{
    TSAN_ORDERED_ENTER();
    VcpuState *v = helper_vcpu(cpu);
    if (!v) {
        TSAN_ORDERED_LEAVE();
        return NULL;
    }
    helper_enter(v);
    return v;
}

static inline void helper_close(VcpuState *v)
{
    helper_leave(v);
    TSAN_ORDERED_LEAVE();
}

uint64_t hotpath_unknown_vcpu_entries(void)
{
    return __atomic_load_n(&unknown_vcpu_entries, __ATOMIC_RELAXED);
}

/*
 * The helper: block b was entered and the last instruction started was not b->expected (or,
 * with counters retired, on every entry).
 */
void on_unexpected_entry(unsigned int cpu, void *udata)
{
    VcpuState *v = helper_open(cpu);
    if (!v) {
        return;
    }
    /* udata is the record's slot: the common case reads no record (one cache miss less) */
    uint32_t slot = (uint32_t)(uintptr_t)udata;
    uint64_t key = entry_key(v, v->cursor);
    if (hot_is_mark(key & HOT_ID_MASK)) {
        /* a sparse block left early: QEMU went on at the instruction it left at (or the next) */
        key = placed(key, registry_block_unlocked(slot)->start);
    }
    record_entry(v, key, slot);
    helper_close(v);
}

/* Every entry of a signal handler's first block (sigframe.h): a fault delivery is no branch. */
void on_signal_entry(unsigned int cpu, void *udata)
{
    TSAN_RECEIVED(udata);
    VcpuState *v = helper_open(cpu);
    if (!v) {
        return;
    }
    Cursor *c = v->cursor;
    uint64_t fault_pc = 0;
    bool fault = sigframe_fault_pc(&fault_pc);
    /* a sparse block left by this fault: the frame's saved PC is the faulting instruction */
    if (c->pending && fault) {
        c->pending_from = fault_pc;
    } else if (!c->pending && fault && hot_is_mark(c->last_id & ~LAST_FLAG)) {
        c->last_id = place_in_block(c->last_id & ~LAST_FLAG, fault_pc);
    }
    uint64_t key = placed(entry_key(v, c), ((const BlockRec *)udata)->start);
    if ((key >> HOT_KIND_SHIFT) == HOT_NORMAL && fault &&
        registry_insn_addr_unlocked(key & HOT_ID_MASK) == fault_pc) {
        key = HOT_KEY(HOT_EARLY, key & HOT_ID_MASK);
    }
    record_entry(v, key, ((const BlockRec *)udata)->slot);
    helper_close(v);
}

static void record_discon(Cursor *c, enum qemu_plugin_discon_type type, uint64_t from_pc,
                          uint64_t to_pc)
{
    if (c->last_id == LAST_ID_FOREIGN) {
        return; /* it happened in code that is not recorded */
    }
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
    c->pending_from = from_pc;
    c->last_id = LAST_ID_DISCON;
}

void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t from_pc,
                    uint64_t to_pc)
{
    VcpuState *v = vcpu_of(cpu);
    if (v) {
        helper_enter(v);
    }
    record_discon(cursor_of(cpu), type, from_pc, to_pc);
    if (v) {
        helper_leave(v);
        /* outside the helper, on the vCPU's own thread: a chance to prepare the next growth
         * (system mode has no syscalls, and interrupts come often) */
        edge_table_refill_spare(&v->edges);
    }
}

uint64_t hotpath_unplaced_exits(void)
{
    return __atomic_load_n(&unplaced_exits, __ATOMIC_RELAXED);
}
