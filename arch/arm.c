/* arm.c: 32-bit Arm, of which cflow knows only its programs' ELF header (cflow record) (arch.h). */
#include <elf.h>

#include "arch.h"

const CflowArch cflow_arch_arm = {
    .name = "arm",
    .elf_machine = EM_ARM,
    .elf_class = ELFCLASS32,
};
