/* sigframe.c: handler entries that are fault deliveries (see sigframe.h). */
#include "sigframe.h"

#include <pthread.h>

#include <glib.h>
#include <string.h>

#include <qemu-plugin.h>

#include "guest_regs.h"

typedef struct {
    const char *arch;
    const char *signo_reg; /* the handler's first argument: the signal number */
    const char *uc_reg;    /* its third: the ucontext QEMU built */
    uint32_t pc_offset;    /* of the saved program counter in the ucontext */
    int64_t rt_sigaction;  /* syscall number */
} FrameLayout;

/*
 * Offsets from QEMU's linux-user signal frames (10.2), which follow the kernel's:
 * x86_64 uc_flags, uc_link, uc_stack (40 bytes), then sigcontext r8..r15, rdi, rsi, rbp, rbx,
 * rdx, rax, rcx, rsp, rip; aarch64 and riscv64 put 128 bytes of signal mask before a
 * 16-aligned mcontext (176), whose pc is after fault_address, x0-x30 and sp on aarch64 and
 * first on riscv64.
 */
static const FrameLayout layouts[] = {
    {"x86_64", "rdi", "rdx", 40 + 16 * 8, 13},
    {"aarch64", "x0", "x2", 176 + 8 + 31 * 8 + 8, 134},
    {"riscv64", "a0", "a2", 176, 134},
};

static const FrameLayout *layout;
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
    for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++) {
        if (strcmp(layouts[i].arch, target_name) == 0) {
            layout = &layouts[i];
        }
    }
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
