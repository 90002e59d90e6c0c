/*
 * aarch64-semihost.S: a bare-metal guest for qemu-system-aarch64 -M virt -semihosting.
 * Prints a line through a semihosting call (a host call QEMU reports as a discontinuity),
 * runs a counted loop (top: 1000 iterations), then exits through semihosting SYS_EXIT.
 * Expected, exactly:
 *   hostcall    write_call -> after_write   1
 *   branch      loop_branch -> loop_top     999
 *   fallthrough loop_branch -> after_loop   1
 *   hostcall    exit_call  -> (the next instruction, never executed)   1
 */
    .text
    .globl _start
_start:
    mov x0, #0x04               /* SYS_WRITE0 */
    adr x1, msg
    .globl write_call
write_call:
    hlt #0xf000
    .globl after_write
after_write:
    mov x2, #1000
    .globl loop_top
loop_top:
    sub x2, x2, #1
    .globl loop_branch
loop_branch:
    cbnz x2, loop_top
    .globl after_loop
after_loop:
    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    .globl exit_call
exit_call:
    hlt #0xf000
    .globl hang
hang:
    b hang

    .balign 8
exit_block:
    .quad 0x20026               /* ADP_Stopped_ApplicationExit */
    .quad 0
msg:
    .asciz "semihost ok\n"
