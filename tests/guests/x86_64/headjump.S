/*
 * headjump.S (x86_64): a loop entered by a jump into its head, whose latch falls through into
 * the head: the shape a re-plan used to be needed for (bzip2's hottest loops).
 *
 *   for (outer = 1,000; outer != 0; outer--)          # outer_branch: jnz outer
 *       n = 100; goto head;                            # enter_jmp -> head
 *       latch: if (--n == 0) goto inner_done;          # latch_branch: jz, else falls into head
 *       head:  rdx++; goto latch;                      # head_jmp -> latch
 *
 * head is entered first from enter_jmp, then 99 times from latch_branch's fall-through, which
 * is not translated yet when head is: the plugin reserves an id for it. latch is entered only
 * from head_jmp, and nothing can fall through into it (ud2 before it is never run): its
 * reservation is never claimed. Exits 0 after writing "headjump ok\n".
 */
#define OUTER 1000
#define INNER 100

    .text
    .globl _start
_start:
    xor %edx, %edx
    mov $OUTER, %r8d
    .globl outer
outer:
    mov $INNER, %ecx
    .globl enter_jmp
enter_jmp:
    jmp head
    ud2                         /* never run: nothing falls through into latch */
    .globl latch
latch:
    dec %ecx
    .globl latch_branch
latch_branch:
    jz inner_done
    .globl head
head:
    inc %rdx
    .globl head_jmp
head_jmp:
    jmp latch
    .globl inner_done
inner_done:
    dec %r8d
    .globl outer_branch
outer_branch:
    jnz outer
    .globl loops_done
loops_done:
    cmp $(OUTER * INNER), %rdx
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

    .section .rodata
msg:
    .ascii "headjump ok\n"
msg_end:

    .section .note.GNU-stack,"",%progbits
