/* hotpath.c: fast-mode instrumentation and the helper it calls (see hotpath.h). */
#include "hotpath.h"

#include <stddef.h>
#include <string.h>

/* Execution counters come in scoreboards of this many u64 slots, created as blocks appear. */
#define SLOTS_PER_CHUNK 4096

static struct qemu_plugin_scoreboard *cursors;
static GPtrArray *chunks; /* struct qemu_plugin_scoreboard *, SLOTS_PER_CHUNK u64 each */
static VcpuState *vcpus[CFLOW_MAX_VCPUS];
static unsigned int vcpu_limit;

static qemu_plugin_u64 cursor_field(size_t offset)
{
    return (qemu_plugin_u64){.score = cursors, .offset = offset};
}

static qemu_plugin_u64 slot_entry(uint32_t slot)
{
    /* chunks only grows under the registry lock; the entry is computed at translation time */
    return (qemu_plugin_u64){.score = g_ptr_array_index(chunks, slot / SLOTS_PER_CHUNK),
                             .offset = (slot % SLOTS_PER_CHUNK) * sizeof(uint64_t)};
}

void hotpath_init(void)
{
    cursors = qemu_plugin_scoreboard_new(sizeof(Cursor));
    chunks = g_ptr_array_new();
}

static inline Cursor *cursor_of(unsigned int cpu)
{
    return qemu_plugin_scoreboard_find(cursors, cpu);
}

/* The helper: a block was entered other than by its owner's fall-through. */
static void on_nonlinear_entry(unsigned int cpu, void *udata)
{
    const BlockRec *b = udata;
    Cursor *c = cursor_of(cpu);
    uint64_t key;
    if (c->pending) {
        key = c->pending;
        c->pending = 0;
    } else if (c->last_id == 0) {
        key = HOT_KEY(HOT_ENTRY, 0);
    } else if (c->last_id != c->block_last) {
        key = HOT_KEY(HOT_EARLY, c->last_id);
    } else {
        key = HOT_KEY(HOT_NORMAL, c->last_id);
    }
    edge_table_add(&vcpus[cpu]->edges, key, b->start, 1);
}

void hotpath_instrument(struct qemu_plugin_tb *tb, BlockRec *b, const uint64_t *ids)
{
    /* Called under the registry lock. */
    while (chunks->len * SLOTS_PER_CHUNK <= b->slot) {
        g_ptr_array_add(chunks, qemu_plugin_scoreboard_new(SLOTS_PER_CHUNK * sizeof(uint64_t)));
    }
    uint64_t owner = registry_fallthrough_owner(b->end, b->last_id);
    uint64_t next_pc = owner == b->last_id ? b->end : NEXT_PC_NONE;

    /* TB-level operations run before the first instruction's: read the cursor, then count. */
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, on_nonlinear_entry, QEMU_PLUGIN_CB_NO_REGS,
                                              QEMU_PLUGIN_COND_NE,
                                              cursor_field(offsetof(Cursor, next_pc)),
                                              b->start, b);
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                                      slot_entry(b->slot), 1);
    struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, 0);
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
        first, QEMU_PLUGIN_INLINE_STORE_U64, cursor_field(offsetof(Cursor, block_last)),
        b->last_id);
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
        first, QEMU_PLUGIN_INLINE_STORE_U64, cursor_field(offsetof(Cursor, next_pc)), next_pc);
    for (uint32_t i = 0; i < b->n_insns; i++) {
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
            qemu_plugin_tb_get_insn(tb, i), QEMU_PLUGIN_INLINE_STORE_U64,
            cursor_field(offsetof(Cursor, last_id)), ids[i]);
    }
}

void hotpath_vcpu_init(unsigned int cpu)
{
    g_assert(cpu < CFLOW_MAX_VCPUS);
    if (!vcpus[cpu]) {
        VcpuState *v = g_new0(VcpuState, 1);
        edge_table_init(&v->edges, 1u << 14);
        __atomic_store_n(&vcpus[cpu], v, __ATOMIC_RELEASE);
    }
    vcpus[cpu]->entries++;
    if (cpu + 1 > vcpu_limit) {
        vcpu_limit = cpu + 1;
    }
    /* A vCPU index can be reused by a new thread: it starts with no predecessor. */
    Cursor *c = cursor_of(cpu);
    c->last_id = 0;
    c->block_last = 0;
    c->pending = 0;
    c->next_pc = NEXT_PC_NONE;
}

void hotpath_discon(unsigned int cpu, enum qemu_plugin_discon_type type)
{
    Cursor *c = cursor_of(cpu);
    int kind = type == QEMU_PLUGIN_DISCON_INTERRUPT   ? HOT_INTERRUPT
               : type == QEMU_PLUGIN_DISCON_EXCEPTION ? HOT_EXCEPTION
                                                      : HOT_HOSTCALL;
    if (c->pending) {
        /*
         * Two discontinuities with no block in between (an interrupt taken on the way into a
         * handler): the first one's destination was never executed. Keep the first edge's
         * source and kind; the second transfer has no executed source of its own.
         */
        return;
    }
    /* The source is the last instruction started: the faulting one for exceptions. */
    c->pending = HOT_KEY(kind, c->last_id);
    c->next_pc = NEXT_PC_NONE;
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

uint64_t hotpath_block_count(const BlockRec *b)
{
    if (b->slot >= chunks->len * SLOTS_PER_CHUNK) {
        return 0;
    }
    return qemu_plugin_u64_sum(slot_entry(b->slot));
}
