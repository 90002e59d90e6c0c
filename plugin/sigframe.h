/*
 * sigframe.h: telling a fault from a branch where both end at a signal handler (user mode).
 *
 * A block-ending instruction that can transfer control (`ret`, `jmp *mem`, `call *reg`, or a
 * `call` whose push faults) and faults instead sends control to the guest's SIGSEGV (SIGBUS,
 * SIGILL, SIGFPE, SIGTRAP) handler, which looks like a taken branch: QEMU reports nothing in
 * user mode. The guest's own state says which it was: the plugin learns the handlers'
 * addresses from rt_sigaction, and at a handler's first instruction QEMU has just built the
 * signal frame, whose saved program counter is the faulting instruction for a synchronous
 * signal. So an entry of a handler block whose frame (signal number and saved PC, found
 * through the handler's argument registers) names the instruction that ran last is an early
 * exit of that instruction.
 *
 * Handler entries are as rare as signals; only they pay for the register and memory reads.
 */
#ifndef CFLOW_SIGFRAME_H
#define CFLOW_SIGFRAME_H

#include <stdbool.h>
#include <stdint.h>

/* Picks the architecture's frame layout; does nothing in system mode or elsewhere. */
void sigframe_init(const char *target_name, bool system_emulation);
/* vCPU init callback context: finds the argument registers. */
void sigframe_vcpu_init(void);
/*
 * The syscall callback: learns handlers from rt_sigaction. Returns the address of a handler
 * seen for the first time, else 0.
 */
uint64_t sigframe_syscall(int64_t num, uint64_t a1, uint64_t a2);
/* Translation time: does a handler start at addr? */
bool sigframe_is_handler(uint64_t addr);
/*
 * In a callback registered with register read access, at a handler's first instruction: is
 * this the delivery of a synchronous signal raised by the instruction at `insn_addr`?
 */
bool sigframe_fault_of(uint64_t insn_addr);
/* The same context: the saved PC, if this is the delivery of a synchronous signal. */
bool sigframe_fault_pc(uint64_t *pc);

#endif
