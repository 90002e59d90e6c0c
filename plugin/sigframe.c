/* sigframe.c: handler entries that are fault deliveries (see sigframe.h). */
#include "sigframe.h"

#include <pthread.h>

#include <glib.h>
#include <string.h>

#include <qemu-plugin.h>

#include "arch.h"
#include "guest_regs.h"

static const CflowSigframe *layout; /* the guest architecture's (arch.h), in user mode */
static struct qemu_plugin_register *signo_reg, *uc_reg;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *handlers; /* addresses, under lock */
static __thread GByteArray *frame; /* the saved PC read from guest memory */

void sigframe_init(const char *target_name, bool system_emulation)
{
    handlers = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    if (system_emulation) {
        return;
    }
    layout = cflow_arch_find(target_name)->sigframe;
}

void sigframe_vcpu_init(void)
{
    if (!layout) {
        return;
    }
    guest_regs_thread_init();
    if (!frame) {
        frame = g_byte_array_sized_new(16); /* per thread, so the check never allocates */
    }
    pthread_mutex_lock(&lock);
    if (!signo_reg) {
        signo_reg = guest_reg_find(layout->signo_reg);
        uc_reg = guest_reg_find(layout->uc_reg);
    }
    pthread_mutex_unlock(&lock);
}

uint64_t sigframe_syscall(int64_t num, uint64_t a1, uint64_t a2)
{
    if (!layout || num != layout->rt_sigaction || a2 == 0) {
        return 0;
    }
    g_autoptr(GByteArray) buf = g_byte_array_new();
    if (!qemu_plugin_read_memory_vaddr(a2, buf, 8)) {
        return 0;
    }
    uint64_t handler = 0;
    memcpy(&handler, buf->data, 8); /* sa_handler comes first; little-endian guests */
    bool added = false;
    if (handler > 1) {               /* not SIG_DFL, SIG_IGN */
        pthread_mutex_lock(&lock);
        added = g_hash_table_add(handlers, g_memdup2(&handler, sizeof(handler)));
        pthread_mutex_unlock(&lock);
    }
    return added ? handler : 0;
}

bool sigframe_is_handler(uint64_t addr)
{
    if (!layout) {
        return false;
    }
    pthread_mutex_lock(&lock);
    bool is = g_hash_table_contains(handlers, &addr);
    pthread_mutex_unlock(&lock);
    return is;
}

bool sigframe_fault_pc(uint64_t *pc)
{
    uint64_t signo, uc;
    if (!layout || !frame || !guest_reg_read(signo_reg, &signo) ||
        !guest_reg_read(uc_reg, &uc)) {
        return false;
    }
    /* SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV: the numbers are the same on these targets */
    if (signo != 4 && signo != 5 && signo != 7 && signo != 8 && signo != 11) {
        return false;
    }
    g_byte_array_set_size(frame, 0);
    if (uc == 0 || !qemu_plugin_read_memory_vaddr(uc + layout->pc_offset, frame, 8)) {
        return false;
    }
    memcpy(pc, frame->data, 8);
    return true;
}

bool sigframe_fault_of(uint64_t insn_addr)
{
    uint64_t saved_pc;
    return sigframe_fault_pc(&saved_pc) && saved_pc == insn_addr;
}
