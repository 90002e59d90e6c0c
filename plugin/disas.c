/* disas.c: the guest's classifier handle and deferred disassembly (see disas.h). */
#include "disas.h"

#include <glib.h>

static const CflowArch *arch;  /* the guest's, whatever the mode */
static const CflowArch *decoder_arch; /* the guest's in user mode; one that knows nothing else */
static CflowDecoder decoder;   /* for decoder_arch, opened at its first use (opened_decoder) */
static gsize decoder_opened;
static bool deferred;
static bool classify;

/*
 * Opening capstone pages in some of its tables, and a run whose translation-time guesses are
 * all made by encoding (disas_transfer_by_encoding) needs no decoder before its exit.
 */
static const CflowDecoder *opened_decoder(void)
{
    if (g_once_init_enter(&decoder_opened)) {
        cflow_decoder_open(&decoder, decoder_arch);
        g_once_init_leave(&decoder_opened, 1);
    }
    return &decoder;
}

bool disas_init(const char *target_name, bool system_emulation, bool defer_text)
{
    arch = cflow_arch_find(target_name);
    if (system_emulation) {
        decoder_arch = cflow_arch_find(NULL);
        return deferred = false;
    }
    decoder_arch = arch;
    /* what cflow_decoder_open will say, unless capstone cannot open a handle it has */
    classify = arch->capstone || arch->transfer_encoded;
    /*
     * disas=qemu changes only where the text comes from, never the classification; without
     * capstone for the guest (riscv) QEMU's own disassembler is cheap: keep it
     */
    return deferred = classify && arch->capstone && defer_text;
}

const CflowArch *disas_arch(void)
{
    return arch;
}

bool disas_deferred(void)
{
    return deferred;
}

bool disas_can_classify(void)
{
    return classify;
}

bool disas_may_leave_block(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    return cflow_arch_may_leave_block(opened_decoder(), addr, bytes, size);
}

void disas_transfer(uint64_t addr, const uint8_t *bytes, uint32_t size, DisasTransfer *out)
{
    cflow_arch_classify(opened_decoder(), addr, bytes, size, NULL, out);
}

bool disas_transfer_by_encoding(uint64_t addr, const uint8_t *bytes, uint32_t size,
                                DisasTransfer *out)
{
    return classify && arch->transfer_encoded && arch->transfer_encoded(addr, bytes, size, out);
}

void disas_transfer_decoded(uint64_t addr, const uint8_t *bytes, uint32_t size,
                            DisasTransfer *out)
{
    cflow_arch_classify_decoded(opened_decoder(), addr, bytes, size, out);
}

bool disas_sparse_checks(void)
{
    return arch->register_only && arch->helper_may_raise;
}

bool disas_register_only(const uint8_t *bytes, uint32_t size)
{
    return arch->register_only && arch->register_only(bytes, size);
}

bool disas_helper_may_raise(const uint8_t *bytes, uint32_t size)
{
    return arch->helper_may_raise && arch->helper_may_raise(bytes, size);
}
