/*
 * guest_regs.h: reading a guest register from a plugin callback that may read registers (the
 * translation callback, a callback registered with QEMU_PLUGIN_CB_R_REGS), without
 * allocating: each thread keeps one buffer. Used by privilege.c and sigframe.c.
 */
#ifndef CFLOW_GUEST_REGS_H
#define CFLOW_GUEST_REGS_H

#include <stdbool.h>
#include <stdint.h>

#include <qemu-plugin.h>

/* vCPU init context (QEMU lists registers only there): the handle named `name`, or NULL. */
struct qemu_plugin_register *guest_reg_find(const char *name);
/* Prepares this thread's buffer; call from the vCPU init callback of each vCPU thread. */
void guest_regs_thread_init(void);
/* The register's value (up to 8 bytes, little-endian guests); false if unreadable. */
bool guest_reg_read(struct qemu_plugin_register *reg, uint64_t *out);

#endif
