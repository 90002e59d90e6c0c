/*
 * privilege.h: the privilege level code runs at, read when it is translated.
 *
 * A translation block is looked up only under the CPU state it was translated for, and that
 * state includes the privilege level (x86 CPL, aarch64 EL, riscv mode are all part of the
 * block's flags), so the level the translating vCPU is at now is the level of every execution
 * of the block. QEMU lets the translation callback read registers; one read per block
 * translated, nothing at run time. In user mode everything is user code.
 */
#ifndef CFLOW_PRIVILEGE_H
#define CFLOW_PRIVILEGE_H

#include <stdbool.h>

#include "profile.h"

void privilege_init(const char *target_name, bool system_emulation);
/* vCPU init callback context: finds the registers to read. */
void privilege_vcpu_init(void);
/* In the translation callback: the level of the block being translated. */
CflowPriv privilege_now(void);

#endif
