/*
 * callfault.c: block-ending instructions that can transfer control, faulting instead: a direct
 * `call` with the stack pointer on an unmapped page (the push faults), and a `ret` the same
 * way. A SIGSEGV handler on an alternate stack longjmps back. Expected, exactly:
 *   early-exit  call_insn -> on_segv   CALLS    (never a branch)
 *   early-exit  ret_insn  -> on_segv   CALLS
 *   branch      ind_call  -> on_segv   1        (a real call of the handler, signal number in
 *                                                its first argument, stays a branch)
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define CALLS 5

static sigjmp_buf back;
static long saved_sp;

void on_segv(int sig)
{
    siglongjmp(back, 1);
}

void call_target(void)
{
}

int main(void)
{
    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    struct sigaction sa = {.sa_handler = on_segv, .sa_flags = SA_ONSTACK | SA_NODEFER};
    if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL)) {
        return 2;
    }
    volatile int calls = 0, rets = 0;
    for (volatile int i = 0; i < CALLS; i++) {
        if (sigsetjmp(back, 1) == 0) {
            __asm__ volatile("  mov %%rsp, %0\n"
                             "  mov $0x1000, %%rsp\n"
                             ".globl call_insn\n"
                             "call_insn:\n"
                             "  call call_target\n"
                             : "=m"(saved_sp)
                             :
                             : "memory");
        }
        calls++;
    }
    for (volatile int i = 0; i < CALLS; i++) {
        if (sigsetjmp(back, 1) == 0) {
            __asm__ volatile("  mov %%rsp, %0\n"
                             "  mov $0x1000, %%rsp\n"
                             ".globl ret_insn\n"
                             "ret_insn:\n"
                             "  ret\n"
                             : "=m"(saved_sp)
                             :
                             : "memory");
        }
        rets++;
    }
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("  mov $11, %%edi\n"
                         "  xor %%edx, %%edx\n"
                         "  lea on_segv(%%rip), %%rax\n"
                         ".globl ind_call\n"
                         "ind_call:\n"
                         "  call *%%rax\n"
                         :
                         :
                         : "rax", "rdi", "rdx", "memory");
    }
    printf("callfault ok %d %d\n", calls, rets);
    return 0;
}
