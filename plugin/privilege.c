/* privilege.c: the privilege level of translated code (see privilege.h). */
#include "privilege.h"

#include <pthread.h>
#include <string.h>

#include "guest_regs.h"

typedef enum { ARCH_OTHER, ARCH_X86_64, ARCH_AARCH64, ARCH_RISCV } Arch;

static Arch arch;
static bool system_mode;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct qemu_plugin_register *reg_a, *reg_b; /* x86: cs, cr0; aarch64: cpsr; riscv: priv */
static bool looked_up;

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
    guest_regs_thread_init();
    pthread_mutex_lock(&lock);
    if (!looked_up) {
        looked_up = true;
        reg_a = guest_reg_find(arch == ARCH_X86_64 ? "cs" : arch == ARCH_AARCH64 ? "cpsr" : "priv");
        reg_b = arch == ARCH_X86_64 ? guest_reg_find("cr0") : NULL;
    }
    pthread_mutex_unlock(&lock);
}

CflowPriv privilege_now(void)
{
    if (!system_mode) {
        return CFLOW_PRIV_USER;
    }
    uint64_t a, b;
    switch (arch) {
    case ARCH_X86_64:
        if (guest_reg_read(reg_b, &b) && !(b & 1)) {
            return CFLOW_PRIV_FIRMWARE; /* CR0.PE clear: real mode, the BIOS */
        }
        if (!guest_reg_read(reg_a, &a)) {
            return CFLOW_PRIV_UNKNOWN;
        }
        return (a & 3) == 3 ? CFLOW_PRIV_USER : CFLOW_PRIV_KERNEL;
    case ARCH_AARCH64:
        if (!guest_reg_read(reg_a, &a)) {
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
        if (!guest_reg_read(reg_a, &a)) {
            return CFLOW_PRIV_UNKNOWN;
        }
        return a == 0 ? CFLOW_PRIV_USER : a == 1 ? CFLOW_PRIV_KERNEL : CFLOW_PRIV_FIRMWARE;
    default:
        return CFLOW_PRIV_UNKNOWN;
    }
}
