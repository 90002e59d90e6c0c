/*
 * fault.S (x86_64): faults delivered to signal handlers, with known counts.
 *
 * Part 1, SIGSEGV, K = 5 times: a load from address 0 in the middle of a straight-line run
 * (fault_top: add; xor; fault_load: mov (%rax); fault_after: add; jmp fail). The handler
 * (SA_NODEFER, so the next fault is delivered too) never returns: it counts, resets %rsp to
 * the value saved before the loop and jumps to fault_recover, which runs the loop branch.
 *   early-exit fault_load -> segv_handler, branch segv_handler_jmp -> fault_recover.
 *
 * Part 2, SIGILL, K2 = 3 times: `ud2` at the end of its block. The handler checks that the
 * saved RIP is ill_insn, advances it by 2 (past ud2) and returns to our own restorer
 * (SA_RESTORER), whose rt_sigreturn resumes at ill_resume.
 *   exception ill_insn -> ill_handler, branch ill_handler_ret -> ill_restorer,
 *   branch ill_sigreturn -> ill_resume.
 *
 * The program checks its counters and exits 0 after writing "fault ok\n"; a failed check
 * exits 1, a bad signal context exits 3.
 */
#define K 5
#define K2 3
#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_exit_group 231
#define SIGILL 4
#define SIGSEGV 11
#define SA_SIGINFO 0x4
#define SA_RESTORER 0x04000000
#define SA_NODEFER 0x40000000
#define UC_RIP 168          /* offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) */

    .text
    .globl _start
_start:
    mov $SYS_rt_sigaction, %eax /* rt_sigaction(SIGSEGV, &sa_segv, NULL, 8) */
    mov $SIGSEGV, %edi
    lea sa_segv(%rip), %rsi
    xor %edx, %edx
    mov $8, %r10d
    .globl sigaction_segv
sigaction_segv:
    syscall
    .globl after_sigaction_segv
after_sigaction_segv:
    test %rax, %rax
    .globl check_sa_segv
check_sa_segv:
    jnz fail
    .globl check_sa_segv_ok
check_sa_segv_ok:
    mov $SYS_rt_sigaction, %eax /* rt_sigaction(SIGILL, &sa_ill, NULL, 8) */
    mov $SIGILL, %edi
    lea sa_ill(%rip), %rsi
    xor %edx, %edx
    mov $8, %r10d
    .globl sigaction_ill
sigaction_ill:
    syscall
    .globl after_sigaction_ill
after_sigaction_ill:
    test %rax, %rax
    .globl check_sa_ill
check_sa_ill:
    jnz fail
    .globl check_sa_ill_ok
check_sa_ill_ok:
    /* Part 1: SIGSEGV from a load in the middle of a block. */
    xor %r13d, %r13d            /* SIGSEGV handler runs */
    xor %r14d, %r14d            /* runs of the instruction before each fault */
    xor %r15d, %r15d            /* runs of the instruction after the load (must stay 0) */
    mov %rsp, saved_rsp(%rip)
    mov $K, %r12d
    .globl fault_top
fault_top:
    add $1, %r14
    xor %eax, %eax
    .globl fault_load
fault_load:
    mov (%rax), %rbx
    .globl fault_after
fault_after:
    add $1, %r15
    jmp fail

    .globl fault_recover
fault_recover:
    dec %r12d
    .globl fault_branch
fault_branch:
    jnz fault_top
    .globl fault_done
fault_done:
    /* Part 2: SIGILL from ud2, resumed after it through rt_sigreturn. */
    mov $K2, %r12d
    .globl ill_top
ill_top:
    add $1, %r14
    .globl ill_insn
ill_insn:
    ud2
    .globl ill_resume
ill_resume:
    dec %r12d
    .globl ill_branch
ill_branch:
    jnz ill_top
    .globl ill_done
ill_done:
    cmp $K, %r13
    .globl check_segv
check_segv:
    jne fail
    .globl check_segv_ok
check_segv_ok:
    cmp $(K + K2), %r14
    .globl check_before
check_before:
    jne fail
    .globl check_before_ok
check_before_ok:
    test %r15, %r15
    .globl check_after
check_after:
    jnz fail
    .globl check_after_ok
check_after_ok:
    cmpq $K2, ill_count(%rip)
    .globl check_ill
check_ill:
    jne fail
    .globl check_ill_ok
check_ill_ok:
    mov $SYS_write, %eax        /* write(1, msg, len) */
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $(msg_end - msg), %edx
    .globl write_sys
write_sys:
    syscall
    .globl after_write
after_write:
    mov $SYS_exit_group, %eax   /* exit_group(0) */
    xor %edi, %edi
    .globl exit_sys
exit_sys:
    syscall

    .globl fail
fail:
    mov $SYS_exit_group, %eax   /* exit_group(1) */
    mov $1, %edi
    syscall

    /* SIGSEGV handler: never returns. */
    .globl segv_handler
segv_handler:
    add $1, %r13
    mov saved_rsp(%rip), %rsp
    .globl segv_handler_jmp
segv_handler_jmp:
    jmp fault_recover

    /* SIGILL handler: handler(sig, info, uc); skips the ud2 and returns to ill_restorer. */
    .globl ill_handler
ill_handler:
    addq $1, ill_count(%rip)
    lea ill_insn(%rip), %rax
    cmp %rax, UC_RIP(%rdx)
    .globl ill_handler_check
ill_handler_check:
    jne bad_context
    .globl ill_handler_check_ok
ill_handler_check_ok:
    addq $2, UC_RIP(%rdx)
    .globl ill_handler_ret
ill_handler_ret:
    ret
    jmp bad_context         /* never runs: the restorer must not be the address after ret */

    .globl ill_restorer
ill_restorer:
    mov $SYS_rt_sigreturn, %eax
    .globl ill_sigreturn
ill_sigreturn:
    syscall

    .globl bad_context
bad_context:
    mov $SYS_exit_group, %eax   /* exit_group(3) */
    mov $3, %edi
    syscall
    .globl code_end
code_end:
    nop

    .section .rodata
msg:
    .ascii "fault ok\n"
msg_end:

    .data
    .balign 8
sa_segv:                        /* struct sigaction as the kernel takes it */
    .quad segv_handler          /* sa_handler */
    .quad SA_SIGINFO | SA_NODEFER | SA_RESTORER
    .quad ill_restorer          /* sa_restorer (never used: the handler does not return) */
    .quad 0                     /* sa_mask */
sa_ill:
    .quad ill_handler
    .quad SA_SIGINFO | SA_RESTORER
    .quad ill_restorer
    .quad 0
saved_rsp:
    .quad 0
ill_count:
    .quad 0

    .section .note.GNU-stack,"",%progbits
