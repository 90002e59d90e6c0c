/*
 * arch.c: the table of architectures, the one lookup by name, and the entries every user
 * goes through (arch.h); what each architecture knows is in its own file.
 */
#include "arch.h"

#include <glib.h>
#include <string.h>

static const CflowArch *const table[] = {
    &cflow_arch_x86_64,  &cflow_arch_i386,    &cflow_arch_aarch64,     &cflow_arch_riscv64,
    &cflow_arch_riscv32, &cflow_arch_arm,     &cflow_arch_loongarch64,
};

static const CflowArch unknown = {.name = ""};

const CflowArch *cflow_arch_find(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(table); i++) {
        if (strcmp(table[i]->name, name) == 0) {
            return table[i];
        }
    }
    return &unknown;
}

const CflowArch *cflow_arch_for_elf(unsigned machine, unsigned elf_class)
{
    for (size_t i = 0; machine && i < G_N_ELEMENTS(table); i++) {
        if (table[i]->elf_machine == machine && table[i]->elf_class == elf_class) {
            return table[i];
        }
    }
    return NULL;
}

bool cflow_arch_is_execve(const CflowArch *arch, int64_t num)
{
    return num > 0 && (num == arch->execve[0] || num == arch->execve[1]);
}

bool cflow_decoder_open(CflowDecoder *d, const CflowArch *arch)
{
    *d = (CflowDecoder){.arch = arch};
    if (!arch->capstone) {
        return d->open = arch->transfer_encoded != NULL; /* decodes by encoding alone */
    }
    if (cs_open(arch->cs, arch->mode, &d->handle) != CS_ERR_OK) {
        return false;
    }
    cs_option(d->handle, CS_OPT_DETAIL, CS_OPT_ON);
    return d->open = true;
}

void cflow_decoder_close(CflowDecoder *d)
{
    if (d->open && d->arch->capstone) {
        cs_close(&d->handle);
    }
    d->open = false;
}

bool cflow_arch_in_groups(const cs_insn *insn, const uint8_t *groups)
{
    for (; *groups; groups++) {
        for (int i = 0; i < insn->detail->groups_count; i++) {
            if (insn->detail->groups[i] == *groups) {
                return true;
            }
        }
    }
    return false;
}

/*
 * One instruction decoded with operand details, or NULL when there is no capstone decoder or
 * the bytes do not decode to exactly one instruction of that size: callers then assume the
 * worst. Free with cs_free(insn, 1).
 */
static cs_insn *decode_detail(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                              uint32_t size)
{
    cs_insn *insn = NULL;
    if (!d->open || !d->arch->capstone || cs_disasm(d->handle, bytes, size, addr, 1, &insn) != 1) {
        return NULL;
    }
    if (insn->size != size || !insn->detail) {
        cs_free(insn, 1);
        return NULL;
    }
    return insn;
}

void cflow_arch_classify_decoded(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                                 uint32_t size, CflowTransfer *out)
{
    *out = CFLOW_XFER(CFLOW_INSN_OTHER, true);
    const CflowArch *arch = d->arch;
    if (!arch->capstone) {
        if (d->open) {
            arch->transfer_encoded(addr, bytes, size, out); /* always answers: see arch.h */
        }
        return;
    }
    cs_insn *insn = decode_detail(d, addr, bytes, size);
    if (!insn) {
        return;
    }
    arch->transfer_decoded(insn, out);
    cs_free(insn, 1);
}

/* The mnemonic (lower case, prefixes such as notrack/bnd/rep dropped) and the operand text. */
static const char *mnemonic(const char *disas, char *buf, size_t size)
{
    static const char *const prefixes[] = {"notrack", "bnd", "rep", "repz", "repe", "lock",
                                           "ds", "cs"};
    const char *s = disas;
    for (;;) {
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        size_t len = strcspn(s, " \t");
        size_t n = MIN(len, size - 1);
        for (size_t i = 0; i < n; i++) {
            buf[i] = g_ascii_tolower(s[i]);
        }
        buf[n] = 0;
        s += len;
        bool prefix = false;
        for (size_t i = 0; i < G_N_ELEMENTS(prefixes) && !prefix; i++) {
            prefix = strcmp(buf, prefixes[i]) == 0 && *s;
        }
        if (!prefix) {
            while (*s == ' ' || *s == '\t') {
                s++;
            }
            return s;
        }
    }
}

void cflow_arch_classify(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                         uint32_t size, const char *text, CflowTransfer *out)
{
    const CflowArch *arch = d->arch;
    if (bytes) {
        if (d->open && arch->transfer_encoded && arch->transfer_encoded(addr, bytes, size, out)) {
            return;
        }
        cflow_arch_classify_decoded(d, addr, bytes, size, out);
        return;
    }
    *out = CFLOW_XFER(CFLOW_INSN_OTHER, true);
    if (arch->classify_text) {
        char m[32];
        const char *ops = mnemonic(text ? text : "", m, sizeof m);
        out->cls = arch->classify_text(m, ops);
    }
}

bool cflow_arch_may_leave_block(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                                uint32_t size)
{
    const CflowArch *arch = d->arch;
    if (!arch->capstone) {
        return !d->open || !arch->stays_encoded || !arch->stays_encoded(bytes, size);
    }
    cs_insn *insn = decode_detail(d, addr, bytes, size);
    if (!insn) {
        return true;
    }
    bool stays = arch->stays_decoded(insn);
    cs_free(insn, 1);
    return !stays;
}
