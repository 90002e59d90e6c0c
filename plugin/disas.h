/*
 * disas.h: disassembly, deferred to exit where we can.
 *
 * QEMU's qemu_plugin_insn_disas() opens and closes a capstone handle for every instruction;
 * measured, that was about a third of the plugin's whole cost on python3's start-up. Where the
 * guest's instruction set is fixed for the run (x86_64 and aarch64 user mode), the plugin keeps
 * the instruction bytes at translation time and disassembles, with one handle and the same
 * capstone options as QEMU (AT&T syntax on x86, data skipped as .byte), only the instructions
 * that end up in the profile. Elsewhere (system mode can switch CPU modes, riscv is not a
 * capstone 4 architecture) QEMU disassembles at translation time.
 */
#ifndef CFLOW_DISAS_H
#define CFLOW_DISAS_H

#include <stdbool.h>
#include <stdint.h>

/* Decides, once, whether disassembly is deferred for this guest. */
bool disas_init(const char *target_name, bool system_emulation);
bool disas_deferred(void);
/* Newly allocated text for one instruction; never NULL. */
char *disas_bytes(uint64_t addr, const uint8_t *bytes, uint32_t size);

#endif
