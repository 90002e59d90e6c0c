/*
 * threads.c: T threads (vCPUs come and go: two waves, so vCPU indices are reused) each run a
 * counted loop whose branch has a global label. Expected, exactly:
 *   branch      spin_branch -> spin_top      WAVES * T * (N - 1)
 *   fallthrough spin_branch -> spin_after    WAVES * T
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define T 4
#define WAVES 2
#define N 100000

static void *spin(void *arg)
{
    long n = N;
    __asm__ volatile(".globl spin_top\n"
                     "spin_top:\n"
                     "  dec %0\n"
                     ".globl spin_branch\n"
                     "spin_branch:\n"
                     "  jnz spin_top\n"
                     ".globl spin_after\n"
                     "spin_after:\n"
                     : "+r"(n));
    return arg;
}

int main(void)
{
    for (int w = 0; w < WAVES; w++) {
        pthread_t th[T];
        for (int i = 0; i < T; i++) {
            if (pthread_create(&th[i], NULL, spin, NULL)) {
                return 2;
            }
        }
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
        }
    }
    puts("threads ok");
    return 0;
}
