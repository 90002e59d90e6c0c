/*
 * aarch64-shared.S: every vCPU runs the same loop, each entering one shared block `join`
 * always through its own path: even vCPUs (MPIDR Aff0) through path_a, odd ones through
 * path_b. Run on qemu-system-aarch64 -M virt -cpu max -smp N -semihosting, N = 1..8.
 * vCPU 0 starts the others (PSCI CPU_ON through hvc; a CPU the machine lacks answers with an
 * error and is not counted), runs its own loop, waits until each started vCPU has finished
 * its loop and powered itself off (PSCI CPU_OFF), then exits through semihosting SYS_EXIT.
 * Nothing else runs once vCPU 0 exits, so the counts below are exact in every execution mode
 * (but how often vCPU 0 goes round its wait loop, wait_top to wait_end)
 * (MTTCG, round-robin, icount, record/replay): a plugin that credits a block run on one vCPU
 * to the vCPU that translated it (QEMU 10.2 under round-robin) gets path_a and path_b wrong.
 * Expected, with E even and O odd vCPUs (E = ceil(N/2), O = floor(N/2)):
 *   branch   a_jump  -> join      ITER x E
 *   branch   b_jump  -> join      ITER x O
 *   branch   back    -> loop_top  (ITER - 1) x N
 *   join entries                  ITER x N
 */
    .arch armv8.1-a             /* ldaddal (LSE atomics; -cpu max has them) */
    .equ ITER, 200000
    .equ PSCI_CPU_ON, 0xc4000003
    .equ PSCI_CPU_OFF, 0x84000002

    .text
    .globl _start
_start:
    mrs x19, mpidr_el1
    and x19, x19, #0xff
    mov x20, #0                 /* vCPUs started */
    mov x21, #1                 /* next target MPIDR */
start_next:
    ldr x0, =PSCI_CPU_ON
    mov x1, x21
    adr x2, secondary
    mov x3, #0
    hvc #0
    cbnz x0, start_skip         /* PSCI_SUCCESS is 0 */
    add x20, x20, #1
start_skip:
    add x21, x21, #1
    cmp x21, #8
    b.lt start_next

    bl work

    /* wait until every started vCPU has counted itself done */
    adr x1, done
    .globl wait_top
wait_top:
    ldar w2, [x1]
    cmp x2, x20
    .globl wait_end
wait_end:
    b.ne wait_top

    mov x0, #0x18               /* SYS_EXIT */
    adr x1, exit_block
    hlt #0xf000
hang:
    b hang

    .globl secondary
secondary:
    mrs x19, mpidr_el1
    and x19, x19, #0xff
    bl work
    adr x1, done
    mov w2, #1
    ldaddal w2, w3, [x1]
    ldr x0, =PSCI_CPU_OFF
    hvc #0
off_hang:
    b off_hang

    /* the loop: x19 = this vCPU's number (its parity picks the path) */
    .globl work
work:
    ldr x3, =ITER
    .globl loop_top
loop_top:
    tbnz x19, #0, path_b
    .globl path_a
path_a:
    add x6, x6, #1
    .globl a_jump
a_jump:
    b join
    .globl path_b
path_b:
    add x7, x7, #1
    .globl b_jump
b_jump:
    b join
    udf #0                      /* never runs: b_jump's target is not the next instruction */
    .globl join
join:
    sub x3, x3, #1
    .globl back
back:
    cbnz x3, loop_top
    ret

    .balign 8
exit_block:
    .quad 0x20026
    .quad 0
done:
    .word 0
