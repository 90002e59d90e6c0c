/*
 * loops.S (x86_64): nested counted loops and a call, with edge counts known by construction.
 *
 *   for (outer = 7; outer != 0; outer--) {       # outer_branch: jnz outer_top
 *       for (inner = 13; inner != 0; inner--)    # inner_branch: jnz inner_top
 *           acc++;
 *       bump();                                  # call_site -> bump, bump_ret -> after_call
 *   }
 *   bump(): calls += 3; if (outer is odd) odd += 100;   # bump_branch: jz bump_skip
 *
 * outer takes the values 7..1 inside bump, so bump_branch is taken (even) 3 times and not
 * taken (odd) 4 times. Every instruction that is the source or the target of an expected
 * edge has a global label; loops.expect lists the edges and counts.
 * The program checks its own results (acc 91, calls 21, odd 400) and exits 0 after
 * writing "loops ok\n"; any mismatch exits with status 1.
 */
#define OUTER 7
#define INNER 13

    .text
    .globl _start
_start:
    xor %r13d, %r13d            /* acc */
    xor %r14d, %r14d            /* calls */
    xor %r15d, %r15d            /* odd */
    mov $OUTER, %r12d
    .globl outer_top
outer_top:
    mov $INNER, %ebx
    .globl inner_top
inner_top:
    add $1, %r13
    dec %ebx
    .globl inner_branch
inner_branch:
    jnz inner_top
    .globl after_inner
after_inner:
    mov %r13, %rdi
    .globl call_site
call_site:
    call bump
    .globl after_call
after_call:
    dec %r12d
    .globl outer_branch
outer_branch:
    jnz outer_top
    .globl after_outer
after_outer:
    cmp $(OUTER * INNER), %r13
    .globl check_acc
check_acc:
    jne fail
    .globl check_acc_ok
check_acc_ok:
    cmp $(3 * OUTER), %r14
    .globl check_calls
check_calls:
    jne fail
    .globl check_calls_ok
check_calls_ok:
    cmp $400, %r15
    .globl check_odd
check_odd:
    jne fail
    .globl check_odd_ok
check_odd_ok:
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

    .globl bump
bump:
    add $3, %r14
    test $1, %r12d
    .globl bump_branch
bump_branch:
    jz bump_skip
    .globl bump_odd
bump_odd:
    add $100, %r15
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
