/*
 * reexec.c [thread]: instructions that QEMU runs in pieces or a second time, alone, which the
 * guest sees as one execution each. With "thread", a thread is created and joined first: QEMU
 * then translates for parallel execution and re-runs a misaligned atomic by itself.
 *   rep_insn:   `rep movsb` of 1 MiB, REPS times (QEMU re-enters it every 65,536 bytes)
 *   lock_insn:  a misaligned `lock incl` in the middle of a loop body, LOCKS times
 * Expected, exactly, in every case:
 *   no edge out of rep_insn or lock_insn to itself
 *   branch      rep_branch  -> rep_top         REPS - 1
 *   branch      lock_branch -> lock_top        LOCKS - 1
 *   block rep_top entered REPS times, block lock_top LOCKS times
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPS 3
#define LOCKS 1000
#define BYTES (1 << 20)

static char src[BYTES], dst[BYTES];
static _Alignas(64) unsigned char cell[128];

static void *nothing(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "thread") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL)) {
            return 2;
        }
    }
    long reps = REPS;
    __asm__ volatile(".globl rep_top\n"
                     "rep_top:\n"
                     "  lea %1, %%rsi\n"
                     "  lea %2, %%rdi\n"
                     "  mov %3, %%ecx\n"
                     ".globl rep_insn\n"
                     "rep_insn:\n"
                     "  rep movsb\n"
                     "  dec %0\n"
                     ".globl rep_branch\n"
                     "rep_branch:\n"
                     "  jnz rep_top\n"
                     : "+r"(reps)
                     : "m"(src), "m"(dst), "i"(BYTES)
                     : "rsi", "rdi", "rcx", "memory");
    long locks = LOCKS;
    unsigned char *misaligned = cell + 62; /* a 4-byte lock across a cache line */
    __asm__ volatile(".globl lock_top\n"
                     "lock_top:\n"
                     "  add $1, %%rax\n"
                     ".globl lock_insn\n"
                     "lock_insn:\n"
                     "  lock incl (%1)\n"
                     "  dec %0\n"
                     ".globl lock_branch\n"
                     "lock_branch:\n"
                     "  jnz lock_top\n"
                     : "+r"(locks)
                     : "r"(misaligned)
                     : "rax", "memory");
    unsigned int v;
    memcpy(&v, misaligned, sizeof(v));
    printf("reexec ok %u\n", v);
    return v == LOCKS ? 0 : 1;
}
