/*
 * aarch64-smp.S: a bare-metal guest (qemu-system-aarch64 -M virt -cpu max -smp 2
 * -semihosting) that exits while another vCPU is still running. vCPU 0 starts vCPU 1 (PSCI
 * CPU_ON through hvc), and vCPU 1 loops forever entering one block, `join`, strictly in
 * turn from two paths (two predecessors, so most entries call the helper). vCPU 0 runs a
 * counted loop of ZERO_N iterations, a spin that lasts SECONDS of wall time (semihosting
 * SYS_ELAPSED), and exits through semihosting SYS_EXIT: QEMU calls the plugin's exit
 * on vCPU 0's thread while vCPU 1 keeps running.
 * Expected: a consistent snapshot: for every block, the transfers into it sum to its
 * entries (the two vCPUs' first blocks, _start and cpu1_entry, have no predecessor: exactly
 * 2 thread entries); path_a -> join and path_b -> join differ by at most 2 (vCPU 1 may make
 * one more entry after recording is frozen, and one may be in flight); exactly:
 *   branch      zero_branch -> zero_top      ZERO_N - 1
 */
    .equ ZERO_N, 100000
    .equ SECONDS, 3

    .text
    .globl _start
_start:
    /* PSCI CPU_ON(target mpidr 1, entry cpu1_entry, context 0) */
    ldr x0, =0xc4000003
    mov x1, #1
    adr x2, cpu1_entry
    mov x3, #0
    hvc #0

    ldr x2, =ZERO_N
    .globl zero_top
zero_top:
    sub x2, x2, #1
    .globl zero_branch
zero_branch:
    cbnz x2, zero_top

    /* spin for SECONDS of wall time: semihosting SYS_ELAPSED (nanoseconds since QEMU
     * started; SYS_CLOCK would be QEMU's CPU time, which two busy vCPUs double) */
    bl elapsed
    ldr x21, =(SECONDS * 1000000000)
    add x21, x21, x0
    .globl spin_top
spin_top:
    mov x3, #20000
    .globl spin_inner
spin_inner:
    sub x3, x3, #1
    cbnz x3, spin_inner
    bl elapsed
    cmp x0, x21
    b.lt spin_top

    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    .globl exit_call
exit_call:
    hlt #0xf000
    .globl hang
hang:
    b hang

    /* x0 = nanoseconds since QEMU started (SYS_ELAPSED writes them to the block at x1) */
elapsed:
    mov x0, #0x30
    adr x1, elapsed_block
    hlt #0xf000
    ldr x0, elapsed_block
    ret

    .globl cpu1_entry
cpu1_entry:
    mov x5, #0
    .globl cpu1_top
cpu1_top:
    add x5, x5, #1
    tbnz x5, #0, path_b
    .globl path_a
path_a:
    add x6, x6, #1
    b join
    .globl path_b
path_b:
    add x7, x7, #1
    b join
    .globl join
join:
    add x8, x8, #1
    b cpu1_top

    .balign 8
exit_block:
    .quad 0x20026
    .quad 0
elapsed_block:
    .quad 0
