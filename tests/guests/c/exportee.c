/*
 * exportee.c: the guest of `cflow export`'s tests (tests/integration/test_export_*.py), with
 * counts known by construction for ROUNDS = argv[1] (default 1000):
 *   classify() and mix() are each called ROUNDS times; the switch sends i % 5 to its cases;
 *   the EXPORT-ODD branch is taken for the odd results (i % 5 in {0, 2, 3, 4} with the values
 *   below); never_called() and the EXPORT-DEAD line never run.
 * Lines are found through the EXPORT-* markers, never by number. Built -O0 -g --coverage for
 * the gcov comparison, -O2 -Wl,-q for BOLT.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int classify(int v)
{
    switch (v % 5) { /* EXPORT-SWITCH */
    case 0:
        return 1;
    case 1:
        return 2;
    case 3:
        return 7;
    default:
        return (v & 3) | 1;
    }
}

__attribute__((noinline)) static unsigned long mix(unsigned long h, int v)
{
    return h * 31 + (unsigned)v; /* EXPORT-MIX */
}

__attribute__((noinline)) int never_called(int x)
{
    return x * 3; /* EXPORT-NEVER */
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    unsigned long h = 0;
    int odd = 0;
    for (int i = 0; i < rounds; i++) {
        int c = classify(i);
        if (c & 1) { /* EXPORT-ODD */
            odd++;
        }
        h = mix(h, c);
    }
    if (rounds < 0) {
        h = (unsigned long)never_called(rounds); /* EXPORT-DEAD */
    }
    printf("odd %d hash %lu\n", odd, h);
    return 0;
}
