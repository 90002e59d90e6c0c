/*
 * aarch64-priv.S: a bare-metal guest (qemu-system-aarch64 -M virt -cpu max -semihosting) that
 * runs code at two privilege levels. It starts at EL1 (kernel), installs a vector table, drops
 * to EL0 (user) with an exception return, runs a counted loop there, comes back to EL1 with
 * `svc`, runs another counted loop and exits through semihosting.
 * Expected, exactly:
 *   branch      user_branch -> user_top       USER_N - 1     (user)
 *   fallthrough user_branch -> user_after     1              (user)
 *   exception   svc_insn    -> el0_sync       1              (user -> kernel)
 *   branch      kern_branch -> kern_top       KERN_N - 1     (kernel)
 * and every instruction from user_entry to the svc runs at "user", everything else "kernel".
 */
    .equ USER_N, 3000
    .equ KERN_N, 2000

    .text
    .globl _start
_start:
    adr x0, vectors
    msr vbar_el1, x0
    adr x0, stack_top
    mov sp, x0
    isb
    mov x0, #0x3c0              /* SPSR: EL0t, interrupts masked */
    msr spsr_el1, x0
    adr x0, user_entry
    msr elr_el1, x0
    .globl eret_insn
eret_insn:
    eret

    .globl user_entry
user_entry:
    mov x2, #USER_N
    .globl user_top
user_top:
    sub x2, x2, #1
    .globl user_branch
user_branch:
    cbnz x2, user_top
    .globl user_after
user_after:
    .globl svc_insn
svc_insn:
    svc #0
    .globl user_hang
user_hang:
    b user_hang

    /* kernel side: reached from the vector table */
    .globl kernel_work
kernel_work:
    mov x3, #KERN_N
    .globl kern_top
kern_top:
    sub x3, x3, #1
    .globl kern_branch
kern_branch:
    cbnz x3, kern_top
    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    .globl exit_call
exit_call:
    hlt #0xf000
    .globl kern_hang
kern_hang:
    b kern_hang

    .balign 2048
vectors:
    .balign 0x80                /* 0x000: current EL, SP0 */
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80                /* 0x200: current EL, SPx */
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80                /* 0x400: lower EL, AArch64, synchronous */
    .globl el0_sync
el0_sync:
    b kernel_work
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang
    .balign 0x80
    b kern_hang

    .balign 8
exit_block:
    .quad 0x20026               /* ADP_Stopped_ApplicationExit */
    .quad 0

    .bss
    .balign 16
    .space 4096
stack_top:
