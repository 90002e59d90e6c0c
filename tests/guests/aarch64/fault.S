/*
 * fault.S (aarch64): SIGSEGVs delivered to signal handlers, with known counts.
 *
 * Part 1, K = 5 times: a load from address 0 in the middle of a straight-line run
 * (fault_top: add; mov; fault_load: ldr [x0]; fault_after: add; b fail). The handler
 * (SA_NODEFER, so the next fault is delivered too) never returns: it counts, resets sp to the
 * value saved before the loop and branches to fault_recover, which runs the loop branch.
 *   early-exit fault_load -> segv_handler, branch segv_handler_jmp -> fault_recover.
 *
 * Part 2, K2 = 3 times: the same kind of load, but a second handler checks that the saved pc
 * is fault2_load, advances it by 4 and returns to our own restorer (SA_RESTORER), whose
 * rt_sigreturn resumes at fault2_resume, the instruction after the load.
 *   early-exit fault2_load -> segv2_handler, branch segv2_handler_ret -> segv2_restorer,
 *   branch segv2_sigreturn -> fault2_resume.
 *
 * The program checks its counters and exits 0 after writing "fault ok\n"; a failed check
 * exits 1, a bad signal context exits 3.
 */
#define K 5
#define K2 3
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_rt_sigaction 134
#define SYS_rt_sigreturn 139
#define SIGSEGV 11
#define SA_SIGINFO 0x4
#define SA_RESTORER 0x04000000
#define SA_NODEFER 0x40000000
#define UC_PC 440           /* offsetof(ucontext_t, uc_mcontext.pc) */

    .text
    .globl _start
_start:
    mov x0, #SIGSEGV            /* rt_sigaction(SIGSEGV, &sa_segv, NULL, 8) */
    adrp x1, sa_segv
    add x1, x1, :lo12:sa_segv
    mov x2, #0
    mov x3, #8
    mov x8, #SYS_rt_sigaction
    .globl sigaction_segv
sigaction_segv:
    svc #0
    .globl after_sigaction_segv
after_sigaction_segv:
    nop
    .globl check_sa_segv
check_sa_segv:
    cbnz x0, fail
    .globl check_sa_segv_ok
check_sa_segv_ok:
    /* Part 1: the handler never returns. */
    mov x19, #0                 /* part-1 handler runs */
    mov x20, #0                 /* runs of the instruction before each fault */
    mov x21, #0                 /* runs of the instruction after fault_load (must stay 0) */
    mov x9, sp
    adrp x10, saved_sp
    str x9, [x10, :lo12:saved_sp]
    mov x22, #K
    .globl fault_top
fault_top:
    add x20, x20, #1
    mov x0, #0
    .globl fault_load
fault_load:
    ldr x1, [x0]
    .globl fault_after
fault_after:
    add x21, x21, #1
    b fail

    .globl fault_recover
fault_recover:
    sub x22, x22, #1
    .globl fault_branch
fault_branch:
    cbnz x22, fault_top
    .globl fault_done
fault_done:
    /* Part 2: a handler that returns through rt_sigreturn past the load. */
    mov x0, #SIGSEGV            /* rt_sigaction(SIGSEGV, &sa_segv2, NULL, 8) */
    adrp x1, sa_segv2
    add x1, x1, :lo12:sa_segv2
    mov x2, #0
    mov x3, #8
    mov x8, #SYS_rt_sigaction
    .globl sigaction_segv2
sigaction_segv2:
    svc #0
    .globl after_sigaction_segv2
after_sigaction_segv2:
    nop
    .globl check_sa_segv2
check_sa_segv2:
    cbnz x0, fail
    .globl check_sa_segv2_ok
check_sa_segv2_ok:
    mov x22, #K2
    .globl fault2_top
fault2_top:
    add x20, x20, #1
    mov x0, #0
    .globl fault2_load
fault2_load:
    ldr x1, [x0]
    .globl fault2_resume
fault2_resume:
    sub x22, x22, #1
    .globl fault2_branch
fault2_branch:
    cbnz x22, fault2_top
    .globl fault2_done
fault2_done:
    cmp x19, #K
    .globl check_segv
check_segv:
    b.ne fail
    .globl check_segv_ok
check_segv_ok:
    cmp x20, #(K + K2)
    .globl check_before
check_before:
    b.ne fail
    .globl check_before_ok
check_before_ok:
    nop
    .globl check_after
check_after:
    cbnz x21, fail
    .globl check_after_ok
check_after_ok:
    adrp x9, segv2_count
    ldr x9, [x9, :lo12:segv2_count]
    cmp x9, #K2
    .globl check_segv2
check_segv2:
    b.ne fail
    .globl check_segv2_ok
check_segv2_ok:
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

    /* Part-1 handler: never returns. */
    .globl segv_handler
segv_handler:
    add x19, x19, #1
    adrp x9, saved_sp
    ldr x9, [x9, :lo12:saved_sp]
    mov sp, x9
    .globl segv_handler_jmp
segv_handler_jmp:
    b fault_recover

    /* Part-2 handler(sig, info, uc): skips the load and returns to segv2_restorer. */
    .globl segv2_handler
segv2_handler:
    adrp x9, segv2_count
    add x9, x9, :lo12:segv2_count
    ldr x10, [x9]
    add x10, x10, #1
    str x10, [x9]
    ldr x10, [x2, #UC_PC]
    adrp x11, fault2_load
    add x11, x11, :lo12:fault2_load
    cmp x10, x11
    .globl segv2_handler_check
segv2_handler_check:
    b.ne bad_context
    .globl segv2_handler_check_ok
segv2_handler_check_ok:
    add x10, x10, #4
    str x10, [x2, #UC_PC]
    .globl segv2_handler_ret
segv2_handler_ret:
    ret
    b bad_context           /* never runs: the restorer must not be the address after ret */

    .globl segv2_restorer
segv2_restorer:
    mov x8, #SYS_rt_sigreturn
    .globl segv2_sigreturn
segv2_sigreturn:
    svc #0

    .globl bad_context
bad_context:
    mov x0, #3                  /* exit_group(3) */
    mov x8, #SYS_exit_group
    svc #0
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
    .quad SA_SIGINFO | SA_NODEFER
    .quad 0                     /* sa_restorer */
    .quad 0                     /* sa_mask */
sa_segv2:
    .quad segv2_handler
    .quad SA_SIGINFO | SA_RESTORER
    .quad segv2_restorer
    .quad 0
saved_sp:
    .quad 0
segv2_count:
    .quad 0

    .section .note.GNU-stack,"",%progbits
