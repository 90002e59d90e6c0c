/*
 * disas.h: the plugin's capstone front: the guest's architecture (arch.h), its classifier's
 * handle, and disassembly deferred to exit where we can.
 *
 * QEMU's qemu_plugin_insn_disas() opens and closes a capstone handle for every instruction;
 * measured, that was about a third of the plugin's whole cost on python3's start-up. Where the
 * guest's instruction set is fixed for the run and capstone knows it (x86_64 and aarch64 user
 * mode), the plugin keeps the instruction bytes at translation time and writes them into the
 * profile (section insn_bytes); readers make the text from them, with the same capstone
 * options as QEMU (AT&T syntax on x86, data skipped as .byte), only for the instructions they
 * show (cflow_profile_insn_disas): the report at exit disassembles its top entries, not every
 * instruction. Elsewhere (system mode can switch CPU modes, riscv is not a capstone 4
 * architecture) QEMU disassembles at translation time.
 *
 * The decoders themselves are the architecture's (arch/): this file only holds the handle
 * they decode with, in user mode; in system mode nothing is classified.
 */
#ifndef CFLOW_DISAS_H
#define CFLOW_DISAS_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"

/*
 * Finds the guest's architecture, decides, once, whether disassembly is deferred for this
 * guest (never when !defer_text: disas=qemu) and sets up the instruction classifier (whatever
 * defer_text says).
 */
bool disas_init(const char *target_name, bool system_emulation, bool defer_text);
bool disas_deferred(void);
/* The guest's architecture, in any mode. */
const CflowArch *disas_arch(void);
/*
 * Can this instruction leave its block before completing, in the middle of it: fault, trap,
 * or make QEMU abandon the block? True unless it is decoded and is one of a short list of
 * register-only integer instructions that cannot (cflow_arch_may_leave_block). When in doubt,
 * and always where no classifier is available (system mode, other architectures), true. The
 * hot path relies on "false" being right: it then skips the instruction's id store (hotpath.h,
 * lean blocks).
 */
bool disas_may_leave_block(uint64_t addr, const uint8_t *bytes, uint32_t size);
bool disas_can_classify(void);

/* What one instruction can do with control (arch.h's CflowTransfer; the plugin reads
 * may_transfer, has_target and target). */
typedef CflowTransfer DisasTransfer;

void disas_transfer(uint64_t addr, const uint8_t *bytes, uint32_t size, DisasTransfer *out);
/*
 * The same by encoding alone, for guesses at translation time (an expected predecessor, never
 * a recorded fact): false where the encoding does not tell (x86: anything but the usual jumps,
 * calls and returns), with no capstone decoding. The first capstone decoding of a run pages
 * in 1.3 MiB of its tables: a tenth of what the plugin adds to a python3 start-up's peak.
 */
bool disas_transfer_by_encoding(uint64_t addr, const uint8_t *bytes, uint32_t size,
                                DisasTransfer *out);
/* The same from a full decoding every time: what disas_transfer must agree with (tests). */
void disas_transfer_decoded(uint64_t addr, const uint8_t *bytes, uint32_t size,
                            DisasTransfer *out);

/*
 * Sparse blocks (hotpath.h) check some instructions by encoding, at translation time, where
 * the guest's architecture has such checks (x86-64): disas_sparse_checks() says whether it
 * has, disas_register_only and disas_helper_may_raise are the architecture's register_only
 * and helper_may_raise (arch.h; false where it has none).
 */
bool disas_sparse_checks(void);
bool disas_register_only(const uint8_t *bytes, uint32_t size);
bool disas_helper_may_raise(const uint8_t *bytes, uint32_t size);

#endif
