/*
 * fault.S (riscv64): SIGSEGVs delivered to a signal handler, with known counts.
 *
 * K = 5 times: a load from address 0 in the middle of a straight-line run
 * (fault_top: addi; li; fault_load: ld 0(zero); fault_after: addi; j fail). The handler
 * (SA_NODEFER, so the next fault is delivered too) never returns: it counts, resets sp to the
 * value saved before the loop and jumps to fault_recover, which runs the loop branch.
 *   early-exit fault_load -> segv_handler, branch segv_handler_jmp -> fault_recover.
 * (No rt_sigreturn part here: riscv64 has no SA_RESTORER, so a returning handler would go
 * through QEMU's own trampoline, whose address no symbol names.)
 *
 * The program checks its counters and exits 0 after writing "fault ok\n"; a failed check
 * exits 1.
 */
#define K 5
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_rt_sigaction 134
#define SIGSEGV 11
#define SA_SIGINFO 0x4
#define SA_NODEFER 0x40000000

    /* No linker relaxation: nothing sets up gp, and addresses should not move. */
    .option norelax
    .text
    .globl _start
_start:
    li a0, SIGSEGV              /* rt_sigaction(SIGSEGV, &sa_segv, NULL, 8) */
    lla a1, sa_segv
    li a2, 0
    li a3, 8
    li a7, SYS_rt_sigaction
    .globl sigaction_segv
sigaction_segv:
    ecall
    .globl after_sigaction_segv
after_sigaction_segv:
    nop
    .globl check_sa_segv
check_sa_segv:
    bnez a0, fail
    .globl check_sa_segv_ok
check_sa_segv_ok:
    li s1, 0                    /* handler runs */
    li s2, 0                    /* runs of the instruction before each fault */
    li s3, 0                    /* runs of the instruction after fault_load (must stay 0) */
    lla t0, saved_sp
    sd sp, 0(t0)
    li s4, K
    .globl fault_top
fault_top:
    addi s2, s2, 1
    li t1, 0
    .globl fault_load
fault_load:
    ld t2, 0(zero)
    .globl fault_after
fault_after:
    addi s3, s3, 1
    j fail

    .globl fault_recover
fault_recover:
    addi s4, s4, -1
    .globl fault_branch
fault_branch:
    bnez s4, fault_top
    .globl fault_done
fault_done:
    li t0, K
    .globl check_segv
check_segv:
    bne s1, t0, fail
    .globl check_segv_ok
check_segv_ok:
    nop
    .globl check_before
check_before:
    bne s2, t0, fail
    .globl check_before_ok
check_before_ok:
    nop
    .globl check_after
check_after:
    bnez s3, fail
    .globl check_after_ok
check_after_ok:
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

    /* Handler: never returns. */
    .globl segv_handler
segv_handler:
    addi s1, s1, 1
    lla t0, saved_sp
    ld sp, 0(t0)
    .globl segv_handler_jmp
segv_handler_jmp:
    j fault_recover
    .globl code_end
code_end:
    nop

    .section .rodata
msg:
    .ascii "fault ok\n"
msg_end:

    .data
    .balign 8
sa_segv:                        /* struct sigaction as the kernel takes it (no sa_restorer) */
    .quad segv_handler          /* sa_handler */
    .quad SA_SIGINFO | SA_NODEFER
    .quad 0                     /* sa_mask */
saved_sp:
    .quad 0

    .section .note.GNU-stack,"",%progbits
