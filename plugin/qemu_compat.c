/*
 * qemu_compat.c: detection of what the running QEMU offers (see qemu_compat.h).
 */
#include <stdio.h>
#include <unistd.h>

#include <qemu-plugin.h>

#include "qemu_compat.h"

/* Added by qemu/patches/0003; absent (NULL) on stock QEMU. */
extern bool qemu_plugin_vcpu_index_is_exact(void) __attribute__((weak));

/* Added by qemu/patches/0006; absent (NULL) on stock QEMU. */
extern void qemu_plugin_register_vcpu_tb_exec_cond_inline_per_vcpu(
    struct qemu_plugin_tb *tb, enum qemu_plugin_cond cond, qemu_plugin_u64 cond_entry,
    uint64_t cond_imm, enum qemu_plugin_op op, qemu_plugin_u64 entry, uint64_t imm)
    __attribute__((weak));

bool qemu_compat_cond_inline_available(void)
{
    return qemu_plugin_register_vcpu_tb_exec_cond_inline_per_vcpu != NULL;
}

void qemu_compat_cond_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_cond cond,
                             qemu_plugin_u64 cond_entry, uint64_t cond_imm,
                             enum qemu_plugin_op op, qemu_plugin_u64 entry, uint64_t imm)
{
    if (qemu_plugin_register_vcpu_tb_exec_cond_inline_per_vcpu) {
        qemu_plugin_register_vcpu_tb_exec_cond_inline_per_vcpu(tb, cond, cond_entry, cond_imm,
                                                                op, entry, imm);
    }
}

bool qemu_compat_vcpu_index_is_exact(void)
{
    return qemu_plugin_vcpu_index_is_exact && qemu_plugin_vcpu_index_is_exact();
}

/*
 * vCPUs whose init callback ran on this thread. QEMU runs each vCPU's init on the thread that
 * will execute it, before that vCPU runs guest code; with MTTCG every vCPU has a thread of its
 * own, so a second vCPU on one thread means round-robin.
 */
static __thread unsigned int vcpus_on_this_thread;
static __thread unsigned int first_vcpu_on_this_thread;

void qemu_compat_vcpu_init(unsigned int cpu, bool system_emulation)
{
    if (vcpus_on_this_thread++ == 0) {
        first_vcpu_on_this_thread = cpu;
        return;
    }
    if (!system_emulation || qemu_compat_vcpu_index_is_exact()) {
        return;
    }
    fprintf(stderr,
            "cflow: vCPUs %u and %u run in turn on one host thread (round-robin TCG: "
            "-accel tcg,thread=single, -icount, record/replay, or a guest QEMU cannot run "
            "multi-threaded), and this QEMU gives plugins the number of the vCPU that "
            "translated a block instead of the one running it, so the profile would credit "
            "edges to the wrong vCPU. Use -accel tcg,thread=multi (not possible with icount "
            "or replay), -smp 1, or the QEMU that cflow's set-up builds with its patch series "
            "(qemu/patches), which fixes this.\n",
            first_vcpu_on_this_thread, cpu);
    _exit(1);
}
