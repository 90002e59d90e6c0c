/*
 * pgo.c: the guest of `cflow export autofdo-llvm` / `autofdo-gcc` (tests/integration/
 * test_export_autofdo.py), built -O2 -g for x86_64, aarch64 and riscv64. Counts known by
 * construction for ROUNDS = argv[1] (default 1000; a multiple of 10):
 *   the PGO-LOOP body runs ROUNDS times; the indirect call at PGO-ICALL goes to op_add 6 times
 *   in 10, op_mul 3 times and op_neg once (the pick table), so op_add is entered
 *   ROUNDS * 6 / 10 times; scale() is inlined into work() at PGO-INLINE (always_inline) and
 *   its PGO-CUT branch runs once in 4 rounds (a call, which no compiler turns into a select);
 *   never_run() never runs, nor does its call at PGO-NEVER (rounds is not negative).
 * Lines are found through the PGO-* markers (PGO-DECL-f: the line declaring f), never by number.
 */
#include <stdio.h>
#include <stdlib.h>

typedef long (*op_fn)(long);

__attribute__((noinline)) long op_add(long v) /* PGO-DECL-op_add */
{
    return v + 3; /* PGO-ADD */
}

__attribute__((noinline)) long op_mul(long v) /* PGO-DECL-op_mul */
{
    return v * 5; /* PGO-MUL */
}

__attribute__((noinline)) long op_neg(long v) /* PGO-DECL-op_neg */
{
    return -v; /* PGO-NEG */
}

__attribute__((noinline)) long halve(long v) /* PGO-DECL-halve */
{
    return v / 2 + 1; /* PGO-HALVE */
}

__attribute__((noinline)) long never_run(long v) /* PGO-DECL-never_run */
{
    return v * v; /* PGO-DEAD */
}

op_fn ops[4] = {op_add, op_mul, op_neg, never_run};
const unsigned char pick[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2};

static inline __attribute__((always_inline)) long scale(long v, long i) /* PGO-DECL-scale */
{
    if ((i & 3) == 0) /* PGO-TEST */
        v = halve(v); /* PGO-CUT */
    return v;
}

__attribute__((noinline)) long work(long rounds) /* PGO-DECL-work */
{
    long acc = 1;
    for (long i = 0; i < rounds; i++) { /* PGO-LOOP */
        op_fn f = ops[pick[i % 10]];
        acc = f(acc) % 1000003; /* PGO-ICALL */
        acc = scale(acc, i); /* PGO-INLINE */
    }
    return acc;
}

int main(int argc, char **argv) /* PGO-DECL-main */
{
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    if (rounds < 0)
        rounds = never_run(rounds); /* PGO-NEVER */
    printf("%ld\n", work(rounds));
    return 0;
}
