/*
 * disas.h: disassembly, deferred to exit where we can.
 *
 * QEMU's qemu_plugin_insn_disas() opens and closes a capstone handle for every instruction;
 * measured, that was about a third of the plugin's whole cost on python3's start-up. Where the
 * guest's instruction set is fixed for the run (x86_64 and aarch64 user mode), the plugin keeps
 * the instruction bytes at translation time and writes them into the profile (section
 * insn_bytes); readers make the text from them, with the same capstone options as QEMU (AT&T
 * syntax on x86, data skipped as .byte), only for the instructions they show
 * (cflow_profile_insn_disas): the report at exit disassembles its top entries, not every
 * instruction. Elsewhere (system mode can switch CPU modes, riscv is not a
 * capstone 4 architecture) QEMU disassembles at translation time.
 */
#ifndef CFLOW_DISAS_H
#define CFLOW_DISAS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Decides, once, whether disassembly is deferred for this guest (never when !defer_text:
 * disas=qemu) and sets up the instruction classifier (whatever defer_text says).
 */
bool disas_init(const char *target_name, bool system_emulation, bool defer_text);
bool disas_deferred(void);
bool disas_x86_target(void); /* the guest is x86_64 */
/*
 * Can this instruction leave its block before completing, in the middle of it: fault, trap,
 * or make QEMU abandon the block? True unless it is decoded and is one of a short list of
 * register-only integer instructions that cannot (no memory operand, no division that traps,
 * no segment, control or system register; on riscv64, decided by encoding). When in doubt,
 * and always where no classifier is available (system mode, other architectures), true. The hot path relies on "false" being right: it then
 * skips the instruction's id store (hotpath.h, lean blocks).
 */
bool disas_may_leave_block(uint64_t addr, const uint8_t *bytes, uint32_t size);
bool disas_can_classify(void);

/*
 * What one instruction can do with control, from one decoding:
 * - may_transfer: can it move control anywhere but to the next instruction (jump, call,
 *   return, software interrupt, system call, trap)? True when unsure. Used at exit: a
 *   non-linear transfer out of an instruction that cannot transfer control is a fault of that
 *   instruction (an early exit), not a branch.
 * - has_target, target: a direct jump, call or conditional branch and its one possible taken
 *   destination (false when indirect, not a transfer, or not decoded). Control that left such
 *   an instruction for anywhere but there or the next instruction was a fault.
 */
typedef struct {
    bool may_transfer;
    bool has_target;
    uint64_t target;
} DisasTransfer;

void disas_transfer(uint64_t addr, const uint8_t *bytes, uint32_t size, DisasTransfer *out);
/* The same from a full decoding every time: what disas_transfer must agree with (tests). */
void disas_transfer_decoded(uint64_t addr, const uint8_t *bytes, uint32_t size,
                            DisasTransfer *out);

/*
 * x86-64, by encoding, cheap enough for translation time: can QEMU raise an exception for
 * this instruction from a helper, mid-block (division, segment loads, x87, I/O, system
 * instructions, SSE/AVX memory operands that must be aligned, ...)? Such an exception is
 * reported by a discontinuity whose from_pc is stale (the notes on QEMU's x86 exception path),
 * so sparse blocks keep these instructions' id stores (hotpath.h). True when unsure; faults of
 * plain memory accesses are host signals, not these, and answer false.
 */
bool disas_x86_helper_may_raise(const uint8_t *bytes, uint32_t size);

/*
 * x86-64, by encoding, cheap enough for translation time: is this one of a short list of
 * register-only integer instructions (no memory operand, no division, no lock or string
 * prefix, no segment register) that can neither fault nor make QEMU leave its block? False
 * when unsure. Only ever answers true where disas_may_leave_block's decoding answers false
 * (tests/plugin/test_disas.c): sparse blocks whose instructions before the last all pass
 * store no mark (hotpath.h).
 */
bool disas_x86_register_only(const uint8_t *bytes, uint32_t size);

#endif
