/* disas.c: deferred disassembly with capstone (see disas.h). */
#include "disas.h"

#include <capstone/capstone.h>
#include <glib.h>
#include <string.h>

static csh handle;
static bool deferred;

bool disas_init(const char *target_name, bool system_emulation)
{
    cs_arch arch;
    cs_mode mode = CS_MODE_LITTLE_ENDIAN;
    if (system_emulation) {
        return deferred = false;
    }
    if (strcmp(target_name, "x86_64") == 0) {
        arch = CS_ARCH_X86;
        mode |= CS_MODE_64;
    } else if (strcmp(target_name, "aarch64") == 0) {
        arch = CS_ARCH_ARM64;
    } else {
        return deferred = false;
    }
    if (cs_open(arch, mode, &handle) != CS_ERR_OK) {
        return deferred = false;
    }
    cs_option(handle, CS_OPT_SKIPDATA, CS_OPT_ON);
    if (arch == CS_ARCH_X86) {
        cs_option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    }
    return deferred = true;
}

bool disas_deferred(void)
{
    return deferred;
}

char *disas_bytes(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    cs_insn *insn = NULL;
    if (deferred && cs_disasm(handle, bytes, size, addr, 1, &insn) == 1) {
        char *s = g_strdup_printf("%s %s", insn->mnemonic, insn->op_str);
        cs_free(insn, 1);
        return s;
    }
    GString *s = g_string_new(".byte");
    for (uint32_t i = 0; i < size; i++) {
        g_string_append_printf(s, "%s0x%02x", i ? "," : " ", bytes[i]);
    }
    return g_string_free(s, FALSE);
}
