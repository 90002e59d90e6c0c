/*
 * aarch64-mmio.S: a bare-metal guest (qemu-system-aarch64 -M virt -semihosting) that reads a
 * device register in the middle of a block: the PL011 UART's flag register, N times in a
 * loop. QEMU allows device I/O only on a block's last instruction: it abandons the block at
 * the load and runs the load again alone, in a block it does not instrument.
 * Expected, exactly: the guest moved control nowhere but around its loop:
 *   branch      mmio_branch -> mmio_top       MMIO_N - 1
 *   fallthrough mmio_branch -> mmio_after     1
 *   no edge out of mmio_load, which (like the whole loop body) executes MMIO_N times
 */
    .equ MMIO_N, 500
    .equ UART, 0x09000000

    .text
    .globl _start
_start:
    mov x0, #UART
    mov x2, #MMIO_N
    mov x4, #0
    .globl mmio_top
mmio_top:
    add x4, x4, #1
    .globl mmio_load
mmio_load:
    ldr w1, [x0, #0x18]         /* UARTFR: a device register */
    sub x2, x2, #1
    .globl mmio_branch
mmio_branch:
    cbnz x2, mmio_top
    .globl mmio_after
mmio_after:
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
    .quad 0x20026
    .quad 0
