/*
 * arch.h: the architecture room. Everything cflow knows about one guest instruction set lives
 * in one descriptor (CflowArch), found once by name (cflow_arch_find, over the one table in
 * arch.c): how capstone disassembles it, its execve and rt_sigaction numbers, the layout of
 * the signal frame QEMU builds, where its privilege level is read, and its decoders of
 * instructions. The plugin, the profile library and the tool ask the descriptor; none of
 * them compares an architecture's name. Adding an architecture is one file (arch/<name>.c,
 * defining its descriptor) and one entry in arch.c's table.
 *
 * One classifier of control transfers (cflow_arch_classify) serves the plugin (which needs
 * may_transfer and the direct target, from the bytes) and the tool's exporters (which need
 * the class: call, return, jump, conditional branch). It decodes the bytes when they are
 * known and reads the disassembly text when only the text is (riscv and system-mode profiles
 * keep text); both decodings sit side by side in each architecture's file, and
 * tests/arch/test_arch.c holds them to the same class on every instruction of real binaries.
 */
#ifndef CFLOW_ARCH_H
#define CFLOW_ARCH_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The privilege level an instruction ran at, as every architecture's levels map onto it. The
 * values are part of the profile format (section insn_priv, docs/profile-format.md): the
 * profile library (profile.h) takes them from here, the room below it.
 */
typedef enum {
    CFLOW_PRIV_UNKNOWN = 0,
    CFLOW_PRIV_USER = 1,       /* aarch64 EL0, x86 CPL 3, riscv U */
    CFLOW_PRIV_KERNEL = 2,     /* aarch64 EL1, x86 CPL 0-2, riscv S */
    CFLOW_PRIV_HYPERVISOR = 3, /* aarch64 EL2 */
    CFLOW_PRIV_FIRMWARE = 4,   /* aarch64 EL3, x86 real mode, riscv M */
    CFLOW_PRIV_COUNT
} CflowPriv;

typedef enum {
    CFLOW_INSN_OTHER,
    CFLOW_INSN_COND,   /* conditional branch: b.cond, cbz, tbz, jcc, beq ... */
    CFLOW_INSN_JUMP,   /* unconditional jump, direct or indirect */
    CFLOW_INSN_CALL,   /* call, bl, blr, jal/jalr ra */
    CFLOW_INSN_RETURN, /* ret */
} CflowInsnClass;

/*
 * What one instruction does with control:
 * - cls: its class, as the exporters count calls, returns and conditional branches.
 * - may_transfer: can it move control anywhere but to the next instruction (jump, call,
 *   return, software interrupt, system call, trap)? True when unsure. The plugin uses it at
 *   exit: a non-linear transfer out of an instruction that cannot transfer control is a fault
 *   of that instruction (an early exit), not a branch.
 * - has_target, target: a direct jump, call or conditional branch and its one possible taken
 *   destination (false when indirect, not a transfer, or not decoded). Control that left such
 *   an instruction for anywhere but there or the next instruction was a fault.
 * From the text alone only cls is known: may_transfer is then true and has_target false.
 */
typedef struct {
    CflowInsnClass cls;
    bool may_transfer;
    bool has_target;
    uint64_t target;
} CflowTransfer;

/* Where a synchronous signal's faulting PC is found when the guest's handler starts. */
typedef struct {
    const char *signo_reg; /* the handler's first argument: the signal number */
    const char *uc_reg;    /* its third: the ucontext QEMU built */
    uint32_t pc_offset;    /* of the saved program counter in the ucontext */
    int64_t rt_sigaction;  /* syscall number */
} CflowSigframe;

typedef struct CflowArch CflowArch;

/*
 * A capstone handle with operand details for one architecture, for the byte decoders. Not
 * thread-safe: one per thread, or callers serialize (the plugin's is used under its registry
 * lock and at exit). `open` says that bytes can be decoded: the handle is open, or the
 * architecture decodes by encoding alone (riscv64). Where not, every byte decoder answers
 * "unsure" (OTHER, may transfer, may leave its block).
 */
typedef struct {
    const CflowArch *arch;
    csh handle;
    bool open;
} CflowDecoder;

struct CflowArch {
    const char *name; /* QEMU's target name, which the plugin also writes as meta "arch" */
    /* the ELF header's e_machine and EI_CLASS of its programs (cflow record), 0: none */
    unsigned elf_machine, elf_class;
    /* capstone, for text (profile/disasm.c) and for decoding; false: no capstone arch */
    bool capstone;
    cs_arch cs;
    cs_mode mode;
    bool att_syntax; /* QEMU's own capstone text is AT&T on x86 */
    /* execve replaces the process image without QEMU's exit path: the plugin snapshots */
    int64_t execve[2]; /* execve, execveat; 0 where absent (no system call is 0 here) */
    const CflowSigframe *sigframe; /* NULL: handler entries are not checked (sigframe.h) */
    /* system mode: registers read at translation, and the level they say (privilege.h) */
    const char *priv_regs[2];
    CflowPriv (*priv_level)(const bool ok[2], const uint64_t value[2]);

    /*
     * Byte decoders, for the plugin at translation and exit; NULL where the architecture has
     * none (then everything may leave a block, and may transfer control).
     * transfer_encoded: the branches a profile's edges mostly leave from, by encoding alone
     * (a decoding with details costs more than the rest of collecting an edge); false: no
     * answer, ask transfer_decoded. Where there is no capstone it must always answer.
     */
    bool (*transfer_encoded)(uint64_t addr, const uint8_t *b, uint32_t size,
                             CflowTransfer *out);
    void (*transfer_decoded)(const cs_insn *insn, CflowTransfer *out);
    /* cannot leave its block mid-way: from capstone's decoding, or (no capstone) the bytes */
    bool (*stays_decoded)(const cs_insn *insn);
    bool (*stays_encoded)(const uint8_t *b, uint32_t size);
    /*
     * By encoding, cheap enough for translation time (hotpath.h's sparse blocks), NULL for
     * "never": register_only is one of a short list of register-only instructions that can
     * neither fault nor make QEMU leave its block (false when unsure; only ever true where
     * stays_decoded is); helper_may_raise is one that QEMU may raise an exception for from a
     * helper, mid-block, reported with a stale from_pc (true when unsure).
     */
    bool (*register_only)(const uint8_t *b, uint32_t size);
    bool (*helper_may_raise)(const uint8_t *b, uint32_t size);
    /* The text decoder: the class from the lower-case mnemonic and the operand text. */
    CflowInsnClass (*classify_text)(const char *mnemonic, const char *ops);
};

/* The descriptor named `name` (QEMU's target name, meta "arch"); never NULL: an unknown or
 * NULL name gives an empty descriptor (no capstone, no decoders, nothing known). */
const CflowArch *cflow_arch_find(const char *name);
/* The descriptor of programs with this ELF e_machine and EI_CLASS, or NULL. */
const CflowArch *cflow_arch_for_elf(unsigned machine, unsigned elf_class);
/* Is num one of its execve system calls? */
bool cflow_arch_is_execve(const CflowArch *arch, int64_t num);

/* Sets d up for arch (its capstone handle, if any): true when it can decode bytes (d->open).
 * Close it with cflow_decoder_close, whatever the answer. */
bool cflow_decoder_open(CflowDecoder *d, const CflowArch *arch);
void cflow_decoder_close(CflowDecoder *d);

/*
 * The one classifier: from the bytes when `bytes` is not NULL, else from `text` (QEMU's or
 * capstone's disassembly, with its prefixes). Nothing known: OTHER, may transfer.
 */
void cflow_arch_classify(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                         uint32_t size, const char *text, CflowTransfer *out);
/* The byte path from a full decoding every time: what the encoded answers must agree with. */
void cflow_arch_classify_decoded(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                                 uint32_t size, CflowTransfer *out);
/* Can the instruction leave its block before completing (fault, trap, QEMU abandoning the
 * block)? True unless decoded as one that cannot; always true without a decoder. */
bool cflow_arch_may_leave_block(const CflowDecoder *d, uint64_t addr, const uint8_t *bytes,
                                uint32_t size);

/* Helpers for the architecture files. */
#define CFLOW_XFER(c, t) ((CflowTransfer){.cls = (c), .may_transfer = (t)})
/* Is the decoded instruction in any of the groups (a list ended by the INVALID group, 0)? */
bool cflow_arch_in_groups(const cs_insn *insn, const uint8_t *groups);
static inline uint32_t cflow_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline int64_t cflow_sext(uint64_t v, int bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* The descriptors, one per file; arch.c's table lists them. */
extern const CflowArch cflow_arch_x86_64, cflow_arch_i386, cflow_arch_aarch64,
    cflow_arch_riscv64, cflow_arch_riscv32, cflow_arch_loongarch64, cflow_arch_arm;

#endif
