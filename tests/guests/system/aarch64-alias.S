/*
 * aarch64-alias.S: a bare-metal guest (qemu-system-aarch64 -M virt -cpu max -semihosting)
 * whose code is mapped twice. It turns the MMU on with 1 GiB blocks: VA 0x40000000 and VA
 * 0x80000000 both map the RAM at PA 0x40000000 (VA 0 maps PA 0, devices). Then it calls `f`
 * 300 times at its own address, and 200 times through the alias: a loop running at the alias
 * calls the alias of `f` (a relative `bl` there lands on the alias).
 * Expected, exactly, with code identified by physical location (meta.code_identity physical):
 *   f's first block entered 500 times, named at its own address (translated there first)
 *   branch      call_direct -> f            300
 *   branch      call_alias  -> f            200   (call_alias named at its alias address,
 *                                                   the only place it ever ran)
 *   branch      direct_branch -> direct_top 299
 *   branch      alias_branch  -> alias_top  199
 * and no edge or block names any other alias address.
 */
    .equ ALIAS, 0x40000000      /* VA distance between the two mappings */

    .text
    .globl _start
_start:
    adr x0, stack_top
    mov sp, x0
    /* MAIR: attr0 device nGnRnE, attr1 normal write-back */
    mov x0, #0xff00
    msr mair_el1, x0
    /* TCR: T0SZ=25 (39-bit VA, walks start at level 1), 4K granule, inner shareable,
     * write-back walks, EPD1 (no TTBR1), IPS 40 bits */
    ldr x0, =((25) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32))
    msr tcr_el1, x0
    adr x0, l1_table
    msr ttbr0_el1, x0
    isb
    tlbi vmalle1
    dsb sy
    isb
    mrs x0, sctlr_el1
    orr x0, x0, #1              /* M */
    orr x0, x0, #(1 << 2)       /* C */
    orr x0, x0, #(1 << 12)      /* I */
    msr sctlr_el1, x0
    isb

    mov x19, #300
    .globl direct_top
direct_top:
    .globl call_direct
call_direct:
    bl f
    sub x19, x19, #1
    .globl direct_branch
direct_branch:
    cbnz x19, direct_top

    /* continue at the alias of alias_loop */
    adr x0, alias_loop
    mov x1, #ALIAS
    add x0, x0, x1
    br x0

    .globl back_home
back_home:
    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    .globl exit_call
exit_call:
    hlt #0xf000
    .globl hang
hang:
    b hang

    /* runs only at the alias */
    .globl alias_loop
alias_loop:
    mov x19, #200
    .globl alias_top
alias_top:
    .globl call_alias
call_alias:
    bl f
    sub x19, x19, #1
    .globl alias_branch
alias_branch:
    cbnz x19, alias_top
    adr x0, back_home
    mov x1, #ALIAS
    sub x0, x0, x1
    br x0

    .globl f
f:
    add x20, x20, #1
    ret

    .balign 8
exit_block:
    .quad 0x20026
    .quad 0

    .section .data
    .balign 4096
l1_table:
    .quad 0x00000000 | (0 << 2) | (1 << 10) | 1             /* 0-1 GiB: devices */
    .quad 0x40000000 | (1 << 2) | (3 << 8) | (1 << 10) | 1  /* 1-2 GiB: RAM */
    .quad 0x40000000 | (1 << 2) | (3 << 8) | (1 << 10) | 1  /* 2-3 GiB: RAM again */
    .fill 509, 8, 0

    .bss
    .balign 16
    .space 4096
stack_top:
