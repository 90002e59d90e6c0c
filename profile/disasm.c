/*
 * disasm.c: text for instructions a profile keeps as bytes (cflow_profile_insn_disas).
 *
 * The same capstone options QEMU's own disassembly uses (the architecture's, arch.h: AT&T
 * syntax on x86; data skipped as .byte), so a text made here from the bytes is the text QEMU
 * would have given at translation (an integration test compares them). One handle per
 * architecture, opened on first use.
 */
#include "profile.h"

#include <capstone/capstone.h>
#include <pthread.h>

#include "arch.h"

typedef struct {
    const CflowArch *arch;
    csh handle;
    bool open;
} Disassembler;

static Disassembler disassemblers[8]; /* opened so far, under lock: one per architecture */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static char *as_bytes(const uint8_t *bytes, uint32_t size)
{
    GString *s = g_string_new(".byte");
    for (uint32_t i = 0; i < size; i++) {
        g_string_append_printf(s, "%s0x%02x", i ? "," : " ", bytes[i]);
    }
    return g_string_free(s, FALSE);
}

/* The architecture's handle, opened (or found unavailable) on first use; under lock. */
static Disassembler *disassembler(const CflowArch *arch)
{
    size_t i = 0;
    for (; i < G_N_ELEMENTS(disassemblers) && disassemblers[i].arch; i++) {
        if (disassemblers[i].arch == arch) {
            return &disassemblers[i];
        }
    }
    if (i == G_N_ELEMENTS(disassemblers)) {
        return NULL;
    }
    Disassembler *d = &disassemblers[i];
    d->arch = arch;
    d->open = cs_open(arch->cs, arch->mode, &d->handle) == CS_ERR_OK;
    if (d->open) {
        cs_option(d->handle, CS_OPT_SKIPDATA, CS_OPT_ON);
        if (arch->att_syntax) {
            cs_option(d->handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
        }
    }
    return d;
}

char *cflow_disasm(const char *arch_name, uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    const CflowArch *arch = cflow_arch_find(arch_name);
    if (!arch->capstone) {
        return as_bytes(bytes, size);
    }
    pthread_mutex_lock(&lock);
    Disassembler *d = disassembler(arch);
    char *text = NULL;
    cs_insn *insn = NULL;
    if (d && d->open && cs_disasm(d->handle, bytes, size, addr, 1, &insn) == 1) {
        text = g_strdup_printf("%s %s", insn->mnemonic, insn->op_str);
        cs_free(insn, 1);
    }
    pthread_mutex_unlock(&lock);
    return text ? text : as_bytes(bytes, size);
}
