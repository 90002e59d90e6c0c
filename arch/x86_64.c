/*
 * x86_64.c: the x86-64 room (and i386, which shares its text decoder): capstone's options,
 * system calls, signal frame, privilege level, and the instruction decoders by encoding, by
 * capstone's decoding and by text (arch.h).
 */
#include "arch.h"

#include <elf.h>
#include <glib.h>
#include <string.h>

/* ---- the class of a transfer ---- */

/*
 * Far calls, jumps and returns are OTHER on every path: QEMU's text (capstone's) writes them
 * with a size suffix (lcalll, ljmpq, lretq) that the exporters' text rules have never counted.
 */
static CflowInsnClass x86_class_decoded(unsigned id)
{
    switch (id) {
    case X86_INS_CALL:
        return CFLOW_INSN_CALL;
    case X86_INS_RET: case X86_INS_IRET: case X86_INS_IRETD: case X86_INS_IRETQ:
        return CFLOW_INSN_RETURN;
    case X86_INS_JMP:
        return CFLOW_INSN_JUMP;
    case X86_INS_JA: case X86_INS_JAE: case X86_INS_JB: case X86_INS_JBE: case X86_INS_JCXZ:
    case X86_INS_JE: case X86_INS_JECXZ: case X86_INS_JG: case X86_INS_JGE: case X86_INS_JL:
    case X86_INS_JLE: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP: case X86_INS_JNS:
    case X86_INS_JO: case X86_INS_JP: case X86_INS_JRCXZ: case X86_INS_JS:
    case X86_INS_LOOP: case X86_INS_LOOPE: case X86_INS_LOOPNE:
        return CFLOW_INSN_COND;
    default:
        return CFLOW_INSN_OTHER;
    }
}

static CflowInsnClass x86_classify_text(const char *m, const char *ops)
{
    if (g_str_has_prefix(m, "call") || strcmp(m, "lcall") == 0) {
        return CFLOW_INSN_CALL;
    }
    if (g_str_has_prefix(m, "ret") || g_str_has_prefix(m, "iret") || strcmp(m, "lret") == 0) {
        return CFLOW_INSN_RETURN;
    }
    if (g_str_has_prefix(m, "jmp") || strcmp(m, "ljmp") == 0) {
        return CFLOW_INSN_JUMP;
    }
    if (m[0] == 'j' || g_str_has_prefix(m, "loop")) {
        return CFLOW_INSN_COND; /* jcc, jrcxz, loop, loope, loopne */
    }
    return CFLOW_INSN_OTHER;
}

/* ---- transfers: by encoding, and from capstone's decoding ---- */

/*
 * The branches a profile's edges mostly leave from, by encoding: a decoding with details
 * costs more than the rest of collecting an edge (cc1: 0.05 s of an exit). Anything else, or
 * any doubt, is left to capstone; the tests hold both to the same answers.
 */
static bool x86_transfer_encoded(uint64_t addr, const uint8_t *b, uint32_t size,
                                 CflowTransfer *out)
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
    if (op == 0xff && rest >= 2 && (((b[i + 1] >> 3) & 7) == 2 || ((b[i + 1] >> 3) & 7) == 4)) {
        /* call or jmp through a register/memory */
        *out = CFLOW_XFER(((b[i + 1] >> 3) & 7) == 2 ? CFLOW_INSN_CALL : CFLOW_INSN_JUMP, true);
        return true;
    }
    if (rex || other) {
        return false; /* on a direct branch or return: rare, left to capstone */
    }
    CflowInsnClass cls = CFLOW_INSN_COND;
    if ((op == 0xc3 && rest == 1) || (op == 0xc2 && rest == 3)) {
        *out = CFLOW_XFER(CFLOW_INSN_RETURN, true);
        return true;
    }
    if ((op == 0xe8 || op == 0xe9) && rest == 5) {
        rel = (int32_t)cflow_le32(b + i + 1);
        cls = op == 0xe8 ? CFLOW_INSN_CALL : CFLOW_INSN_JUMP;
    } else if ((op == 0xeb || (op >= 0x70 && op <= 0x7f)) && rest == 2) {
        rel = (int8_t)b[i + 1];
        cls = op == 0xeb ? CFLOW_INSN_JUMP : CFLOW_INSN_COND;
    } else if (op == 0x0f && rest == 6 && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f) {
        rel = (int32_t)cflow_le32(b + i + 2);
    } else {
        return false;
    }
    *out = (CflowTransfer){.cls = cls, .may_transfer = true, .has_target = true,
                           .target = addr + size + (uint64_t)rel};
    return true;
}

/* Instructions that leave for the kernel or a trap handler, whatever capstone's groups say. */
static bool x86_traps(unsigned id)
{
    switch (id) {
    case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_SYSRET:
    case X86_INS_INT: case X86_INS_INT1: case X86_INS_INT3: case X86_INS_INTO:
    case X86_INS_UD2: case X86_INS_UD0: case X86_INS_HLT:
    case X86_INS_IRET: case X86_INS_IRETQ:
        return true;
    default:
        return false;
    }
}

/* Capstone's view of whether a decoded instruction moves control, and where to. */
static void x86_transfer_decoded(const cs_insn *insn, CflowTransfer *out)
{
    static const uint8_t transfer_groups[] = {X86_GRP_JUMP, X86_GRP_CALL, X86_GRP_RET,
                                              X86_GRP_INT, X86_GRP_IRET, X86_GRP_BRANCH_RELATIVE,
                                              X86_GRP_PRIVILEGE, X86_GRP_INVALID};
    static const uint8_t target_groups[] = {X86_GRP_JUMP, X86_GRP_CALL, X86_GRP_INVALID};
    bool transfers = cflow_arch_in_groups(insn, transfer_groups) || x86_traps(insn->id);
    *out = CFLOW_XFER(x86_class_decoded(insn->id), transfers);
    const cs_x86 *x = &insn->detail->x86;
    if (cflow_arch_in_groups(insn, target_groups) && x->op_count == 1 &&
        x->operands[0].type == X86_OP_IMM) {
        out->has_target = true;
        out->target = (uint64_t)x->operands[0].imm;
    }
}

/* ---- what may leave a block ---- */

/* Register-only x86 integer instructions that cannot fault (given no memory operand). */
static bool x86_stays_decoded(const cs_insn *insn)
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
            if ((r >= X86_REG_CR0 && r <= X86_REG_CR15) ||
                (r >= X86_REG_DR0 && r <= X86_REG_DR15) || r == X86_REG_CS || r == X86_REG_DS ||
                r == X86_REG_ES || r == X86_REG_FS || r == X86_REG_GS || r == X86_REG_SS) {
                return false;
            }
        }
    }
    return true;
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
        return (op >= 0x40 && op <= 0x4f) || (op >= 0x80 && op <= 0x9f) ||
               (op >= 0xc8 && op <= 0xcf);
    }
}

/*
 * Can QEMU raise an exception for this instruction from a helper, mid-block (division,
 * segment loads, x87, I/O, system instructions, SSE/AVX memory operands that must be aligned,
 * ...)? Such an exception is reported by a discontinuity whose from_pc is stale (the notes on
 * QEMU's x86 exception path). True when unsure; faults of plain memory accesses are host
 * signals, not these, and answer false.
 */
static bool x86_helper_may_raise(const uint8_t *b, uint32_t size)
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

/*
 * Register-only integer instructions (no memory operand, no division, no lock or string
 * prefix, no segment register) that can neither fault nor make QEMU leave its block; false
 * when unsure. Only ever true where x86_stays_decoded is (tests/plugin/test_disas.c).
 */
static bool x86_register_only(const uint8_t *b, uint32_t size)
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

/* ---- the machine ---- */

/* cs, then cr0: CR0.PE clear is real mode (the BIOS); else CPL 3 is user code */
static CflowPriv x86_priv_level(const bool ok[2], const uint64_t value[2])
{
    if (ok[1] && !(value[1] & 1)) {
        return CFLOW_PRIV_FIRMWARE;
    }
    if (!ok[0]) {
        return CFLOW_PRIV_UNKNOWN;
    }
    return (value[0] & 3) == 3 ? CFLOW_PRIV_USER : CFLOW_PRIV_KERNEL;
}

/*
 * QEMU's linux-user signal frame (10.2), which follows the kernel's: uc_flags, uc_link,
 * uc_stack (40 bytes), then sigcontext r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
 */
static const CflowSigframe x86_64_sigframe = {"rdi", "rdx", 40 + 16 * 8, 13};

const CflowArch cflow_arch_x86_64 = {
    .name = "x86_64", .elf_machine = EM_X86_64, .elf_class = ELFCLASS64,
    /* disassembly as QEMU prints it: capstone, AT&T syntax */
    .capstone = true, .cs = CS_ARCH_X86, .mode = CS_MODE_LITTLE_ENDIAN | CS_MODE_64,
    .att_syntax = true,
    /* user mode: exec and signal delivery; system mode: privilege levels */
    .execve = {59, 322}, .sigframe = &x86_64_sigframe,
    .priv_regs = {"cs", "cr0"}, .priv_level = x86_priv_level,
    /* the classifier: by encoding where it can, by a full decoding, by text */
    .transfer_encoded = x86_transfer_encoded, .transfer_decoded = x86_transfer_decoded,
    .stays_decoded = x86_stays_decoded, .register_only = x86_register_only,
    .helper_may_raise = x86_helper_may_raise, .classify_text = x86_classify_text,
};

/* i386: profiles keep QEMU's text; only the text decoder and the system calls are known. */
const CflowArch cflow_arch_i386 = {
    .name = "i386", .elf_machine = EM_386, .elf_class = ELFCLASS32,
    .execve = {11, 358}, .classify_text = x86_classify_text,
};
