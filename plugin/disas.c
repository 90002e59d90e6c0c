/* disas.c: deferred disassembly with capstone (see disas.h). */
#include "disas.h"

#include <capstone/capstone.h>
#include <glib.h>
#include <string.h>

static csh detail_handle; /* a second handle with operand details, for classification */
static bool deferred;
static bool classify;
static bool riscv64; /* classified by encoding: capstone 4 has no RISC-V */
static cs_arch arch_in_use;
static bool x86_target;

bool disas_init(const char *target_name, bool system_emulation, bool defer_text)
{
    cs_arch arch;
    cs_mode mode = CS_MODE_LITTLE_ENDIAN;
    x86_target = strcmp(target_name, "x86_64") == 0;
    if (system_emulation) {
        return deferred = false;
    }
    if (strcmp(target_name, "riscv64") == 0) {
        riscv64 = classify = true;
        return deferred = false; /* QEMU's own riscv disassembler is cheap: keep it */
    }
    if (strcmp(target_name, "x86_64") == 0) {
        arch = CS_ARCH_X86;
        mode |= CS_MODE_64;
    } else if (strcmp(target_name, "aarch64") == 0) {
        arch = CS_ARCH_ARM64;
    } else {
        return deferred = false;
    }
    arch_in_use = arch;
    if (cs_open(arch, mode, &detail_handle) != CS_ERR_OK) {
        return deferred = false;
    }
    cs_option(detail_handle, CS_OPT_DETAIL, CS_OPT_ON);
    classify = true;
    /* disas=qemu changes only where the text comes from, never the classification */
    return deferred = defer_text;
}

bool disas_x86_target(void)
{
    return x86_target;
}

bool disas_deferred(void)
{
    return deferred;
}

bool disas_can_classify(void)
{
    return classify;
}

/* Register-only x86 integer instructions that cannot fault (given no memory operand). */
static bool x86_safe(const cs_insn *insn)
{
    switch (insn->id) {
    case X86_INS_ADD: case X86_INS_ADC: case X86_INS_SUB: case X86_INS_SBB:
    case X86_INS_AND: case X86_INS_OR: case X86_INS_XOR: case X86_INS_NOT: case X86_INS_NEG:
    case X86_INS_INC: case X86_INS_DEC: case X86_INS_CMP: case X86_INS_TEST:
    case X86_INS_MOV: case X86_INS_MOVABS: case X86_INS_MOVZX: case X86_INS_MOVSX:
    case X86_INS_MOVSXD: case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR: case X86_INS_SAL:
    case X86_INS_ROL: case X86_INS_ROR: case X86_INS_SHLD: case X86_INS_SHRD:
    case X86_INS_IMUL: case X86_INS_MUL: case X86_INS_BT: case X86_INS_BSF: case X86_INS_BSR:
    case X86_INS_TZCNT: case X86_INS_LZCNT: case X86_INS_POPCNT: case X86_INS_BSWAP:
    case X86_INS_XCHG: case X86_INS_CBW: case X86_INS_CWDE: case X86_INS_CDQE: case X86_INS_CWD:
    case X86_INS_CDQ: case X86_INS_CQO: case X86_INS_ANDN: case X86_INS_SARX: case X86_INS_SHLX:
    case X86_INS_SHRX: case X86_INS_RORX:
    case X86_INS_CMOVA: case X86_INS_CMOVAE: case X86_INS_CMOVB: case X86_INS_CMOVBE:
    case X86_INS_CMOVE: case X86_INS_CMOVG: case X86_INS_CMOVGE: case X86_INS_CMOVL:
    case X86_INS_CMOVLE: case X86_INS_CMOVNE: case X86_INS_CMOVNO: case X86_INS_CMOVNP:
    case X86_INS_CMOVNS: case X86_INS_CMOVO: case X86_INS_CMOVP: case X86_INS_CMOVS:
    case X86_INS_SETAE: case X86_INS_SETA: case X86_INS_SETBE: case X86_INS_SETB:
    case X86_INS_SETE: case X86_INS_SETGE: case X86_INS_SETG: case X86_INS_SETLE:
    case X86_INS_SETL: case X86_INS_SETNE: case X86_INS_SETNO: case X86_INS_SETNP:
    case X86_INS_SETNS: case X86_INS_SETO: case X86_INS_SETP: case X86_INS_SETS:
    case X86_INS_MOVD: case X86_INS_MOVQ: case X86_INS_PAND: case X86_INS_PANDN:
    case X86_INS_POR: case X86_INS_PXOR:
        break;
    case X86_INS_LEA: /* its memory operand is an address computation, never an access */
    case X86_INS_NOP: /* multi-byte nops carry a memory operand they never access */
    case X86_INS_ENDBR64:
        return true;
    default:
        return false;
    }
    const cs_x86 *x = &insn->detail->x86;
    for (int i = 0; i < x->op_count; i++) {
        if (x->operands[i].type == X86_OP_MEM) {
            return false;
        }
        if (x->operands[i].type == X86_OP_REG) {
            x86_reg r = x->operands[i].reg;
            if ((r >= X86_REG_CR0 && r <= X86_REG_CR15) || (r >= X86_REG_DR0 && r <= X86_REG_DR15) ||
                r == X86_REG_CS || r == X86_REG_DS || r == X86_REG_ES || r == X86_REG_FS ||
                r == X86_REG_GS || r == X86_REG_SS) {
                return false;
            }
        }
    }
    return true;
}

/* Register-only aarch64 integer instructions (aarch64 division never traps). */
static bool arm64_safe(const cs_insn *insn)
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

/*
 * RISC-V (RV64GC) by encoding. Safe: integer register/immediate arithmetic (RISC-V division
 * never traps), LUI, AUIPC and their compressed forms. Everything else may leave: loads,
 * stores, AMOs, fences, SYSTEM (CSRs trap), floating point and vector (trap when disabled),
 * jumps and branches.
 */
static bool riscv_safe(const uint8_t *b, uint32_t size)
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

static bool riscv_transfers(const uint8_t *b, uint32_t size)
{
    if (size == 4 && (b[0] & 3) == 3) {
        unsigned op = b[0] & 0x7f;
        return op == 0x63 || op == 0x6f || op == 0x67 || op == 0x73; /* branch, jal, jalr, system */
    }
    if (size != 2) {
        return true;
    }
    uint16_t c = (uint16_t)(b[0] | b[1] << 8);
    unsigned quadrant = c & 3, funct3 = c >> 13, rs2 = (c >> 2) & 31;
    if (quadrant == 1) {
        return funct3 >= 5; /* c.j, c.beqz, c.bnez */
    }
    if (quadrant == 2 && funct3 == 4) {
        return rs2 == 0; /* c.jr, c.jalr, c.ebreak */
    }
    return quadrant == 3;
}

/*
 * One instruction decoded with operand details, or NULL when there is no capstone classifier
 * or the bytes do not decode to exactly one instruction of that size: callers then assume the
 * worst. Free with cs_free(insn, 1).
 */
static cs_insn *decode_detail(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    cs_insn *insn = NULL;
    if (!classify || riscv64 || cs_disasm(detail_handle, bytes, size, addr, 1, &insn) != 1) {
        return NULL;
    }
    if (insn->size != size || !insn->detail) {
        cs_free(insn, 1);
        return NULL;
    }
    return insn;
}

bool disas_may_leave_block(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    if (riscv64) {
        return !riscv_safe(bytes, size);
    }
    cs_insn *insn = decode_detail(addr, bytes, size);
    if (!insn) {
        return true;
    }
    bool safe = arch_in_use == CS_ARCH_X86 ? x86_safe(insn) : arm64_safe(insn);
    cs_free(insn, 1);
    return !safe;
}

static bool in_group(const cs_insn *insn, uint8_t group)
{
    for (int i = 0; i < insn->detail->groups_count; i++) {
        if (insn->detail->groups[i] == group) {
            return true;
        }
    }
    return false;
}

/* Capstone's view of whether a decoded instruction moves control. */
static bool capstone_transfers(const cs_insn *insn)
{
    bool transfers;
    if (arch_in_use == CS_ARCH_X86) {
        transfers = in_group(insn, X86_GRP_JUMP) || in_group(insn, X86_GRP_CALL) ||
                    in_group(insn, X86_GRP_RET) || in_group(insn, X86_GRP_INT) ||
                    in_group(insn, X86_GRP_IRET) || in_group(insn, X86_GRP_BRANCH_RELATIVE) ||
                    in_group(insn, X86_GRP_PRIVILEGE);
        switch (insn->id) {
        case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_SYSRET:
        case X86_INS_INT: case X86_INS_INT1: case X86_INS_INT3: case X86_INS_INTO:
        case X86_INS_UD2: case X86_INS_UD0: case X86_INS_HLT:
        case X86_INS_IRET: case X86_INS_IRETQ:
            transfers = true;
            break;
        default:
            break;
        }
    } else {
        transfers = in_group(insn, ARM64_GRP_JUMP) || in_group(insn, ARM64_GRP_CALL) ||
                    in_group(insn, ARM64_GRP_RET) || in_group(insn, ARM64_GRP_INT) ||
                    in_group(insn, ARM64_GRP_PRIVILEGE) ||
                    in_group(insn, ARM64_GRP_BRANCH_RELATIVE);
        switch (insn->id) {
        case ARM64_INS_SVC: case ARM64_INS_HVC: case ARM64_INS_SMC: case ARM64_INS_BRK:
        case ARM64_INS_HLT: case ARM64_INS_ERET:
            transfers = true;
            break;
        default:
            break;
        }
    }
    return transfers;
}

/* A decoded direct jump, call or branch: its taken destination. */
static bool capstone_direct_target(const cs_insn *insn, uint64_t *target)
{
    if (arch_in_use == CS_ARCH_X86) {
        const cs_x86 *x = &insn->detail->x86;
        if ((in_group(insn, X86_GRP_JUMP) || in_group(insn, X86_GRP_CALL)) && x->op_count == 1 &&
            x->operands[0].type == X86_OP_IMM) {
            *target = (uint64_t)x->operands[0].imm;
            return true;
        }
        return false;
    }
    const cs_arm64 *a = &insn->detail->arm64;
    if ((in_group(insn, ARM64_GRP_JUMP) || in_group(insn, ARM64_GRP_CALL) ||
         in_group(insn, ARM64_GRP_BRANCH_RELATIVE)) &&
        a->op_count >= 1 && a->operands[a->op_count - 1].type == ARM64_OP_IMM) {
        *target = (uint64_t)a->operands[a->op_count - 1].imm;
        return true;
    }
    return false;
}

/* Four bytes of code as a little-endian word. */
static inline uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* riscv: the immediate of a 32-bit B-type (branch) or J-type (jal) instruction. */
static bool riscv_direct_target(uint64_t addr, const uint8_t *b, uint32_t size, uint64_t *target)
{
    if (size != 4 || (b[0] & 3) != 3) {
        return false;
    }
    uint32_t w = le32(b);
    int64_t imm;
    if ((w & 0x7f) == 0x63) {
        imm = ((w >> 31) & 1) << 12 | ((w >> 7) & 1) << 11 | ((w >> 25) & 0x3f) << 5 |
              ((w >> 8) & 0xf) << 1;
        imm = (imm ^ (1 << 12)) - (1 << 12);
    } else if ((w & 0x7f) == 0x6f) {
        imm = ((w >> 31) & 1) << 20 | ((w >> 12) & 0xff) << 12 | ((w >> 20) & 1) << 11 |
              ((w >> 21) & 0x3ff) << 1;
        imm = (imm ^ (1 << 20)) - (1 << 20);
    } else {
        return false;
    }
    *target = addr + (uint64_t)imm;
    return true;
}

static inline int64_t sext(uint64_t v, int bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/*
 * The branches a profile's edges mostly leave from, by encoding: a decoding with details
 * costs more than the rest of collecting an edge (cc1: 0.05 s of an exit). Anything else,
 * or any doubt, is left to capstone; the tests hold both to the same answers.
 */
static bool x86_branch(uint64_t addr, const uint8_t *b, uint32_t size, DisasTransfer *out)
{
    uint32_t i = 0;
    bool rex = false, other = false;
    for (; i < size && (b[i] == 0xf2 || b[i] == 0x3e || (b[i] & 0xf0) == 0x40); i++) {
        rex |= (b[i] & 0xf0) == 0x40;
        other |= b[i] == 0x3e;
    }
    if (i >= size) {
        return false;
    }
    uint8_t op = b[i];
    uint32_t rest = size - i;
    int64_t rel;
    if (op == 0xff && rest >= 2 && ((b[i + 1] >> 3) & 7) >= 2 && ((b[i + 1] >> 3) & 7) <= 5) {
        *out = (DisasTransfer){.may_transfer = true}; /* call or jmp through a register/memory */
        return true;
    }
    if (rex || other) {
        return false; /* on a direct branch or return: rare, left to capstone */
    }
    if ((op == 0xc3 && rest == 1) || (op == 0xc2 && rest == 3)) {
        *out = (DisasTransfer){.may_transfer = true};
        return true;
    }
    if ((op == 0xe8 || op == 0xe9) && rest == 5) {
        rel = (int32_t)le32(b + i + 1);
    } else if ((op == 0xeb || (op >= 0x70 && op <= 0x7f)) && rest == 2) {
        rel = (int8_t)b[i + 1];
    } else if (op == 0x0f && rest == 6 && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f) {
        rel = (int32_t)le32(b + i + 2);
    } else {
        return false;
    }
    *out = (DisasTransfer){.may_transfer = true, .has_target = true,
                           .target = addr + size + (uint64_t)rel};
    return true;
}

static bool arm64_branch(uint64_t addr, const uint8_t *b, uint32_t size, DisasTransfer *out)
{
    if (size != 4) {
        return false;
    }
    uint32_t w = le32(b);
    int64_t off;
    if ((w & 0x7c000000) == 0x14000000) { /* b, bl */
        off = sext(w & 0x3ffffff, 26);
    } else if ((w & 0xff000010) == 0x54000000 || (w & 0x7e000000) == 0x34000000) {
        off = sext((w >> 5) & 0x7ffff, 19); /* b.cond, cbz, cbnz */
    } else if ((w & 0x7e000000) == 0x36000000) {
        off = sext((w >> 5) & 0x3fff, 14); /* tbz, tbnz */
    } else if ((w & 0xfffffc1f) == 0xd61f0000 || (w & 0xfffffc1f) == 0xd63f0000 ||
               (w & 0xfffffc1f) == 0xd65f0000) {
        *out = (DisasTransfer){.may_transfer = true}; /* br, blr, ret */
        return true;
    } else {
        return false;
    }
    *out = (DisasTransfer){.may_transfer = true, .has_target = true,
                           .target = addr + (uint64_t)(off * 4)};
    return true;
}

void disas_transfer(uint64_t addr, const uint8_t *bytes, uint32_t size, DisasTransfer *out)
{
    if (classify && !riscv64 &&
        (arch_in_use == CS_ARCH_X86 ? x86_branch(addr, bytes, size, out)
                                    : arm64_branch(addr, bytes, size, out))) {
        return;
    }
    disas_transfer_decoded(addr, bytes, size, out);
}

void disas_transfer_decoded(uint64_t addr, const uint8_t *bytes, uint32_t size,
                            DisasTransfer *out)
{
    *out = (DisasTransfer){.may_transfer = true};
    if (riscv64) {
        out->may_transfer = riscv_transfers(bytes, size);
        out->has_target = riscv_direct_target(addr, bytes, size, &out->target);
        return;
    }
    cs_insn *insn = decode_detail(addr, bytes, size);
    if (!insn) {
        return;
    }
    out->may_transfer = capstone_transfers(insn);
    out->has_target = capstone_direct_target(insn, &out->target);
    cs_free(insn, 1);
}

/* Two-byte (0F xx) opcodes that no helper raises for, whatever their operands. */
static bool x86_0f_safe(uint8_t op)
{
    switch (op) {
    case 0x05: case 0x0b: case 0x31: case 0x77: case 0xa2: /* syscall ud2 rdtsc emms cpuid */
    case 0x10: case 0x11:             /* movups/movupd/movss/movsd: no alignment check */
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
    case 0xa3: case 0xab: case 0xb3: case 0xbb: case 0xba: /* bt bts btr btc */
    case 0xa4: case 0xa5: case 0xac: case 0xad:            /* shld shrd */
    case 0xaf: case 0xb0: case 0xb1: case 0xc0: case 0xc1: /* imul cmpxchg xadd */
    case 0xb6: case 0xb7: case 0xbe: case 0xbf:            /* movzx movsx */
    case 0xb8: case 0xbc: case 0xbd:                       /* popcnt bsf/tzcnt bsr/lzcnt */
        return true;
    default:
        /* cmovcc, jcc, setcc, bswap */
        return (op >= 0x40 && op <= 0x4f) || (op >= 0x80 && op <= 0x9f) || (op >= 0xc8 && op <= 0xcf);
    }
}

bool disas_x86_helper_may_raise(const uint8_t *b, uint32_t size)
{
    uint32_t i = 0;
    for (; i < size; i++) {
        uint8_t p = b[i];
        bool legacy = p == 0x66 || p == 0x67 || p == 0xf0 || p == 0xf2 || p == 0xf3 ||
                      p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26 || p == 0x64 || p == 0x65;
        if (!legacy && (p & 0xf0) != 0x40) {
            break; /* neither a legacy prefix nor REX */
        }
    }
    if (i >= size) {
        return true;
    }
    uint8_t op = b[i];
    if (op == 0x0f) {
        if (i + 1 >= size) {
            return true;
        }
        uint8_t op2 = b[i + 1];
        if (op2 == 0x00 || op2 == 0x01 || op2 == 0xa0 || op2 == 0xa1 || op2 == 0xa8 ||
            op2 == 0xa9 || op2 == 0xb2 || op2 == 0xb4 || op2 == 0xb5 || op2 == 0xc7 ||
            op2 == 0xae) {
            return true; /* system, segment loads, cmpxchg16b, fxsave/ldmxcsr/xsave family */
        }
        if (x86_0f_safe(op2)) {
            return false;
        }
        /* the rest (SSE): a register-only form has nothing to check; memory may need alignment */
        uint32_t modrm = op2 == 0x38 || op2 == 0x3a ? i + 3 : i + 2;
        return modrm >= size || (b[modrm] >> 6) != 3;
    }
    switch (op) {
    case 0x62: case 0xc4: case 0xc5:                       /* EVEX, VEX: SIMD */
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:            /* ins outs */
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef:
    case 0x8e:                                             /* mov to a segment register */
    case 0x9b: case 0xd8: case 0xd9: case 0xda: case 0xdb: /* x87 */
    case 0xdc: case 0xdd: case 0xde: case 0xdf:
        return true;
    case 0xf6: case 0xf7: {                                /* div, idiv */
        if (i + 1 >= size) {
            return true;
        }
        unsigned reg = (b[i + 1] >> 3) & 7;
        return reg == 6 || reg == 7;
    }
    default:
        return false;
    }
}

/*
 * The x86 register-only forms below take a ModRM byte: is there one at `at`, and does it name
 * a register (mod 3), with the extension field `*ext`?
 */
static bool x86_reg_modrm(const uint8_t *b, uint32_t size, uint32_t at, unsigned *ext)
{
    if (at >= size || (b[at] >> 6) != 3) {
        return false;
    }
    *ext = (b[at] >> 3) & 7;
    return true;
}

/* Two-byte (0F xx) register-only integer forms; `at` indexes the byte after 0F. */
static bool x86_0f_register_only(const uint8_t *b, uint32_t size, uint32_t at, bool opsize)
{
    uint8_t op = b[at];
    unsigned ext = 0;
    if (op == 0x1f) {
        return at + 1 < size; /* nop Ev: its memory operand is never accessed */
    }
    if (!x86_reg_modrm(b, size, at + 1, &ext)) {
        return op >= 0xc8 && op <= 0xcf && !opsize; /* bswap (no ModRM) */
    }
    switch (op) {
    case 0xa3:                                  /* bt */
    case 0xa4: case 0xa5: case 0xac: case 0xad: /* shld shrd */
    case 0xaf:                                  /* imul */
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: /* movzx movsx */
    case 0xbc: case 0xbd:                       /* bsf bsr */
        return true;
    case 0xba: /* bt imm (bts, btr, btc are not on the list) */
        return ext == 4;
    default:
        return (op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f); /* cmovcc setcc */
    }
}

bool disas_x86_register_only(const uint8_t *b, uint32_t size)
{
    if (size == 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa) {
        return true; /* endbr64 */
    }
    /* operand-size prefixes, then at most one REX: any other prefix (lock, rep, segment,
     * address size) and the answer is no */
    uint32_t i = 0;
    bool opsize = false;
    while (i < size && b[i] == 0x66) {
        opsize = true;
        i++;
    }
    if (i < size && (b[i] & 0xf0) == 0x40) {
        i++;
    }
    if (i >= size) {
        return false;
    }
    uint8_t op = b[i];
    unsigned ext = 0;
    bool reg = x86_reg_modrm(b, size, i + 1, &ext);
    if (op == 0x0f) {
        return i + 1 < size && x86_0f_register_only(b, size, i + 1, opsize);
    }
    if (op < 0x40 && (op & 7) <= 3) {
        return reg; /* add or adc sbb and sub xor cmp, register forms */
    }
    if (op < 0x40 && (op & 7) <= 5) {
        return true; /* the same with the accumulator and an immediate */
    }
    switch (op) {
    case 0x63: /* movsxd */
        return reg && !opsize;
    case 0x69: case 0x6b:             /* imul with an immediate */
    case 0x80: case 0x81: case 0x83:  /* group 1: add ... cmp with an immediate */
    case 0x84: case 0x85:             /* test */
    case 0x86: case 0x87:             /* xchg */
    case 0x88: case 0x89: case 0x8a: case 0x8b: /* mov */
        return reg;
    case 0x8d: /* lea computes an address and accesses nothing (with a register: #UD) */
        return i + 1 < size && !reg;
    case 0x98: case 0x99: /* cbw cwde cdqe, cwd cdq cqo */
        return true;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: /* rol ror shl shr sar */
        return reg && (ext == 0 || ext == 1 || ext == 4 || ext == 5 || ext == 7);
    case 0xf6: case 0xf7: /* test not neg mul imul; not div, idiv */
        return reg && ext != 1 && ext != 6 && ext != 7;
    case 0xfe: case 0xff: /* inc dec */
        return reg && ext <= 1;
    default:
        return (op >= 0x90 && op <= 0x97) || (op >= 0xb0 && op <= 0xbf); /* xchg/nop, mov imm */
    }
}
