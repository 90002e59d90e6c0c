/*
 * jumptable.S (aarch64): an indirect jump (br) through a table of 5 targets, driven by a fixed
 * sequence of 28 indices in which target k occurs 2, 3, 5, 7, 11 times (k = 0..4).
 *
 *   for (p = seq, n = 28; n != 0; n--)          # jt_branch: cbnz x20, jt_top
 *       goto *table[*p++];                      # jt_dispatch: br x1
 *   caseK: countK++; goto jt_join;              # caseK_jmp: b jt_join (K = 0..3)
 *   case4: count4++;  (falls into jt_join inside the same block: no edge)
 *
 * The program checks the five counters and exits 0 after writing "jumptable ok\n".
 */
#define SYS_write 64
#define SYS_exit_group 94

    .text
    .globl _start
_start:
    mov x21, #0                 /* count0 .. count4 */
    mov x22, #0
    mov x23, #0
    mov x24, #0
    mov x25, #0
    adrp x19, seq
    add x19, x19, :lo12:seq
    adrp x26, table
    add x26, x26, :lo12:table
    mov x20, #(seq_end - seq)
    .globl jt_top
jt_top:
    ldrb w0, [x19], #1
    ldr x1, [x26, x0, lsl #3]
    .globl jt_dispatch
jt_dispatch:
    br x1
    b fail                  /* never runs: case0 must not be the address after the jump */

    .globl case0
case0:
    add x21, x21, #1
    .globl case0_jmp
case0_jmp:
    b jt_join
    .globl case1
case1:
    add x22, x22, #1
    .globl case1_jmp
case1_jmp:
    b jt_join
    .globl case2
case2:
    add x23, x23, #1
    .globl case2_jmp
case2_jmp:
    b jt_join
    .globl case3
case3:
    add x24, x24, #1
    .globl case3_jmp
case3_jmp:
    b jt_join
    .globl case4
case4:
    add x25, x25, #1
    .globl jt_join
jt_join:
    sub x20, x20, #1
    .globl jt_branch
jt_branch:
    cbnz x20, jt_top
    .globl jt_done
jt_done:
    cmp x21, #2
    .globl check0
check0:
    b.ne fail
    .globl check0_ok
check0_ok:
    cmp x22, #3
    .globl check1
check1:
    b.ne fail
    .globl check1_ok
check1_ok:
    cmp x23, #5
    .globl check2
check2:
    b.ne fail
    .globl check2_ok
check2_ok:
    cmp x24, #7
    .globl check3
check3:
    b.ne fail
    .globl check3_ok
check3_ok:
    cmp x25, #11
    .globl check4
check4:
    b.ne fail
    .globl check4_ok
check4_ok:
    mov x0, #1                  /* write(1, msg, len) */
    adrp x1, msg
    add x1, x1, :lo12:msg
    mov x2, #(msg_end - msg)
    mov x8, #SYS_write
    .globl write_sys
write_sys:
    svc #0
    .globl after_write
after_write:
    mov x0, #0                  /* exit_group(0) */
    mov x8, #SYS_exit_group
    .globl exit_sys
exit_sys:
    svc #0

    .globl fail
fail:
    mov x0, #1                  /* exit_group(1) */
    mov x8, #SYS_exit_group
    svc #0

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
