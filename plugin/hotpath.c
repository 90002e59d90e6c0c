/*
 * hotpath.c: fast mode set up, and its instrumentation of each translated block: the inline
 * operations and the helper calls that count every entry (hotpath.h); the mode's table.
 */
#include "hotpath.h"
#include "hotpath_internal.h"
#include "qemu_compat.h"

#include <stddef.h>

#include "disas.h"
#include "fallthrough.h"

CounterSpace entry_counters;
CounterSpace second_counters;
U64Map second_choice;
bool seconds_allowed;
bool sparse;
uint64_t translated_blocks;

static uint32_t second_slots;       /* slot2 values handed out; under the registry lock */
static uint64_t skipped_stores;    /* id stores left out of lean blocks (translation time) */
static bool sparse_checks;         /* sparse blocks keep some middle stores (disas.h) */

/*
 * Sparse blocks in user mode. Second predecessors only where no profile is ever written while
 * another vCPU runs (no periodic dumps; system mode with one vCPU, or user mode, where a second
 * thread turns them off again, vcpus.c).
 */
static void hotpath_init(const CflowModeSetup *setup)
{
    const qemu_info_t *info = setup->info;
    bool one_vcpu_snapshots =
        !setup->opts->dump_seconds && (!info->system_emulation || (info->system.smp_vcpus == 1 &&
                                                                   info->system.max_vcpus == 1));
    seconds_allowed = one_vcpu_snapshots && qemu_compat_cond_inline_available();
    sparse = !info->system_emulation;
    sparse_checks = disas_sparse_checks();
    adapt_after = setup->opts->adapt_after;
    adapt_init(setup->id, setup->opts->counter_mib, setup->reregister);
    vcpus_init();
    counters_init(&entry_counters);
    counters_init(&second_counters);
    helper_init();
}

static void hotpath_prefetch(uint64_t start)
{
    u64map_prefetch(&dominant, start);
    if (seconds_allowed) {
        u64map_prefetch(&second_choice, start);
    }
    u64map_prefetch(&hot_starts, start);
}

/*
 * The first entry's predecessor, except after a direct jump where QEMU counts a second
 * predecessor inline: then the instruction that can fall through into the block (a
 * conditional branch, even one not translated yet, for which an id is reserved), with the
 * jump as the second. A jump is how a loop whose latch falls through into its head is
 * entered: once, before the fall-through comes again and again. bzip2 made 2.5 of its 10.5
 * million helper calls on such heads before a re-plan chose again (7.1 million with this);
 * python3's start-up, which never re-plans, 1.13 million, 0.95 million with this. Without the
 * inline second, expecting the fall-through after a jump gains as much as it loses (python3:
 * 193,000 helper calls fewer from branches, 177,000 more from jumps; cc1 6% more in all), and
 * a second for every block whose first entry was not the fall-through (0.84 million on
 * python3) costs more in the two operations each such block then carries than it saves.
 */
static uint64_t first_guess(uint64_t last, uint64_t start, uint64_t *second)
{
    const InsnRec *r = registry_insn_by_id(last);
    /*
     * Fell through into the block (a block QEMU cut, a string instruction, a system call):
     * no jump, nothing to classify. (Such instructions are the ones the classifier by encoding
     * does not know: 308 of the 310 capstone decodings of python3's start-up, before the
     * guess used the encoding alone.)
     */
    if (!seconds_allowed || !r || r->addr + r->size == start) {
        return last;
    }
    DisasTransfer t;
    if (!disas_transfer_by_encoding(r->addr, registry_insn_bytes(last), r->size, &t) ||
        t.cls != CFLOW_INSN_JUMP || !t.has_target) {
        return last;
    }
    uint64_t linear = fallthrough_linear_predecessor(start);
    if (!linear || linear == last) {
        return last;
    }
    *second = last;
    return linear;
}

/*
 * Under the registry lock: the predecessor to expect, and in `second` one counted inline. None
 * for a signal handler's first block (its helper reads the frame at every entry) or once the
 * counters are retired; else the last re-plan's choice; else the first guess, before any
 * re-plan: the instruction that is about to enter the block. A block is translated right when
 * a vCPU is about to run it, so that vCPU's cursor names the predecessor of the very first
 * entry: the branch to a branch target, the return to a return site. With one vCPU we know
 * whose cursor that is, and in user mode, where each thread translates for itself, its own;
 * otherwise (system mode, several vCPUs), and when that instruction did not complete its
 * block, fall back to the instruction that can fall through into the block.
 */
static uint64_t hotpath_expected_pred(uint64_t start, bool signal_entry, uint64_t *second)
{
    *second = 0;
    if (signal_entry || counters_retired) {
        return EXPECT_EVERY_ENTRY;
    }
    uint64_t chosen = u64map_get(&dominant, start);
    if (chosen) {
        *second = u64map_get(&second_choice, start);
        return chosen;
    }
    VcpuState *only = vcpu_of(0);
    bool alone = __atomic_load_n(&vcpu_limit, __ATOMIC_ACQUIRE) == 1 && only &&
                 qemu_plugin_num_vcpus() == 1;
    /* user mode: every thread translates what it is about to run, and `self` is its vCPU */
    VcpuState *translating = alone ? only : sparse ? self : NULL;
    if (translating && !translating->fresh) {
        uint64_t last = translating->cursor->last_id;
        if (last & LAST_FLAG) {
            return alone ? first_guess(last & ~LAST_FLAG, start, second) : last & ~LAST_FLAG;
        }
    }
    return fallthrough_linear_predecessor(start);
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

static void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b)
{
    if (self) {
        edge_table_refill_spare(&self->edges); /* new code, new edges: be ready to grow */
    }
    fallthrough_owner(b->end, b->ids[b->n_insns - 1]);
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

static void hotpath_instrument_foreign(struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_STORE_U64,
                                                      cursor_field(offsetof(Cursor, last_id)),
                                                      LAST_ID_FOREIGN);
}

uint64_t hotpath_skipped_stores(void)
{
    return skipped_stores;
}

const CflowModeOps hotpath_mode = {
    .name = "fast", .init = hotpath_init,
    /* vCPUs, and what QEMU asks between blocks */
    .vcpu_init = hotpath_vcpu_init, .vcpu_exit = hotpath_vcpu_exit,
    .housekeeping = hotpath_housekeeping, .tb_flush = hotpath_flush,
    /* translation */
    .prefetch = hotpath_prefetch, .expected_pred = hotpath_expected_pred,
    .instrument = hotpath_instrument, .instrument_foreign = hotpath_instrument_foreign,
    .discon = hotpath_discon, .signal_handler_installed = hotpath_signal_handler_installed,
    /* fork: the vCPU lock is a plain mutex, the child unlocks it like the parent */
    .fork_lock = hotpath_lock_vcpus, .fork_unlock = hotpath_unlock_vcpus,
    .unlock_in_child = hotpath_unlock_vcpus, .reset_counts = hotpath_reset_counts,
    /* snapshots and the last profile */
    .freeze = hotpath_freeze, .thaw = hotpath_thaw, .collect = hotpath_collect,
    .release_planning = hotpath_release_planning, .release_counts = hotpath_release_counts,
    .run_meta = hotpath_run_meta,
};
