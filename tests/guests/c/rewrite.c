/*
 * rewrite.c: a JIT that reuses its code space. One RWX page holds a small function,
 * "mov $g,%eax; ret"; it is rewritten N times in place (g = 1..N, so every generation's
 * bytes differ) and called once after each rewrite. Usage: rewrite N (default 1000).
 * Exact profile: N generations of the mov at the page (its immediate differs each time) and
 * one of the ret (its bytes never change); N blocks at the page, one per generation, each
 * entered once from the call in call_it; the ret returns to call_it N times.
 * Exits 0 when the sum of the returned values is N(N+1)/2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef unsigned int (*fn)(void);

unsigned int __attribute__((noinline)) call_it(fn f)
{
    return f();
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        return 2;
    }
    unsigned long long sum = 0;
    for (unsigned int g = 1; g <= n; g++) {
        unsigned char code[6] = {0xb8, 0, 0, 0, 0, 0xc3}; /* mov $g,%eax; ret */
        memcpy(code + 1, &g, 4);
        memcpy(page, code, sizeof(code));
        sum += call_it((fn)page);
    }
    printf("rewrite page %p generations %lu sum %llu\n", (void *)page, n, sum);
    return sum == (unsigned long long)n * (n + 1) / 2 ? 0 : 1;
}
