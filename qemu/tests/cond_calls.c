/*
 * cond_calls.c: a measuring device for the QEMU patch series (qemu/patches/0009), not a
 * profiler. It checks that a conditional callback is called exactly when its condition holds,
 * for each of the six conditions of QEMU's plugin API and for an immediate that fits in 32
 * bits and one that does not (an x86-64 host compares those two differently).
 *
 * Every block adds 1 to a per-vCPU counter and STEP to a second one, then registers twelve
 * conditional callbacks: each condition against the first counter with the immediate 50 and
 * against the second with 50 * STEP. Within one vCPU index the counters take the values
 * 1, 2, 3, ... (times STEP), so the number of calls each condition should get follows from
 * the final count alone; the test (test_qemu_patches.py) computes it. Each callback also
 * reads the counter it was called for and counts a call whose condition does not hold.
 *
 * At exit, one line per vCPU index: `vcpu I executions N`, then for each condition and
 * immediate `COND SIZE calls C wrong W`.
 */
#include <qemu-plugin.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define STEP (UINT64_C(1) << 33) /* 50 * STEP needs all 64 bits of the immediate */
#define LIMIT 50
#define N_CONDS 6
#define N_CHECKS (2 * N_CONDS) /* each condition with a small and a large immediate */

static const enum qemu_plugin_cond conds[N_CONDS] = {
    QEMU_PLUGIN_COND_EQ, QEMU_PLUGIN_COND_NE, QEMU_PLUGIN_COND_LT,
    QEMU_PLUGIN_COND_LE, QEMU_PLUGIN_COND_GT, QEMU_PLUGIN_COND_GE,
};
static const char *const cond_names[N_CONDS] = {"EQ", "NE", "LT", "LE", "GT", "GE"};

typedef struct {
    uint64_t small; /* blocks executed */
    uint64_t large; /* blocks executed, times STEP */
    uint64_t calls[N_CHECKS];
    uint64_t wrong[N_CHECKS];
} VcpuCounts;

static struct qemu_plugin_scoreboard *board;
static qemu_plugin_u64 small, large;

static bool holds(enum qemu_plugin_cond cond, uint64_t v, uint64_t imm)
{
    switch (cond) {
    case QEMU_PLUGIN_COND_EQ:
        return v == imm;
    case QEMU_PLUGIN_COND_NE:
        return v != imm;
    case QEMU_PLUGIN_COND_LT:
        return v < imm;
    case QEMU_PLUGIN_COND_LE:
        return v <= imm;
    case QEMU_PLUGIN_COND_GT:
        return v > imm;
    case QEMU_PLUGIN_COND_GE:
        return v >= imm;
    default:
        return false;
    }
}

static void on_call(unsigned int vcpu, void *udata)
{
    unsigned int check = (unsigned int)(uintptr_t)udata;
    VcpuCounts *c = qemu_plugin_scoreboard_find(board, vcpu);
    bool is_large = check >= N_CONDS;
    uint64_t v = is_large ? c->large : c->small;
    uint64_t imm = is_large ? LIMIT * STEP : LIMIT;
    c->calls[check]++;
    if (!holds(conds[check % N_CONDS], v, imm)) {
        c->wrong[check]++;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, small, 1);
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, large,
                                                      STEP);
    for (unsigned int check = 0; check < N_CHECKS; check++) {
        bool is_large = check >= N_CONDS;
        qemu_plugin_register_vcpu_tb_exec_cond_cb(
            tb, on_call, QEMU_PLUGIN_CB_NO_REGS, conds[check % N_CONDS], is_large ? large : small,
            is_large ? LIMIT * STEP : LIMIT, (void *)(uintptr_t)check);
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    for (int vcpu = 0; vcpu < qemu_plugin_num_vcpus(); vcpu++) {
        const VcpuCounts *c = qemu_plugin_scoreboard_find(board, vcpu);
        fprintf(stderr, "vcpu %d executions %" PRIu64 "\n", vcpu, c->small);
        for (unsigned int check = 0; check < N_CHECKS; check++) {
            fprintf(stderr, "%s %s calls %" PRIu64 " wrong %" PRIu64 "\n",
                    cond_names[check % N_CONDS], check >= N_CONDS ? "large" : "small",
                    c->calls[check], c->wrong[check]);
        }
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    (void)argv;
    if (argc) {
        fprintf(stderr, "cond_calls: takes no options\n");
        return -1;
    }
    board = qemu_plugin_scoreboard_new(sizeof(VcpuCounts));
    small = qemu_plugin_scoreboard_u64_in_struct(board, VcpuCounts, small);
    large = qemu_plugin_scoreboard_u64_in_struct(board, VcpuCounts, large);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
