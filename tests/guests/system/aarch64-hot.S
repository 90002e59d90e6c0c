/*
 * aarch64-hot.S: a bare-metal guest (qemu-system-aarch64 -M virt -cpu max -semihosting) with
 * functions of known weight, typed as functions so that a symbols= file (this ELF) names them:
 * `_start` calls `hot` and then `cold`, ROUNDS times; `hot` loops HOT_N times, `cold` COLD_N
 * times. It exits with status 3 (semihosting SYS_EXIT, ADP_Stopped_ApplicationExit, subcode 3),
 * so a passed-through status is told from QEMU's own.
 *
 * Built as is (SECONDS 0) it makes one pass. Built with -DSECONDS=N it makes passes of ROUNDS
 * rounds until QEMU has used N seconds of CPU time (semihosting SYS_CLOCK; with one vCPU about
 * as much wall time): a guest that runs long, for the live view, whose hottest function is
 * `hot` from the first pass on.
 *
 * Expected exactly, per pass (cflow report --by function):
 *   hot    entries ROUNDS, executed ROUNDS * (2 * HOT_N + 2), branches ROUNDS * HOT_N
 *          (HOT_N - 1 back edges and the return, per call), fall-throughs ROUNDS
 *   cold   entries ROUNDS, executed ROUNDS * (2 * COLD_N + 2), branches ROUNDS * COLD_N,
 *          fall-throughs ROUNDS
 *   branch hot_branch -> hot_top    ROUNDS * (HOT_N - 1)
 */
#ifndef SECONDS
#define SECONDS 0
#endif
    .equ ROUNDS, 1000
    .equ HOT_N, 100
    .equ COLD_N, 10

    .text
    .globl _start
    .type _start, %function
_start:
#if SECONDS
    bl clock
    add x21, x0, #(SECONDS * 100)
#endif
    .globl pass
pass:
    mov x20, #ROUNDS
    .globl round
round:
    bl hot
    bl cold
    sub x20, x20, #1
    .globl round_branch
round_branch:
    cbnz x20, round
#if SECONDS
    bl clock
    cmp x0, x21
    b.lt pass
#endif
    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    .globl exit_call
exit_call:
    hlt #0xf000
hang:
    b hang
    .size _start, . - _start

    .globl hot
    .type hot, %function
hot:
    mov x2, #HOT_N
    .globl hot_top
hot_top:
    sub x2, x2, #1
    .globl hot_branch
hot_branch:
    cbnz x2, hot_top
    ret
    .size hot, . - hot

    .globl cold
    .type cold, %function
cold:
    mov x3, #COLD_N
    .globl cold_top
cold_top:
    sub x3, x3, #1
    .globl cold_branch
cold_branch:
    cbnz x3, cold_top
    ret
    .size cold, . - cold

    /* x0 = centiseconds of CPU time QEMU has used (semihosting SYS_CLOCK, no argument) */
    .type clock, %function
clock:
    mov x0, #0x10
    mov x1, #0
    hlt #0xf000
    ret
    .size clock, . - clock

    .data
    .balign 8
exit_block:
    .quad 0x20026               /* ADP_Stopped_ApplicationExit */
    .quad 3                     /* the exit status */
