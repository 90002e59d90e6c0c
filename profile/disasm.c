/*
 * disasm.c: text for instructions a profile keeps as bytes (cflow_profile_insn_disas).
 *
 * The same capstone options QEMU's own disassembly uses (AT&T syntax on x86, data skipped as
 * .byte), so a text made here from the bytes is the text QEMU would have given at translation
 * (an integration test compares them). One handle per architecture, opened on first use.
 */
#include "profile.h"

#include <capstone/capstone.h>
#include <pthread.h>
#include <string.h>

typedef struct {
    const char *arch; /* meta "arch" */
    cs_arch cs;
    cs_mode mode;
    csh handle;
    int state; /* 0 not tried, 1 open, -1 unavailable */
} Disassembler;

static Disassembler disassemblers[] = {
    {"x86_64", CS_ARCH_X86, CS_MODE_64, 0, 0},
    {"aarch64", CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, 0, 0},
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static char *as_bytes(const uint8_t *bytes, uint32_t size)
{
    GString *s = g_string_new(".byte");
    for (uint32_t i = 0; i < size; i++) {
        g_string_append_printf(s, "%s0x%02x", i ? "," : " ", bytes[i]);
    }
    return g_string_free(s, FALSE);
}

char *cflow_disasm(const char *arch, uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    Disassembler *d = NULL;
    for (size_t i = 0; arch && i < G_N_ELEMENTS(disassemblers); i++) {
        if (strcmp(disassemblers[i].arch, arch) == 0) {
            d = &disassemblers[i];
        }
    }
    if (!d) {
        return as_bytes(bytes, size);
    }
    pthread_mutex_lock(&lock);
    if (d->state == 0) {
        d->state = cs_open(d->cs, d->mode, &d->handle) == CS_ERR_OK ? 1 : -1;
        if (d->state == 1) {
            cs_option(d->handle, CS_OPT_SKIPDATA, CS_OPT_ON);
            if (d->cs == CS_ARCH_X86) {
                cs_option(d->handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
            }
        }
    }
    char *text = NULL;
    cs_insn *insn = NULL;
    if (d->state == 1 && cs_disasm(d->handle, bytes, size, addr, 1, &insn) == 1) {
        text = g_strdup_printf("%s %s", insn->mnemonic, insn->op_str);
        cs_free(insn, 1);
    }
    pthread_mutex_unlock(&lock);
    return text ? text : as_bytes(bytes, size);
}
