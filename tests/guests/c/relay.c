/*
 * relay.c N: N threads in a relay: each is created before the previous one is joined, so two
 * are alive at a time and QEMU's vCPU index climbs by one per thread (the highest live index
 * + 1), to about N: each thread stays alive until the next one exists. Each thread runs a
 * counted loop whose branch has a global label.
 * Expected, exactly:
 *   branch      relay_branch -> relay_top      N * (K - 1)
 *   fallthrough relay_branch -> relay_after    N
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define K 1000

static long created; /* threads created so far */

static void *spin(void *arg)
{
    long me = (long)arg, n = K;
    __asm__ volatile(".globl relay_top\n"
                     "relay_top:\n"
                     "  dec %0\n"
                     ".globl relay_branch\n"
                     "relay_branch:\n"
                     "  jnz relay_top\n"
                     ".globl relay_after\n"
                     "relay_after:\n"
                     : "+r"(n));
    while (__atomic_load_n(&created, __ATOMIC_ACQUIRE) <= me + 1) {
        sched_yield(); /* the next thread must exist before this one exits */
    }
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* small stacks: the guest's own memory */
    pthread_t prev;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, spin, (void *)i)) {
            fprintf(stderr, "relay: pthread_create failed at %ld\n", i);
            return 2;
        }
        __atomic_store_n(&created, i + 1, __ATOMIC_RELEASE);
        if (i > 0 && pthread_join(prev, NULL)) {
            return 3;
        }
        prev = t;
    }
    __atomic_store_n(&created, n + 1, __ATOMIC_RELEASE);
    if (n > 0 && pthread_join(prev, NULL)) {
        return 3;
    }
    printf("relay ok %ld\n", n);
    return 0;
}
