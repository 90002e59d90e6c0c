/*
 * settle.S (x86_64): a long start-up, then a settled loop: what a re-plan is for.
 *
 *   40,000 blocks of `add; jmp` run once each (rax counts them)   # start-up: many blocks
 *   for (n = 5,000,000; n != 0; n--)                               # loop_branch: jnz loop_top
 *       if (n is odd) f(); else f();                               # site_a / site_b -> f
 *   f(): rdx++                                                     # f_ret -> after_a / after_b
 *
 * f is entered from two call sites in turn, so whichever one its block expects, every other
 * entry calls the helper: 2.5 M helper calls after a start-up of 40,000 translated blocks.
 * A re-plan must weigh those against the blocks translated since the program settled, not
 * since it started (40,000 x 256 is more helper calls than the loop makes): the test checks
 * that one happens, and the counts below. Exits 0 after writing "settle ok\n".
 */
#define STARTUP 40000
#define LOOPS 5000000

    .text
    .globl _start
_start:
    xor %eax, %eax
    .rept STARTUP
    add $1, %rax
    jmp 1f
1:
    .endr
    xor %edx, %edx
    mov $LOOPS, %ecx
    .globl loop_top
loop_top:
    test $1, %ecx
    .globl parity_branch
parity_branch:
    jz even
    .globl site_a
site_a:
    call f
    .globl after_a
after_a:
    jmp next
    .globl even
even:
    .globl site_b
site_b:
    call f
    .globl next
next:
    dec %ecx
    .globl loop_branch
loop_branch:
    jnz loop_top
    .globl loop_done
loop_done:
    cmp $LOOPS, %rdx
    jne fail
    cmp $STARTUP, %rax
    jne fail
    mov $1, %eax                /* write(1, msg, len) */
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $(msg_end - msg), %edx
    syscall
    mov $231, %eax              /* exit_group(0) */
    xor %edi, %edi
    syscall

    .globl fail
fail:
    mov $231, %eax              /* exit_group(1) */
    mov $1, %edi
    syscall

    .globl f
f:
    inc %rdx
    .globl f_ret
f_ret:
    ret

    .section .rodata
msg:
    .ascii "settle ok\n"
msg_end:

    .section .note.GNU-stack,"",%progbits
