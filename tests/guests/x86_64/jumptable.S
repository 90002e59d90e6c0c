/*
 * jumptable.S (x86_64): an indirect jump through a table of 5 targets, driven by a fixed
 * sequence of 28 indices in which target k occurs 2, 3, 5, 7, 11 times (k = 0..4).
 *
 *   for (p = seq, n = 28; n != 0; n--)          # jt_branch: jnz jt_top
 *       goto *table[*p++];                      # jt_dispatch: jmp *(table, index, 8)
 *   caseK: countK++; goto jt_join;              # caseK_jmp: jmp jt_join (K = 0..3)
 *   case4: count4++;  (falls into jt_join inside the same block: no edge)
 *
 * The program checks the five counters and exits 0 after writing "jumptable ok\n".
 */
    .text
    .globl _start
_start:
    xor %r8d, %r8d              /* count0 .. count4 */
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r14d, %r14d
    lea seq(%rip), %rsi
    lea table(%rip), %rdx
    mov $(seq_end - seq), %r12d
    .globl jt_top
jt_top:
    movzbl (%rsi), %eax
    add $1, %rsi
    .globl jt_dispatch
jt_dispatch:
    jmp *(%rdx,%rax,8)
    jmp fail                /* never runs: case0 must not be the address after the jump */

    .globl case0
case0:
    add $1, %r8
    .globl case0_jmp
case0_jmp:
    jmp jt_join
    .globl case1
case1:
    add $1, %r9
    .globl case1_jmp
case1_jmp:
    jmp jt_join
    .globl case2
case2:
    add $1, %r10
    .globl case2_jmp
case2_jmp:
    jmp jt_join
    .globl case3
case3:
    add $1, %r11
    .globl case3_jmp
case3_jmp:
    jmp jt_join
    .globl case4
case4:
    add $1, %r14
    .globl jt_join
jt_join:
    dec %r12d
    .globl jt_branch
jt_branch:
    jnz jt_top
    .globl jt_done
jt_done:
    cmp $2, %r8
    .globl check0
check0:
    jne fail
    .globl check0_ok
check0_ok:
    cmp $3, %r9
    .globl check1
check1:
    jne fail
    .globl check1_ok
check1_ok:
    cmp $5, %r10
    .globl check2
check2:
    jne fail
    .globl check2_ok
check2_ok:
    cmp $7, %r11
    .globl check3
check3:
    jne fail
    .globl check3_ok
check3_ok:
    cmp $11, %r14
    .globl check4
check4:
    jne fail
    .globl check4_ok
check4_ok:
    mov $1, %eax                /* write(1, msg, len) */
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $(msg_end - msg), %edx
    .globl write_sys
write_sys:
    syscall
    .globl after_write
after_write:
    mov $231, %eax              /* exit_group(0) */
    xor %edi, %edi
    .globl exit_sys
exit_sys:
    syscall

    .globl fail
fail:
    mov $231, %eax              /* exit_group(1) */
    mov $1, %edi
    syscall

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
