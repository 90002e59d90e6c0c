/* disas.c: the guest's classifier handle and deferred disassembly (see disas.h). */
#include "disas.h"

static const CflowArch *arch;  /* the guest's, whatever the mode */
static CflowDecoder decoder;   /* the guest's in user mode; one that knows nothing otherwise */
static bool deferred;
static bool classify;

bool disas_init(const char *target_name, bool system_emulation, bool defer_text)
{
    arch = cflow_arch_find(target_name);
    if (system_emulation) {
        cflow_decoder_open(&decoder, cflow_arch_find(NULL));
        return deferred = false;
    }
    classify = cflow_decoder_open(&decoder, arch);
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
    return cflow_arch_may_leave_block(&decoder, addr, bytes, size);
}

void disas_transfer(uint64_t addr, const uint8_t *bytes, uint32_t size, DisasTransfer *out)
{
    cflow_arch_classify(&decoder, addr, bytes, size, NULL, out);
}

void disas_transfer_decoded(uint64_t addr, const uint8_t *bytes, uint32_t size,
                            DisasTransfer *out)
{
    cflow_arch_classify_decoded(&decoder, addr, bytes, size, out);
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
