/*
 * names.c: the guest of tests/integration/test_names.py, built -O2 -g (without moving loop
 * invariants, so that all of classify's code stays in the loop) and linked dynamically,
 * so that main calls libc through the PLT and classify() is inlined into main. For a text of
 * N bytes on standard input:
 *   getc is called N + 1 times (the last one returns EOF), each call through getc@plt;
 *   classify() runs N times, inlined at the NAMES-CALL line, its first test on NAMES-SPACE;
 *   printf and puts are called once each, through their stubs.
 * Lines are found through the NAMES-* markers, never by number.
 */
#include <ctype.h>
#include <stdio.h>

static int classify(int c) /* NAMES-CLASSIFY */
{
    if (isspace(c)) { /* NAMES-SPACE */
        return 0;
    }
    if (isdigit(c)) {
        return 1;
    }
    return 2;
}

int main(void)
{
    long counts[3] = {0, 0, 0};
    int c;
    while ((c = getc(stdin)) != EOF) {
        counts[classify(c)]++; /* NAMES-CALL */
    }
    printf("%ld spaces, %ld digits, %ld others\n", counts[0], counts[1], counts[2]);
    puts("done");
    return 0;
}
