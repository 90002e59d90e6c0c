/* privilege.c: the privilege level of translated code (see privilege.h). */
#include "privilege.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#include <qemu-plugin.h>

typedef enum { ARCH_OTHER, ARCH_X86_64, ARCH_AARCH64, ARCH_RISCV } Arch;

static Arch arch;
static bool system_mode;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct qemu_plugin_register *reg_a, *reg_b; /* x86: cs, cr0; aarch64: cpsr; riscv: priv */
static bool looked_up;
static __thread GByteArray *scratch;

void privilege_init(const char *target_name, bool system_emulation)
{
    system_mode = system_emulation;
    arch = strcmp(target_name, "x86_64") == 0    ? ARCH_X86_64
           : strcmp(target_name, "aarch64") == 0 ? ARCH_AARCH64
           : strncmp(target_name, "riscv", 5) == 0 ? ARCH_RISCV
                                                   : ARCH_OTHER;
}

void privilege_vcpu_init(void)
{
    if (!system_mode) {
        return;
    }
    if (!scratch) {
        scratch = g_byte_array_sized_new(16);
    }
    pthread_mutex_lock(&lock);
    if (!looked_up) {
        looked_up = true;
        const char *a = arch == ARCH_X86_64 ? "cs" : arch == ARCH_AARCH64 ? "cpsr" : "priv";
        const char *b = arch == ARCH_X86_64 ? "cr0" : NULL;
        g_autoptr(GArray) regs = qemu_plugin_get_registers();
        for (guint i = 0; regs && i < regs->len; i++) {
            qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
            if (strcmp(d->name, a) == 0) {
                reg_a = d->handle;
            } else if (b && strcmp(d->name, b) == 0) {
                reg_b = d->handle;
            }
        }
    }
    pthread_mutex_unlock(&lock);
}

static bool read_reg(struct qemu_plugin_register *reg, uint64_t *out)
{
    if (!reg || !scratch) {
        return false;
    }
    g_byte_array_set_size(scratch, 0);
    int n = qemu_plugin_read_register(reg, scratch);
    if (n <= 0 || n > 8) {
        return false;
    }
    *out = 0;
    memcpy(out, scratch->data, (size_t)n); /* little-endian guests */
    return true;
}

CflowPriv privilege_now(void)
{
    if (!system_mode) {
        return CFLOW_PRIV_USER;
    }
    uint64_t a, b;
    switch (arch) {
    case ARCH_X86_64:
        if (read_reg(reg_b, &b) && !(b & 1)) {
            return CFLOW_PRIV_FIRMWARE; /* CR0.PE clear: real mode, the BIOS */
        }
        if (!read_reg(reg_a, &a)) {
            return CFLOW_PRIV_UNKNOWN;
        }
        return (a & 3) == 3 ? CFLOW_PRIV_USER : CFLOW_PRIV_KERNEL;
    case ARCH_AARCH64:
        if (!read_reg(reg_a, &a)) {
            return CFLOW_PRIV_UNKNOWN;
        }
        if (a & 0x10) {
            return (a & 0xf) == 0 ? CFLOW_PRIV_USER : CFLOW_PRIV_KERNEL; /* AArch32 */
        }
        switch ((a >> 2) & 3) {
        case 0: return CFLOW_PRIV_USER;
        case 1: return CFLOW_PRIV_KERNEL;
        case 2: return CFLOW_PRIV_HYPERVISOR;
        default: return CFLOW_PRIV_FIRMWARE;
        }
    case ARCH_RISCV:
        if (!read_reg(reg_a, &a)) {
            return CFLOW_PRIV_UNKNOWN;
        }
        return a == 0 ? CFLOW_PRIV_USER : a == 1 ? CFLOW_PRIV_KERNEL : CFLOW_PRIV_FIRMWARE;
    default:
        return CFLOW_PRIV_UNKNOWN;
    }
}
