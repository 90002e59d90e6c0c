/*
 * branchy.c: a guest with known branch counts at known source lines, for the tool's source
 * line views (built with -g -O0 by tests/integration/test_tool_*.py; the tests find the lines
 * by the marker comments, never by number).
 *
 *   branchy [K]   runs the loop 300000 times; the branch marked CHANGED-BRANCH is taken in
 *                 300000 - ceil(300000 / K) iterations (K defaults to 3)
 */
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 300000u

static unsigned long __attribute__((noinline)) bump(unsigned long sum, unsigned i)
{
    return sum + i;
}

int main(int argc, char **argv)
{
    unsigned k = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
    unsigned long sum = 0;
    for (unsigned i = 0; i < ROUNDS; i++) { /* HOT-LOOP */
        if (i % k == 0) { /* CHANGED-BRANCH */
            sum = bump(sum, i);
        }
    }
    printf("branchy %u: %lu\n", k, sum);
    return 0;
}
