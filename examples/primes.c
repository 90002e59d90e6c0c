/*
 * The bundled example: a small program with hot loops, a badly biased branch and an indirect
 * call, built for aarch64 and profiled under qemu-aarch64 by `make example`.
 */
#include <stdio.h>
#include <stdlib.h>

static int is_prime(unsigned n)
{
    if (n < 2) {
        return 0;
    }
    for (unsigned d = 2; d * d <= n; d++) {
        if (n % d == 0) {
            return 0;
        }
    }
    return 1;
}

static unsigned collatz_steps(unsigned long n)
{
    unsigned steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

static unsigned twice(unsigned x) { return 2 * x; }
static unsigned square(unsigned x) { return x * x; }
static unsigned (*const ops[])(unsigned) = {twice, square};

int main(int argc, char **argv)
{
    unsigned limit = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
    unsigned primes = 0, longest = 0, mixed = 0;
    for (unsigned n = 1; n <= limit; n++) {
        primes += is_prime(n);
        unsigned s = collatz_steps(n);
        if (s > longest) {
            longest = s;
        }
        mixed += ops[n % 3 == 0](n & 0xff);
    }
    printf("primes below %u: %u, longest collatz chain: %u, mixed: %u\n", limit, primes,
           longest, mixed);
    return 0;
}
