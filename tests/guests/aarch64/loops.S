/*
 * loops.S (aarch64): nested counted loops and a call, with edge counts known by construction.
 *
 *   for (outer = 7; outer != 0; outer--) {       # outer_branch: cbnz x20, outer_top
 *       for (inner = 13; inner != 0; inner--)    # inner_branch: b.ne inner_top
 *           acc++;
 *       bump();                                  # call_site: bl bump, bump_ret: ret
 *   }
 *   bump(): calls += 3; if (outer is odd) odd += 100;   # bump_branch: tbz x20, #0, bump_skip
 *
 * outer takes the values 7..1 inside bump, so bump_branch is taken (even) 3 times and not
 * taken (odd) 4 times. The program checks acc 91, calls 21, odd 400 and exits 0 after
 * writing "loops ok\n"; any mismatch exits with status 1.
 */
#define OUTER 7
#define INNER 13
#define SYS_write 64
#define SYS_exit_group 94

    .text
    .globl _start
_start:
    mov x19, #0                 /* acc */
    mov x21, #0                 /* calls */
    mov x22, #0                 /* odd */
    mov x20, #OUTER
    .globl outer_top
outer_top:
    mov x23, #INNER
    .globl inner_top
inner_top:
    add x19, x19, #1
    subs x23, x23, #1
    .globl inner_branch
inner_branch:
    b.ne inner_top
    .globl after_inner
after_inner:
    mov x0, x19
    .globl call_site
call_site:
    bl bump
    .globl after_call
after_call:
    sub x20, x20, #1
    .globl outer_branch
outer_branch:
    cbnz x20, outer_top
    .globl after_outer
after_outer:
    cmp x19, #(OUTER * INNER)
    .globl check_acc
check_acc:
    b.ne fail
    .globl check_acc_ok
check_acc_ok:
    cmp x21, #(3 * OUTER)
    .globl check_calls
check_calls:
    b.ne fail
    .globl check_calls_ok
check_calls_ok:
    cmp x22, #400
    .globl check_odd
check_odd:
    b.ne fail
    .globl check_odd_ok
check_odd_ok:
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

    .globl bump
bump:
    add x21, x21, #3
    .globl bump_branch
bump_branch:
    tbz x20, #0, bump_skip
    .globl bump_odd
bump_odd:
    add x22, x22, #100
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
