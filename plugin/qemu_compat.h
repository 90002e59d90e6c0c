/*
 * qemu_compat.h: what the QEMU the plugin runs in offers beyond stock QEMU 10.2, decided at
 * load, and the configurations where a stock QEMU cannot give an exact profile.
 *
 * The project builds QEMU with its own patch series (qemu/patches/). The plugin compiles
 * against stock QEMU's qemu-plugin.h and refers to each function a patch adds weakly: on a
 * QEMU without it the symbol resolves to NULL and the plugin takes the stock route.
 */
#ifndef CFLOW_QEMU_COMPAT_H
#define CFLOW_QEMU_COMPAT_H

#include <stdbool.h>
#include <stdint.h>

#include <qemu-plugin.h>

/*
 * Once per vCPU, from its init callback (on the thread that will run it). In system mode,
 * refuses to go on, before any guest code runs, when QEMU runs several vCPUs in turn on one
 * thread (round-robin TCG, which icount and record/replay force) and cannot say which vCPU
 * executes a block: stock QEMU 10.2 then gives callbacks and inline operations the index of
 * the vCPU that translated the block, so per-vCPU state would be mixed. Prints why and what to
 * do, then ends QEMU with status 1.
 */
void qemu_compat_vcpu_init(unsigned int cpu, bool system_emulation);

/* Does this QEMU name the executing vCPU in every mode (patch 0002 and 0003)? */
bool qemu_compat_vcpu_index_is_exact(void);

/* Has this QEMU conditional inline operations on blocks (patch 0006)? */
bool qemu_compat_cond_inline_available(void);
/* If available (else nothing): `op` of `imm` on `entry` when `cond_entry` `cond` `cond_imm`. */
void qemu_compat_cond_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_cond cond,
                             qemu_plugin_u64 cond_entry, uint64_t cond_imm,
                             enum qemu_plugin_op op, qemu_plugin_u64 entry, uint64_t imm);

#endif
