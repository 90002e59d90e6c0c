/*
 * faults.c: faults in the middle of hot blocks, for the lean instrumentation (blocks that skip
 * the id store on instructions that cannot fault). Each round runs register-only arithmetic,
 * then one faulting instruction, then more arithmetic, in one straight-line block; a handler
 * siglongjmps back. Per kind, N rounds: the early-exit (or exception) edges out of each
 * labelled faulting instruction must count exactly N, in every mode.
 *   fault_load   a load from address 0                  SIGSEGV, early-exit
 *   fault_store  a store into a read-only page          SIGSEGV, early-exit
 *   fault_div    an integer division by zero            SIGFPE, exception (QEMU reports #DE)
 *   fault_rep    rep movsb into a read-only page        SIGSEGV, early-exit
 * With argument "late", the handler runs once as a plain call before it is installed: its first
 * block was translated as ordinary code when the signals come (the plugin must notice).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define N 3000

static sigjmp_buf back;
static volatile unsigned long faults;

__attribute__((noinline)) static void on_fault(int sig)
{
    if (sig == 0) {
        return; /* the plain call of "late" */
    }
    faults++;
    siglongjmp(back, 1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "late") == 0) {
        void (*volatile call)(int) = on_fault; /* a real call, not inlined away */
        call(0);
    }
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static char src[64];
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    unsigned long acc = 1;
    for (int i = 0; i < 4 * N; i++) {
        if (sigsetjmp(back, 1)) {
            continue;
        }
        unsigned long zero = 0, n = 8;
        switch (i % 4) {
        case 0:
            __asm__ volatile("add $3, %0\n imul %0, %0\n xor %%eax, %%eax\n"
                             ".globl fault_load\nfault_load:\n mov (%%rax), %%eax\n"
                             "add $5, %0\n" : "+r"(acc) : : "rax", "memory");
            break;
        case 1:
            __asm__ volatile("add $3, %0\n shl $1, %0\n"
                             ".globl fault_store\nfault_store:\n movb $1, (%1)\n"
                             "sub $5, %0\n" : "+r"(acc) : "r"(ro) : "memory");
            break;
        case 2:
            __asm__ volatile("add $3, %0\n mov %0, %%rax\n xor %%edx, %%edx\n"
                             ".globl fault_div\nfault_div:\n divq %1\n"
                             "add %%rax, %0\n" : "+r"(acc) : "r"(zero) : "rax", "rdx");
            break;
        default: {
            char *dst = ro;
            const char *from = src;
            __asm__ volatile("add $3, %0\n"
                             ".globl fault_rep\nfault_rep:\n rep movsb\n"
                             "add $7, %0\n"
                             : "+r"(acc), "+D"(dst), "+S"(from), "+c"(n) : : "memory");
            break;
        }
        }
    }
    printf("faults %lu\n", faults);
    return faults == 4 * N ? 0 : 1;
}
