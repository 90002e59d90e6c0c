/* hotpath.c: fast-mode instrumentation, the helper it calls, adaptation (see hotpath.h). */
#include "hotpath.h"
#include "counters.h"
#include "qemu_compat.h"

#include <pthread.h>

#include "disas.h"
#include "sigframe.h"
#include "tsan.h"
#include "u64map.h"

#include <stddef.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ADAPTATIONS 12
/*
 * The per-block counters' budget (option counter_mib, 32 MiB by default). vCPU indices climb without bound in a program that keeps
 * creating threads (a new thread gets the highest live index + 1), and the counters cost
 * (highest index) x (blocks) x 8 bytes. Before the next growth would take them past this, the
 * plugin retires them (one reset: counts folded into plain totals, scoreboards freed) and
 * from then on counts every block entry in the helper, into the vCPU's own table: exact still,
 * slower per entry, but bounded by what the live threads recorded.
 */
/* Two-level vCPU table covering every non-negative int index; pages appear as indices do. */
#define VCPU_PAGE_BITS 10
#define VCPU_PAGE_SIZE (1u << VCPU_PAGE_BITS)
#define VCPU_PAGES (1u << (31 - VCPU_PAGE_BITS))

static qemu_plugin_id_t plugin_id;
static struct qemu_plugin_scoreboard *cursors;
static CounterSpace entry_counters;  /* per block slot: its entries (counters.h) */
/*
 * per second-predecessor slot (BlockRec.slot2 - 1): entries from the block's second expected
 * predecessor, counted by a conditional inline operation where QEMU has one (qemu_compat.h)
 */
static CounterSpace second_counters;
static uint32_t second_slots;       /* slot2 values handed out; under the registry lock */
static U64Map second_choice;        /* block start -> its second most frequent predecessor */
/*
 * Second predecessors may be chosen: QEMU has conditional inline operations, and no profile
 * is ever taken while another vCPU runs (hotpath_init). A snapshot of running vCPUs is exact
 * because it stops every helper at its door and an entry that calls none comes from the
 * expected predecessor, whenever it is counted; a second counter read while its vCPU runs
 * would be read at another moment than the entries it is subtracted from.
 */
static bool seconds_allowed;
static unsigned int live_vcpus;     /* under vcpus_lock */
static VcpuState **vcpu_pages[VCPU_PAGES];
static unsigned int vcpu_limit; /* highest index initialised + 1; under vcpus_lock */
/*
 * vCPU start and exit, TB flushes and merges take it; the hot path never does. Exits run on
 * the exiting thread outside QEMU's exclusive sections, concurrently with everything else.
 */
static pthread_mutex_t vcpus_lock = PTHREAD_MUTEX_INITIALIZER;
static EdgeTable retired_edges;   /* exited vCPUs' edge tables, folded; under vcpus_lock */
static uint64_t retired_hot_allocs;
static bool counters_retired;     /* blocks now expect EXPECT_EVERY_ENTRY */
static int retire_requested;

static uint64_t adapt_after;
static int frozen;         /* futex word: helpers wait at the door (hotpath_freeze) */
static bool helper_fence;  /* membarrier unavailable: helpers take a full fence */
static uint64_t counter_budget; /* bytes; option counter_mib */
static unsigned int adaptations;   /* completed */
static int adapt_in_flight;        /* a reset was requested and has not completed */
static void (*reregister_callbacks)(void);
static U64Map dominant;            /* block start -> most frequent predecessor id */
static U64Map hot_starts;          /* starts of blocks entered often enough to go lean -> 1 */
static uint64_t translated_blocks; /* translations instrumented so far */
static uint64_t skipped_stores;    /* id stores left out of lean blocks (translation time) */
static bool sparse;                /* sparse blocks (BLOCK_MARK) */
static bool sparse_checks;         /* sparse blocks keep some middle stores (disas.h) */
static uint64_t unplaced_exits;    /* hotpath_unplaced_exits; rare, atomic */
static EdgeTable previous_seen;    /* cumulative counts at the previous re-plan */
static bool released;              /* hotpath_release_counts: nothing merges after it */

/*
 * The vCPU this thread runs (user mode, MTTCG: one thread per vCPU), so that translation, which
 * runs on that thread, can refill its edge table's spare between syscalls.
 */
static __thread VcpuState *self;

/* What an exited vCPU leaves in its slot: its index was used, its cursor is stale. */
static VcpuState exited;

static inline VcpuState *vcpu_slot(unsigned int cpu)
{
    if (__builtin_expect(cpu >> VCPU_PAGE_BITS >= VCPU_PAGES, 0)) {
        return NULL; /* no index QEMU gives a vCPU (int), but never trusted blindly */
    }
    VcpuState **page = __atomic_load_n(&vcpu_pages[cpu >> VCPU_PAGE_BITS], __ATOMIC_ACQUIRE);
    return page ? __atomic_load_n(&page[cpu & (VCPU_PAGE_SIZE - 1)], __ATOMIC_ACQUIRE) : NULL;
}

/* The live state of vCPU `cpu`, or NULL. */
static inline VcpuState *vcpu_of(unsigned int cpu)
{
    VcpuState *v = vcpu_slot(cpu);
    return v == &exited ? NULL : v;
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

static qemu_plugin_u64 cursor_field(size_t offset)
{
    return (qemu_plugin_u64){.score = cursors, .offset = offset};
}

void hotpath_init(qemu_plugin_id_t id, uint64_t after, uint64_t counter_mib, bool sparse_blocks,
                  bool one_vcpu_snapshots, void (*reregister)(void))
{
    seconds_allowed = one_vcpu_snapshots && qemu_compat_cond_inline_available();
    plugin_id = id;
    sparse = sparse_blocks;
    sparse_checks = disas_sparse_checks();
    adapt_after = after;
    counter_budget = counter_mib << 20;
    reregister_callbacks = reregister;
    cursors = qemu_plugin_scoreboard_new(sizeof(Cursor));
    counters_init(&entry_counters);
    counters_init(&second_counters);
    helper_fence = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
    edge_table_init_private(&retired_edges, 2); /* under vcpus_lock only */
    edge_table_init_private(&previous_seen, 2); /* read at re-plans only */
}

static inline Cursor *cursor_of(unsigned int cpu)
{
    return qemu_plugin_scoreboard_find(cursors, cpu);
}

static void on_reset_done(qemu_plugin_id_t id);

/*
 * Where a sparse block was left (BLOCK_MARK): the id of its instruction at `pc` (where the
 * fault happened, or where execution went on), else the block's first instruction, counted as
 * unplaced. Lock-free: runs in the helper.
 */
static uint64_t place_in_block(uint64_t mark, uint64_t pc)
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

/* A key whose source is a sparse block's mark, with the source placed (place_in_block). */
static inline uint64_t placed(uint64_t key, uint64_t pc)
{
    uint64_t id = key & HOT_ID_MASK;
    return hot_is_mark(id) ? (key & ~HOT_ID_MASK) | place_in_block(id, pc) : key;
}

/* Rare: ask QEMU to stop the vCPUs, flush, and let us re-plan or retire (see hotpath.h). */
static void request_reset(void)
{
    int expected = 0;
    if (__atomic_compare_exchange_n(&adapt_in_flight, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        qemu_plugin_reset(plugin_id, on_reset_done);
    }
}

/*
 * QEMU grows scoreboards to the next power of two (from 16) above the highest vCPU index.
 * Would counters for `indices` vCPU indices, `slots` blocks, exceed the budget?
 */
static bool counters_over_budget(uint64_t indices, uint64_t slots)
{
    uint64_t cap = 16;
    while (cap < indices) {
        cap *= 2;
    }
    return cap * slots * sizeof(uint64_t) > counter_budget;
}

static void retire_counters_if_over(uint64_t indices, uint64_t slots)
{
    if (!counters_retired && counters_over_budget(indices, slots)) {
        __atomic_store_n(&retire_requested, 1, __ATOMIC_RELEASE);

        request_reset();
    }
}

/*
 * Rare (a few times per run, at helper-call counts that double): is re-planning worth it now?
 * A re-plan flushes every translation, and what runs again is translated again, so it waits
 * for a payback factor (adapt_after / 4096: 256 by default) of helper calls per block
 * translated: over the whole run so far, or since the previous check, so that a program done
 * with its start-up and settled in a loop (python3 running a script after translating 35,000
 * blocks) is re-planned for that loop, where only the loop's blocks will be translated again;
 * a program still busy translating is left alone. Small adapt_after values (the tests)
 * re-plan right away.
 */
static void consider_adaptation(VcpuState *v)
{
    uint64_t blocks = __atomic_load_n(&translated_blocks, __ATOMIC_RELAXED);
    if (adaptations >= MAX_ADAPTATIONS) {
        v->next_adapt_check = 0;
        return;
    }
    uint64_t recent_calls = v->helper_calls - v->calls_at_check;
    uint64_t recent_blocks = blocks - v->blocks_at_check;
    v->calls_at_check = v->helper_calls;
    v->blocks_at_check = blocks;
    v->next_adapt_check = v->helper_calls * 2;
    uint64_t payback = adapt_after / 4096;
    if (v->helper_calls >= blocks * payback || recent_calls >= recent_blocks * payback) {
        request_reset();
    }
}

/*
 * Freezing (hotpath.h). The helper announces itself in its own VcpuState (busy), then looks at
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

uint64_t hotpath_unknown_vcpu_entries(void)
{
    return __atomic_load_n(&unknown_vcpu_entries, __ATOMIC_RELAXED);
}

/*
 * The helper: block b was entered and the last instruction started was not b->expected (or,
 * with counters retired, on every entry).
 */
static void on_unexpected_entry(unsigned int cpu, void *udata)
{
    TSAN_ORDERED_ENTER();
    VcpuState *v = helper_vcpu(cpu);
    if (!v) {
        TSAN_ORDERED_LEAVE();
        return;
    }
    helper_enter(v);
    /* udata is the record's slot: the common case reads no record (one cache miss less) */
    uint32_t slot = (uint32_t)(uintptr_t)udata;
    uint64_t key = entry_key(v, v->cursor);
    if (hot_is_mark(key & HOT_ID_MASK)) {
        /* a sparse block left early: QEMU went on at the instruction it left at (or the next) */
        key = placed(key, registry_block_unlocked(slot)->start);
    }
    record_entry(v, key, slot);
    helper_leave(v);
    TSAN_ORDERED_LEAVE();
}

/* Every entry of a signal handler's first block (sigframe.h): a fault delivery is no branch. */
static void on_signal_entry(unsigned int cpu, void *udata)
{
    TSAN_RECEIVED(udata);
    TSAN_ORDERED_ENTER();
    VcpuState *v = helper_vcpu(cpu);
    if (!v) {
        TSAN_ORDERED_LEAVE();
        return;
    }
    helper_enter(v);
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
    helper_leave(v);
    TSAN_ORDERED_LEAVE();
}

void hotpath_prefetch(uint64_t start)
{
    u64map_prefetch(&dominant, start);
    if (seconds_allowed) {
        u64map_prefetch(&second_choice, start);
    }
    u64map_prefetch(&hot_starts, start);
}

/*
 * The first guess, before any re-plan: the instruction that is about to enter the block. A
 * block is translated right when a vCPU is about to run it, so that vCPU's cursor names the
 * predecessor of the very first entry: the branch to a branch target, the return to a return
 * site. With one vCPU we know whose cursor that is; otherwise, and when that instruction did
 * not complete its block, fall back to the instruction that falls through into the block.
 */
uint64_t hotpath_expected_pred(uint64_t start, uint64_t *second)
{
    *second = 0;
    if (counters_retired) {
        return EXPECT_EVERY_ENTRY;
    }
    uint64_t chosen = u64map_get(&dominant, start);
    if (chosen) {
        *second = u64map_get(&second_choice, start);
        return chosen;
    }
    VcpuState *only = vcpu_of(0);
    if (__atomic_load_n(&vcpu_limit, __ATOMIC_ACQUIRE) == 1 && only && !only->fresh &&
        qemu_plugin_num_vcpus() == 1) {
        uint64_t last = only->cursor->last_id;
        if (last & LAST_FLAG) {
            return last & ~LAST_FLAG;
        }
    }
    return registry_fallthrough_owner_of(start);
}

/*
 * Does a sparse block need its mark? Not when every instruction before its last is
 * register-only (x86, by encoding: disas_register_only): nothing can then leave the block
 * (fault, signal, or QEMU running part of it again) before the last instruction, whose own
 * store names it, so the mark would never be read. 16,400 of python3's 38,400 blocks; each
 * store left out is TCG ops QEMU no longer generates code for at every translation.
 */
static bool needs_mark(const BlockRec *b)
{
    if (!sparse_checks) {
        return true;
    }
    for (uint32_t i = 0; i + 1 < b->n_insns; i++) {
        const InsnRec *r = registry_insn_by_id(b->ids[i]);
        if (!disas_register_only(registry_insn_bytes(b->ids[i]), r->size)) {
            return true;
        }
    }
    return false;
}

/*
 * A block that also expects its second most frequent predecessor E2 (a re-plan's choice,
 * where QEMU has conditional inline operations): an entry from E2 is counted inline and the
 * cursor rewritten to E(B), so the helper's check that follows passes. The cursor's value is
 * only ever read at block entries, and the block's own stores replace it. Registered before
 * the check, so they run first.
 */
static void instrument_second(struct qemu_plugin_tb *tb, BlockRec *b, uint64_t expected,
                              unsigned int first_unused)
{
    if (!b->slot2) {
        b->slot2 = ++second_slots;
    }
    counters_ensure(&second_counters, b->slot2 - 1, first_unused);
    qemu_plugin_u64 last = cursor_field(offsetof(Cursor, last_id));
    uint64_t second = b->second | LAST_FLAG;
    qemu_compat_cond_inline(tb, QEMU_PLUGIN_COND_EQ, last, second, QEMU_PLUGIN_INLINE_ADD_U64,
                            counters_entry(&second_counters, b->slot2 - 1), 1);
    qemu_compat_cond_inline(tb, QEMU_PLUGIN_COND_EQ, last, second, QEMU_PLUGIN_INLINE_STORE_U64,
                            last, expected);
}

void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b)
{
    if (self) {
        edge_table_refill_spare(&self->edges); /* new code, new edges: be ready to grow */
    }
    registry_fallthrough_owner(b->end, b->ids[b->n_insns - 1]);
    __atomic_add_fetch(&translated_blocks, 1, __ATOMIC_RELAXED);
    /*
     * The helper's udata is the record's slot: a 32-bit number, which x86 hosts load in 5
     * bytes (the mark, with its high bit, takes a 10-byte move: tried, and every block's code
     * grew by 5 bytes, which costs more than the constant QEMU would share).
     */
    const uint64_t mark = BLOCK_MARK | b->slot;
    void *udata = (void *)(uintptr_t)b->slot;
    if (b->signal_entry) {
        /* expects EXPECT_EVERY_ENTRY: the helper counts every entry, reading the frame */
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_signal_entry, QEMU_PLUGIN_CB_R_REGS, b);
    } else if (b->expected == EXPECT_EVERY_ENTRY) {
        /* counters retired: the helper sees (and counts) every entry */
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_unexpected_entry, QEMU_PLUGIN_CB_NO_REGS,
                                             udata);
    } else {
        unsigned int first_unused = __atomic_load_n(&vcpu_limit, __ATOMIC_ACQUIRE);
        if (counters_capacity(&entry_counters) <= b->slot) {
            retire_counters_if_over(qemu_plugin_num_vcpus(),
                                    b->slot + 1 + counters_capacity(&second_counters));
        }
        counters_ensure(&entry_counters, b->slot, first_unused);
        /* TB-level operations run before the first instruction's: check the cursor, count. */
        /* An expected entry comes from E(B) having completed its own block: flagged. */
        uint64_t expected = b->expected ? b->expected | LAST_FLAG : 0;
        if (b->second) {
            instrument_second(tb, b, expected, first_unused);
        }
        qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, on_unexpected_entry,
                                                  QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_NE,
                                                  cursor_field(offsetof(Cursor, last_id)),
                                                  expected, udata);
        qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
            tb, QEMU_PLUGIN_INLINE_ADD_U64, counters_entry(&entry_counters, b->slot), 1);
    }
    /*
     * Lean blocks (hot ones, once adaptation has found them) skip the id store of middle
     * instructions that cannot leave the block (disas.h): an early exit can only happen at a
     * stored one, so it is still attributed exactly. Their first instruction is always stored:
     * it marks "inside this block, not yet complete". A sparse block's first instruction
     * stores its mark, unless the mark would never be read (needs_mark).
     */
    bool lean = !sparse && disas_can_classify() && u64map_get(&hot_starts, b->start);
    bool skip_mark = sparse && b->n_insns > 1 && !needs_mark(b);
    for (uint32_t i = 0; i < b->n_insns; i++) {
        bool middle = i > 0 && i + 1 < b->n_insns;
        if (i == 0 && skip_mark) {
            skipped_stores++;
            continue;
        }
        if (middle && sparse) {
            const InsnRec *r = registry_insn_by_id(b->ids[i]);
            if (!sparse_checks ||
                !disas_helper_may_raise(registry_insn_bytes(b->ids[i]), r->size)) {
                skipped_stores++;
                continue;
            }
        } else if (middle && lean && !registry_insn_may_leave(b->ids[i])) {
            skipped_stores++;
            continue;
        }
        uint64_t value = i + 1 == b->n_insns ? b->ids[i] | LAST_FLAG
                         : i == 0 && sparse  ? mark
                                             : b->ids[i];
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
            qemu_plugin_tb_get_insn(tb, i), QEMU_PLUGIN_INLINE_STORE_U64,
            cursor_field(offsetof(Cursor, last_id)), value);
    }
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

static void record_discon(Cursor *c, enum qemu_plugin_discon_type type, uint64_t from_pc,
                          uint64_t to_pc);

void hotpath_instrument_foreign(struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_STORE_U64,
                                                      cursor_field(offsetof(Cursor, last_id)),
                                                      LAST_ID_FOREIGN);
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

unsigned int hotpath_adaptations(void)
{
    return adaptations;
}

bool hotpath_counters_retired(void)
{
    return counters_retired;
}

uint64_t hotpath_skipped_stores(void)
{
    return skipped_stores;
}

uint64_t hotpath_unplaced_exits(void)
{
    return __atomic_load_n(&unplaced_exits, __ATOMIC_RELAXED);
}

void hotpath_request_retranslation(void)
{
    request_reset();
}

static void merge_table(EdgeTable *into, const EdgeTable *t, uint64_t *helper_calls)
{
    EDGE_TABLE_FOREACH(t, s) {
        const BlockRec *b = registry_block_by_index((guint)s->k2);
        edge_table_add(into, s->k1, b->start, s->count);
        helper_calls[s->k2] += s->count;
    }
}

void hotpath_merge_all(EdgeTable *into, HotpathTotals *totals, bool live)
{
    g_assert(!released);
    *totals = (HotpathTotals){0};
    guint n_blocks = registry_block_count();
    uint64_t *helper_calls = g_new0(uint64_t, n_blocks);
    pthread_mutex_lock(&vcpus_lock);
    /* at most every recorded key and one expected-entry key per block: grown once, not by steps */
    uint64_t keys = retired_edges.used + n_blocks;
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        keys += v ? v->edges.used : 0;
    }
    edge_table_reserve(into, keys);
    merge_table(into, &retired_edges, helper_calls);
    totals->hot_allocs = retired_hot_allocs;
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        if (v) {
            merge_table(into, &v->edges, helper_calls);
            totals->hot_allocs += v->edges.hot_allocs;
        }
    }
    pthread_mutex_unlock(&vcpus_lock);
    /*
     * A discontinuity that no block followed: at exit, the guest left through it; in a live
     * snapshot the next block's entry is still to come and will carry it.
     */
    unsigned int indices = live ? 0 : qemu_plugin_num_vcpus();
    for (unsigned int cpu = 0; cpu < indices; cpu++) {
        const Cursor *c = cursor_of(cpu);
        if (c->pending) {
            edge_table_add(into, placed(c->pending, c->pending_from), c->pending_to, 1);
        }
    }
    /*
     * every entry the helper did not see came from the expected predecessor (hotpath.h), or,
     * where the block counts its second expected predecessor inline, from that one
     */
    totals->block_entries = g_new0(uint64_t, n_blocks);
    for (guint i = 0; i < n_blocks; i++) {
        BlockRec *b = registry_block_by_index(i);
        uint64_t counted = counters_sum(&entry_counters, b->slot), helped = helper_calls[i];
        /* read after the entries: a running vCPU counts an entry from the second there first */
        uint64_t seconds = b->slot2 ? counters_sum(&second_counters, b->slot2 - 1) : 0;
        uint64_t explained = helped + seconds;
        bool every = b->expected == EXPECT_EVERY_ENTRY;
        /* a snapshot of running vCPUs counts an entry seen but not yet counted as an entry */
        totals->block_entries[i] = every ? helped : live && explained > counted ? explained
                                                                                : counted;
        totals->entries += totals->block_entries[i];
        totals->helper_calls += helped;
        totals->second_entries += seconds;
        if (every) {
            continue;
        }
        if (seconds) {
            edge_table_add(into, HOT_KEY(HOT_NORMAL, b->second), b->start, seconds);
        }
        if (explained > counted) {
            *(live ? &totals->in_flight : &totals->inconsistent) += explained - counted;
        } else if (counted > explained) {
            edge_table_add(into, HOT_KEY(b->expected ? HOT_NORMAL : HOT_ENTRY, b->expected),
                           b->start, counted - explained);
        }
    }
    g_free(helper_calls);
}

void hotpath_release_planning(void)
{
    edge_table_destroy(&previous_seen);
    u64map_free(&dominant);
    u64map_free(&second_choice);
    u64map_free(&hot_starts);
}

void hotpath_release_counts(void)
{
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        if (v) {
            edge_table_destroy(&v->edges);
        }
    }
    edge_table_destroy(&retired_edges);
    released = true;
    pthread_mutex_unlock(&vcpus_lock);
    counters_free(&entry_counters);
    counters_free(&second_counters);
}

/*
 * With every vCPU stopped and no translation left: fold the per-block counters into plain
 * totals and free their scoreboards (counters.h); blocks translated from now on count every
 * entry in the helper (hotpath_expected_pred says EXPECT_EVERY_ENTRY).
 */
static void retire_counters(void)
{
    counters_retire(&entry_counters);
    counters_retire(&second_counters);
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        VcpuState *v = vcpu_of(i);
        if (v) {
            v->next_adapt_check = 0;
        }
    }
    counters_retired = true;
    pthread_mutex_unlock(&vcpus_lock);
}

/*
 * A block's most frequent predecessor is worth remembering when it came at least this often
 * since the previous re-plan: a block entered a couple of times keeps the first-entry or
 * fall-through guess, and the map of choices stays small (memory is a start-up's constraint).
 */
#define MIN_DOMINANT 4
/* Edges counted fewer times than this are not kept as the next re-plan's baseline. */
#define MIN_BASELINE 64

/*
 * With every vCPU stopped and all translations flushed: mark the hot blocks (lean blocks:
 * system mode only) and pick each block's most frequent recent predecessor (from the same
 * merge the exit uses).
 */
static void replan(void)
{
    EdgeTable seen;
    edge_table_init_private(&seen, 1u << 14);
    HotpathTotals totals;
    registry_lock();
    hotpath_merge_all(&seen, &totals, false);
    uint64_t hot_min = MAX(adapt_after / 1024, 1);
    for (guint i = 0; !sparse && i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        if (totals.block_entries[i] >= hot_min) {
            *u64map_slot(&hot_starts, b->start) = 1;
        }
    }
    registry_unlock();
    g_free(totals.block_entries);
    /*
     * Choose by what happened since the previous re-plan, not since the start: programs
     * change phase (bzip2 sorts, then codes), and the recent phase is the one that goes on.
     * A block not entered since keeps the predecessor it had.
     */
    /*
     * by block start: the best and (where QEMU can count it inline) the second best recent
     * count (saturated to 32 bits) << 32 | its source's id
     */
    U64Map best = {0}, runner_up = {0};
    pthread_mutex_lock(&vcpus_lock);
    bool seconds = seconds_allowed && live_vcpus <= 1;
    pthread_mutex_unlock(&vcpus_lock);
    EDGE_TABLE_FOREACH(&seen, s) {
        if ((s->k1 >> HOT_KIND_SHIFT) != HOT_NORMAL) {
            continue;
        }
        uint64_t recent = MIN(s->count - edge_table_get(&previous_seen, s->k1, s->k2), UINT32_MAX);
        if (recent < MIN_DOMINANT) {
            continue;
        }
        uint64_t candidate = recent << 32 | (InsnId)(s->k1 & HOT_ID_MASK);
        uint64_t *cur = u64map_slot(&best, s->k2);
        if (recent > *cur >> 32) {
            if (seconds && *cur) {
                *u64map_slot(&runner_up, s->k2) = *cur;
            }
            *cur = candidate;
        } else if (seconds) {
            uint64_t *next = u64map_slot(&runner_up, s->k2);
            if (recent > *next >> 32) {
                *next = candidate;
            }
        }
    }
    registry_lock();
    U64MAP_FOREACH(&best, e) {
        *u64map_slot(&dominant, e->key) = (InsnId)e->val;
        /* a block entered from one predecessor only since keeps no second one */
        uint64_t next = u64map_get(&runner_up, e->key);
        if (next || u64map_get(&second_choice, e->key)) {
            *u64map_slot(&second_choice, e->key) = (InsnId)next;
        }
    }
    registry_unlock();
    u64map_free(&best);
    u64map_free(&runner_up);
    /*
     * The baseline for the next re-plan's "recent" counts: edges counted fewer than
     * MIN_BASELINE times are left out (most of a start-up's edges), so theirs look at most
     * that much more recent than they are, which changes no choice that matters.
     */
    edge_table_destroy(&previous_seen);
    edge_table_init_private(&previous_seen, 2);
    EDGE_TABLE_FOREACH(&seen, s) {
        if ((s->k1 >> HOT_KIND_SHIFT) == HOT_NORMAL && s->count >= MIN_BASELINE) {
            edge_table_add(&previous_seen, s->k1, s->k2, s->count);
        }
    }
    edge_table_destroy(&seen);
    adaptations++;
}

/* QEMU calls this with every vCPU stopped and all translations flushed; then blocks are
 * retranslated under the new plan once the callbacks are registered again. */
static void on_reset_done(qemu_plugin_id_t id)
{
    TSAN_ORDERED_ENTER();
    if (__atomic_exchange_n(&retire_requested, 0, __ATOMIC_ACQ_REL)) {
        if (!counters_retired) {
            registry_lock(); /* translation creates chunks under it */
            retire_counters();
            registry_unlock();
        }
    } else {
        replan();
    }
    reregister_callbacks();
    __atomic_store_n(&adapt_in_flight, 0, __ATOMIC_RELEASE);
    TSAN_ORDERED_LEAVE();
}
