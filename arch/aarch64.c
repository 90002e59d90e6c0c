/*
 * aarch64.c: the AArch64 room: capstone's options, system calls, signal frame, exception
 * level, and the instruction decoders by encoding, by capstone's decoding and by text
 * (arch.h).
 */
#include "arch.h"

#include <elf.h>
#include <glib.h>
#include <string.h>

static CflowInsnClass arm64_classify_text(const char *m, const char *ops)
{
    if (strcmp(m, "bl") == 0 || g_str_has_prefix(m, "blr")) {
        return CFLOW_INSN_CALL; /* bl, blr, blraa, blraaz, blrab, blrabz */
    }
    if (g_str_has_prefix(m, "ret") || g_str_has_prefix(m, "eret")) {
        return CFLOW_INSN_RETURN;
    }
    if (g_str_has_prefix(m, "b.") || g_str_has_prefix(m, "bc.") || strcmp(m, "cbz") == 0 ||
        strcmp(m, "cbnz") == 0 || strcmp(m, "tbz") == 0 || strcmp(m, "tbnz") == 0) {
        return CFLOW_INSN_COND;
    }
    if (strcmp(m, "b") == 0 || strcmp(m, "br") == 0 || g_str_has_prefix(m, "bra")) {
        return CFLOW_INSN_JUMP; /* b, br, braa ... (not brk) */
    }
    return CFLOW_INSN_OTHER;
}

static CflowInsnClass arm64_class_decoded(const cs_insn *insn)
{
    switch (insn->id) {
    case ARM64_INS_BL: case ARM64_INS_BLR:
        return CFLOW_INSN_CALL;
    case ARM64_INS_RET: case ARM64_INS_ERET:
        return CFLOW_INSN_RETURN;
    case ARM64_INS_CBZ: case ARM64_INS_CBNZ: case ARM64_INS_TBZ: case ARM64_INS_TBNZ:
        return CFLOW_INSN_COND;
    case ARM64_INS_B: /* b.cond, b.al and b.nv included, is b with a condition */
        return insn->detail->arm64.cc != ARM64_CC_INVALID ? CFLOW_INSN_COND : CFLOW_INSN_JUMP;
    case ARM64_INS_BR:
        return CFLOW_INSN_JUMP;
    default:
        return CFLOW_INSN_OTHER;
    }
}

/* The common branches by encoding (see x86_64.c's x86_transfer_encoded for why). */
static bool arm64_transfer_encoded(uint64_t addr, const uint8_t *b, uint32_t size,
                                   CflowTransfer *out)
{
    if (size != 4) {
        return false;
    }
    uint32_t w = cflow_le32(b);
    int64_t off;
    CflowInsnClass cls = CFLOW_INSN_COND;
    if ((w & 0x7c000000) == 0x14000000) { /* b, bl */
        off = cflow_sext(w & 0x3ffffff, 26);
        cls = w >> 31 ? CFLOW_INSN_CALL : CFLOW_INSN_JUMP;
    } else if ((w & 0xff000010) == 0x54000000 || (w & 0x7e000000) == 0x34000000) {
        off = cflow_sext((w >> 5) & 0x7ffff, 19); /* b.cond, cbz, cbnz */
    } else if ((w & 0x7e000000) == 0x36000000) {
        off = cflow_sext((w >> 5) & 0x3fff, 14); /* tbz, tbnz */
    } else if ((w & 0xfffffc1f) == 0xd61f0000) {
        *out = CFLOW_XFER(CFLOW_INSN_JUMP, true); /* br */
        return true;
    } else if ((w & 0xfffffc1f) == 0xd63f0000) {
        *out = CFLOW_XFER(CFLOW_INSN_CALL, true); /* blr */
        return true;
    } else if ((w & 0xfffffc1f) == 0xd65f0000) {
        *out = CFLOW_XFER(CFLOW_INSN_RETURN, true); /* ret */
        return true;
    } else {
        return false;
    }
    *out = (CflowTransfer){.cls = cls, .may_transfer = true, .has_target = true,
                           .target = addr + (uint64_t)(off * 4)};
    return true;
}

static void arm64_transfer_decoded(const cs_insn *insn, CflowTransfer *out)
{
    static const uint8_t transfer_groups[] = {ARM64_GRP_JUMP, ARM64_GRP_CALL, ARM64_GRP_RET,
                                              ARM64_GRP_INT, ARM64_GRP_PRIVILEGE,
                                              ARM64_GRP_BRANCH_RELATIVE, ARM64_GRP_INVALID};
    static const uint8_t target_groups[] = {ARM64_GRP_JUMP, ARM64_GRP_CALL,
                                            ARM64_GRP_BRANCH_RELATIVE, ARM64_GRP_INVALID};
    /* calls to the kernel, hypervisor, firmware, a debugger, and exception returns */
    bool transfers = cflow_arch_in_groups(insn, transfer_groups) || insn->id == ARM64_INS_SVC ||
                     insn->id == ARM64_INS_HVC || insn->id == ARM64_INS_SMC ||
                     insn->id == ARM64_INS_BRK || insn->id == ARM64_INS_HLT ||
                     insn->id == ARM64_INS_ERET;
    *out = CFLOW_XFER(arm64_class_decoded(insn), transfers);
    const cs_arm64 *a = &insn->detail->arm64;
    if (cflow_arch_in_groups(insn, target_groups) && a->op_count >= 1 &&
        a->operands[a->op_count - 1].type == ARM64_OP_IMM) {
        out->has_target = true;
        out->target = (uint64_t)a->operands[a->op_count - 1].imm;
    }
}

/* Register-only aarch64 integer instructions (aarch64 division never traps). */
static bool arm64_stays_decoded(const cs_insn *insn)
{
    switch (insn->id) {
    case ARM64_INS_ADC: case ARM64_INS_ADD: case ARM64_INS_ADR: case ARM64_INS_ADRP:
    case ARM64_INS_AND: case ARM64_INS_ASR: case ARM64_INS_BFM: case ARM64_INS_BIC:
    case ARM64_INS_CCMN: case ARM64_INS_CCMP: case ARM64_INS_CLS: case ARM64_INS_CLZ:
    case ARM64_INS_MOV: case ARM64_INS_CSEL: case ARM64_INS_CSINC: case ARM64_INS_CSINV:
    case ARM64_INS_CSNEG: case ARM64_INS_EON: case ARM64_INS_EOR: case ARM64_INS_EXTR:
    case ARM64_INS_LSL: case ARM64_INS_LSR: case ARM64_INS_MADD: case ARM64_INS_MOVK:
    case ARM64_INS_MOVN: case ARM64_INS_MOVZ: case ARM64_INS_MSUB: case ARM64_INS_MUL:
    case ARM64_INS_NEG: case ARM64_INS_ORN: case ARM64_INS_ORR: case ARM64_INS_RBIT:
    case ARM64_INS_REV16: case ARM64_INS_REV32: case ARM64_INS_REV: case ARM64_INS_ROR:
    case ARM64_INS_SBC: case ARM64_INS_SBFM: case ARM64_INS_SDIV: case ARM64_INS_SMULH:
    case ARM64_INS_SMULL: case ARM64_INS_SUB: case ARM64_INS_UBFM: case ARM64_INS_UDIV:
    case ARM64_INS_UMULH: case ARM64_INS_UMULL: case ARM64_INS_MNEG: case ARM64_INS_NOP:
    case ARM64_INS_NGC: case ARM64_INS_SBFIZ: case ARM64_INS_UBFIZ: case ARM64_INS_SBFX:
    case ARM64_INS_UBFX: case ARM64_INS_BFI: case ARM64_INS_BFXIL: case ARM64_INS_CMN:
    case ARM64_INS_MVN: case ARM64_INS_TST: case ARM64_INS_CSET: case ARM64_INS_CINC:
    case ARM64_INS_CSETM: case ARM64_INS_CINV: case ARM64_INS_CNEG: case ARM64_INS_SXTB:
    case ARM64_INS_SXTH: case ARM64_INS_SXTW: case ARM64_INS_CMP: case ARM64_INS_UXTB:
    case ARM64_INS_UXTH: case ARM64_INS_NEGS: case ARM64_INS_NGCS:
        break;
    default:
        return false;
    }
    const cs_arm64 *a = &insn->detail->arm64;
    for (int i = 0; i < a->op_count; i++) {
        if (a->operands[i].type != ARM64_OP_REG && a->operands[i].type != ARM64_OP_IMM &&
            a->operands[i].type != ARM64_OP_CIMM) {
            return false;
        }
    }
    return true;
}

/* cpsr: AArch32 by its mode field, else EL0..EL3 */
static CflowPriv arm64_priv_level(const bool ok[2], const uint64_t value[2])
{
    uint64_t a = value[0];
    if (!ok[0]) {
        return CFLOW_PRIV_UNKNOWN;
    }
    if (a & 0x10) {
        return (a & 0xf) == 0 ? CFLOW_PRIV_USER : CFLOW_PRIV_KERNEL; /* AArch32 */
    }
    switch ((a >> 2) & 3) {
    case 0: return CFLOW_PRIV_USER;
    case 1: return CFLOW_PRIV_KERNEL;
    case 2: return CFLOW_PRIV_HYPERVISOR;
    default: return CFLOW_PRIV_FIRMWARE;
    }
}

/*
 * QEMU's linux-user signal frame (10.2), as the kernel's: 128 bytes of signal mask before a
 * 16-aligned mcontext (176), whose pc follows fault_address, x0-x30 and sp.
 */
static const CflowSigframe arm64_sigframe = {"x0", "x2", 176 + 8 + 31 * 8 + 8, 134};

const CflowArch cflow_arch_aarch64 = {
    .name = "aarch64", .elf_machine = EM_AARCH64, .elf_class = ELFCLASS64,
    .capstone = true, .cs = CS_ARCH_ARM64, .mode = CS_MODE_LITTLE_ENDIAN,
    /* user mode: exec and signal delivery; system mode: exception levels */
    .execve = {221, 281}, .sigframe = &arm64_sigframe,
    .priv_regs = {"cpsr"}, .priv_level = arm64_priv_level,
    /* the classifier: by encoding where it can, by a full decoding, by text */
    .transfer_encoded = arm64_transfer_encoded, .transfer_decoded = arm64_transfer_decoded,
    .stays_decoded = arm64_stays_decoded, .classify_text = arm64_classify_text,
};
