/*
 * loops.S (riscv64): nested counted loops and a call, with edge counts known by construction.
 *
 *   for (outer = 7; outer != 0; outer--) {       # outer_branch: bnez s2, outer_top
 *       for (inner = 13; inner != 0; inner--)    # inner_branch: bnez s3, inner_top
 *           acc++;
 *       bump();                                  # call_site: jal bump, bump_ret: ret
 *   }
 *   bump(): calls += 3; if (outer is odd) odd += 100;   # bump_branch: beqz t0, bump_skip
 *
 * outer takes the values 7..1 inside bump, so bump_branch is taken (even) 3 times and not
 * taken (odd) 4 times. The program checks acc 91, calls 21, odd 400 and exits 0 after
 * writing "loops ok\n"; any mismatch exits with status 1.
 * (Instructions may be assembled compressed: every edge end has its own label.)
 */
#define OUTER 7
#define INNER 13
#define SYS_write 64
#define SYS_exit_group 94

    /* No linker relaxation: nothing sets up gp, and addresses should not move. */
    .option norelax
    .text
    .globl _start
_start:
    li s1, 0                    /* acc */
    li s4, 0                    /* calls */
    li s5, 0                    /* odd */
    li s2, OUTER
    .globl outer_top
outer_top:
    li s3, INNER
    .globl inner_top
inner_top:
    addi s1, s1, 1
    addi s3, s3, -1
    .globl inner_branch
inner_branch:
    bnez s3, inner_top
    .globl after_inner
after_inner:
    mv a0, s1
    .globl call_site
call_site:
    jal ra, bump
    .globl after_call
after_call:
    addi s2, s2, -1
    .globl outer_branch
outer_branch:
    bnez s2, outer_top
    .globl after_outer
after_outer:
    li t0, OUTER * INNER
    .globl check_acc
check_acc:
    bne s1, t0, fail
    .globl check_acc_ok
check_acc_ok:
    li t0, 3 * OUTER
    .globl check_calls
check_calls:
    bne s4, t0, fail
    .globl check_calls_ok
check_calls_ok:
    li t0, 400
    .globl check_odd
check_odd:
    bne s5, t0, fail
    .globl check_odd_ok
check_odd_ok:
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

    .globl bump
bump:
    addi s4, s4, 3
    andi t0, s2, 1
    .globl bump_branch
bump_branch:
    beqz t0, bump_skip
    .globl bump_odd
bump_odd:
    addi s5, s5, 100
    .globl bump_skip
bump_skip:
    nop
    .globl bump_ret
bump_ret:
    ret
    .globl code_end
code_end:
    nop

    .section .rodata
msg:
    .ascii "loops ok\n"
msg_end:

    .section .note.GNU-stack,"",%progbits
