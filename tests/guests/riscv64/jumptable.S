/*
 * jumptable.S (riscv64): an indirect jump (jr) through a table of 5 targets, driven by a fixed
 * sequence of 28 indices in which target k occurs 2, 3, 5, 7, 11 times (k = 0..4).
 *
 *   for (p = seq, n = 28; n != 0; n--)          # jt_branch: bnez s9, jt_top
 *       goto *table[*p++];                      # jt_dispatch: jr t1
 *   caseK: countK++; goto jt_join;              # caseK_jmp: j jt_join (K = 0..3)
 *   case4: count4++;  (falls into jt_join inside the same block: no edge)
 *
 * The program checks the five counters and exits 0 after writing "jumptable ok\n".
 */
#define SYS_write 64
#define SYS_exit_group 94

    /* No linker relaxation: nothing sets up gp, and addresses should not move. */
    .option norelax
    .text
    .globl _start
_start:
    li s2, 0                    /* count0 .. count4 */
    li s3, 0
    li s4, 0
    li s5, 0
    li s6, 0
    lla s7, seq
    lla s8, table
    lla s9, seq_end
    sub s9, s9, s7
    .globl jt_top
jt_top:
    lbu t0, 0(s7)
    addi s7, s7, 1
    slli t0, t0, 3
    add t0, t0, s8
    ld t1, 0(t0)
    .globl jt_dispatch
jt_dispatch:
    jr t1
    j fail                  /* never runs: case0 must not be the address after the jump */

    .globl case0
case0:
    addi s2, s2, 1
    .globl case0_jmp
case0_jmp:
    j jt_join
    .globl case1
case1:
    addi s3, s3, 1
    .globl case1_jmp
case1_jmp:
    j jt_join
    .globl case2
case2:
    addi s4, s4, 1
    .globl case2_jmp
case2_jmp:
    j jt_join
    .globl case3
case3:
    addi s5, s5, 1
    .globl case3_jmp
case3_jmp:
    j jt_join
    .globl case4
case4:
    addi s6, s6, 1
    .globl jt_join
jt_join:
    addi s9, s9, -1
    .globl jt_branch
jt_branch:
    bnez s9, jt_top
    .globl jt_done
jt_done:
    li t0, 2
    .globl check0
check0:
    bne s2, t0, fail
    .globl check0_ok
check0_ok:
    li t0, 3
    .globl check1
check1:
    bne s3, t0, fail
    .globl check1_ok
check1_ok:
    li t0, 5
    .globl check2
check2:
    bne s4, t0, fail
    .globl check2_ok
check2_ok:
    li t0, 7
    .globl check3
check3:
    bne s5, t0, fail
    .globl check3_ok
check3_ok:
    li t0, 11
    .globl check4
check4:
    bne s6, t0, fail
    .globl check4_ok
check4_ok:
    li a0, 1                    /* write(1, msg, len) */
    lla a1, msg
    lla a2, msg_end
    sub a2, a2, a1
    li a7, SYS_write
    .globl write_sys
write_sys:
    ecall
    .globl after_write
after_write:
    li a0, 0                    /* exit_group(0) */
    li a7, SYS_exit_group
    .globl exit_sys
exit_sys:
    ecall

    .globl fail
fail:
    li a0, 1                    /* exit_group(1) */
    li a7, SYS_exit_group
    ecall

    .section .rodata
    .balign 8
table:
    .quad case0, case1, case2, case3, case4
seq:
    .byte 0, 1, 2, 3, 4,  0, 1, 2, 3, 4,  1, 2, 3, 4,  2, 3, 4,  2, 3, 4
    .byte 3, 4,  3, 4,  4, 4, 4, 4
seq_end:
msg:
    .ascii "jumptable ok\n"
msg_end:

    .section .note.GNU-stack,"",%progbits
