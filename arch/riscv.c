/*
 * riscv.c: the RISC-V room (riscv64, and riscv32's text decoder and privilege level):
 * system calls, signal frame, privilege mode, and the instruction decoders by encoding
 * (capstone 4 has no RISC-V, and QEMU's own riscv disassembler gives the text) and by text
 * (arch.h).
 */
#include "arch.h"

#include <elf.h>
#include <glib.h>
#include <string.h>

static CflowInsnClass riscv_classify_text(const char *m, const char *ops)
{
    const char *r = g_str_has_prefix(m, "c.") ? m + 2 : m;
    bool one_operand = !strchr(ops, ',');
    if (strcmp(r, "call") == 0 || strcmp(r, "tail") == 0) {
        return strcmp(r, "call") == 0 ? CFLOW_INSN_CALL : CFLOW_INSN_JUMP;
    }
    if (strcmp(r, "ret") == 0) {
        return CFLOW_INSN_RETURN;
    }
    if (strcmp(r, "jal") == 0 || strcmp(r, "jalr") == 0) {
        /* "jal OFFSET" / "jalr REG" link to ra; otherwise the first operand is rd */
        if (one_operand || g_str_has_prefix(ops, "ra") || g_str_has_prefix(ops, "x1,")) {
            return CFLOW_INSN_CALL;
        }
        if (strcmp(r, "jalr") == 0 && (strstr(ops, "ra") || strstr(ops, "x1")) &&
            (g_str_has_prefix(ops, "zero") || g_str_has_prefix(ops, "x0"))) {
            return CFLOW_INSN_RETURN;
        }
        return CFLOW_INSN_JUMP;
    }
    if (strcmp(r, "j") == 0 || strcmp(r, "jr") == 0) {
        return strcmp(r, "jr") == 0 && strcmp(ops, "ra") == 0 ? CFLOW_INSN_RETURN
                                                              : CFLOW_INSN_JUMP;
    }
    if (r[0] == 'b' && (g_str_has_prefix(r, "beq") || g_str_has_prefix(r, "bne") ||
                        g_str_has_prefix(r, "blt") || g_str_has_prefix(r, "bge") ||
                        g_str_has_prefix(r, "bgt") || g_str_has_prefix(r, "ble"))) {
        return CFLOW_INSN_COND;
    }
    return CFLOW_INSN_OTHER;
}

/*
 * RV64GC by encoding. Stays: integer register/immediate arithmetic (RISC-V division never
 * traps), LUI, AUIPC and their compressed forms. Everything else may leave: loads, stores,
 * AMOs, fences, SYSTEM (CSRs trap), floating point and vector (trap when disabled), jumps and
 * branches.
 */
static bool riscv_stays_encoded(const uint8_t *b, uint32_t size)
{
    if (size == 4 && (b[0] & 3) == 3) {
        switch (b[0] & 0x7f) {
        case 0x13: /* OP-IMM */
        case 0x1b: /* OP-IMM-32 */
        case 0x33: /* OP (including M) */
        case 0x3b: /* OP-32 */
        case 0x37: /* LUI */
        case 0x17: /* AUIPC */
            return true;
        default:
            return false;
        }
    }
    if (size != 2 || (b[0] & 3) == 3) {
        return false;
    }
    uint16_t c = (uint16_t)(b[0] | b[1] << 8);
    unsigned quadrant = c & 3, funct3 = c >> 13;
    unsigned rs1 = (c >> 7) & 31, rs2 = (c >> 2) & 31, bit12 = (c >> 12) & 1;
    switch (quadrant) {
    case 0:
        return funct3 == 0 && c != 0; /* c.addi4spn; all zeros is illegal */
    case 1:
        return funct3 <= 4; /* c.addi/nop, c.addiw (RV64), c.li, c.addi16sp/lui, ALU */
    default:
        if (funct3 == 0) {
            return true; /* c.slli */
        }
        if (funct3 == 4) {
            return rs2 != 0 && (bit12 == 0 || rs1 != 0); /* c.mv, c.add */
        }
        return false;
    }
}

/* jal/jalr's class by its link register rd and (jalr) base rs1: the psABI's conventions */
static CflowInsnClass riscv_link_class(unsigned rd, unsigned rs1, bool jalr)
{
    if (rd == 1) {
        return CFLOW_INSN_CALL;
    }
    return jalr && rd == 0 && rs1 == 1 ? CFLOW_INSN_RETURN : CFLOW_INSN_JUMP;
}

/* A 32-bit instruction: branch, jal, jalr, system (ecall, ebreak, xret) transfer control. */
static void riscv_transfer32(uint64_t addr, uint32_t w, CflowTransfer *out)
{
    uint64_t imm;
    CflowInsnClass cls;
    switch (w & 0x7f) {
    case 0x63: /* B-type */
        imm = cflow_sext(((w >> 31) & 1) << 12 | ((w >> 7) & 1) << 11 | ((w >> 25) & 0x3f) << 5 |
                             ((w >> 8) & 0xf) << 1, 13);
        cls = CFLOW_INSN_COND;
        break;
    case 0x6f: /* J-type */
        imm = cflow_sext(((w >> 31) & 1) << 20 | ((w >> 12) & 0xff) << 12 | ((w >> 20) & 1) << 11 |
                             ((w >> 21) & 0x3ff) << 1, 21);
        cls = riscv_link_class((w >> 7) & 31, 0, false);
        break;
    case 0x67:
        *out = CFLOW_XFER(riscv_link_class((w >> 7) & 31, (w >> 15) & 31, true), true);
        return;
    default:
        *out = CFLOW_XFER(CFLOW_INSN_OTHER, (w & 0x7f) == 0x73);
        return;
    }
    *out = (CflowTransfer){.cls = cls, .may_transfer = true, .has_target = true,
                           .target = addr + imm};
}

/* Every instruction by encoding: riscv has no other decoder, so this always answers. */
static bool riscv_transfer_encoded(uint64_t addr, const uint8_t *b, uint32_t size,
                                   CflowTransfer *out)
{
    if (size == 4 && (b[0] & 3) == 3) {
        riscv_transfer32(addr, cflow_le32(b), out);
        return true;
    }
    *out = CFLOW_XFER(CFLOW_INSN_OTHER, true);
    if (size != 2) {
        return true;
    }
    uint16_t c = (uint16_t)(b[0] | b[1] << 8);
    unsigned quadrant = c & 3, funct3 = c >> 13, rs1 = (c >> 7) & 31, rs2 = (c >> 2) & 31;
    if (quadrant == 1) {
        out->may_transfer = funct3 >= 5; /* c.j, c.beqz, c.bnez */
        out->cls = funct3 == 5 ? CFLOW_INSN_JUMP : funct3 > 5 ? CFLOW_INSN_COND : CFLOW_INSN_OTHER;
    } else if (quadrant == 2 && funct3 == 4) {
        out->may_transfer = rs2 == 0; /* c.jr, c.jalr, c.ebreak */
        if (rs2 == 0 && rs1 != 0) {
            out->cls = riscv_link_class((c >> 12) & 1, rs1, true);
        }
    } else {
        out->may_transfer = quadrant == 3;
    }
    return true;
}

/* priv: QEMU's pseudo-register, 0 U, 1 S, 3 M */
static CflowPriv riscv_priv_level(const bool ok[2], const uint64_t value[2])
{
    if (!ok[0]) {
        return CFLOW_PRIV_UNKNOWN;
    }
    return value[0] == 0   ? CFLOW_PRIV_USER
           : value[0] == 1 ? CFLOW_PRIV_KERNEL
                           : CFLOW_PRIV_FIRMWARE;
}

/* QEMU's linux-user frame: 128 bytes of signal mask, then the 16-aligned mcontext (176),
 * pc first */
static const CflowSigframe riscv64_sigframe = {"a0", "a2", 176, 134};

const CflowArch cflow_arch_riscv64 = {
    .name = "riscv64", .elf_machine = EM_RISCV, .elf_class = ELFCLASS64,
    /* user mode: exec and signal delivery; system mode: U, S, M */
    .execve = {221, 281}, .sigframe = &riscv64_sigframe,
    .priv_regs = {"priv"}, .priv_level = riscv_priv_level,
    /* no capstone 4 decoder: the classifier by encoding, and by text */
    .transfer_encoded = riscv_transfer_encoded, .stays_encoded = riscv_stays_encoded,
    .classify_text = riscv_classify_text,
};

/* riscv32: its compressed encodings differ (c.jal); only text, calls and levels are known. */
const CflowArch cflow_arch_riscv32 = {
    .name = "riscv32", .elf_machine = EM_RISCV, .elf_class = ELFCLASS32,
    .execve = {221, 281}, .priv_regs = {"priv"}, .priv_level = riscv_priv_level,
    .classify_text = riscv_classify_text,
};
