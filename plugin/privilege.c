/* privilege.c: the privilege level of translated code (see privilege.h). */
#include "privilege.h"

#include <pthread.h>

#include "arch.h"
#include "guest_regs.h"

static const CflowArch *arch;
static bool system_mode;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct qemu_plugin_register *regs[2]; /* the architecture's priv_regs */
static bool looked_up;

void privilege_init(const char *target_name, bool system_emulation)
{
    system_mode = system_emulation;
    arch = cflow_arch_find(target_name);
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
        for (int i = 0; i < 2; i++) {
            regs[i] = arch->priv_regs[i] ? guest_reg_find(arch->priv_regs[i]) : NULL;
        }
    }
    pthread_mutex_unlock(&lock);
}

CflowPriv privilege_now(void)
{
    if (!system_mode) {
        return CFLOW_PRIV_USER;
    }
    if (!arch->priv_level) {
        return CFLOW_PRIV_UNKNOWN;
    }
    bool ok[2];
    uint64_t value[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        ok[i] = guest_reg_read(regs[i], &value[i]);
    }
    return arch->priv_level(ok, value);
}
