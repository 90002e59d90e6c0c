/* loongarch64.c: LoongArch64, of which cflow knows only the execve system calls (arch.h). */
#include "arch.h"

const CflowArch cflow_arch_loongarch64 = {
    .name = "loongarch64",
    .execve = {221, 281},
};
