/*
 * disas_transfer's encodings of common branches (x86-64, aarch64) against capstone's full
 * decoding (disas_transfer_decoded): the same answer for every form it handles, at the
 * limits of their displacements, and for everything else (random bytes, this program's own
 * machine code) by falling back; the same class too wherever the bytes are one instruction of
 * that size. And the x86 register-only classifier (disas_register_only,
 * by encoding, at translation time) against the capstone decoding the lean blocks use: never
 * "register-only" where that decoding says the instruction may leave its block.
 */
#include <capstone/capstone.h>
#include <glib.h>
#include <string.h>

#include "disas.h"

static csh whole; /* is a byte string one instruction? (classes are compared only then) */

static bool one_insn(const uint8_t *b, uint32_t size)
{
    cs_insn *insn = NULL;
    bool one = cs_disasm(whole, b, size, 0x1000, 1, &insn) == 1 && insn->size == size;
    if (insn) {
        cs_free(insn, 1);
    }
    return one;
}

static void agree(uint64_t addr, const uint8_t *b, uint32_t size)
{
    DisasTransfer fast, slow;
    disas_transfer(addr, b, size, &fast);
    disas_transfer_decoded(addr, b, size, &slow);
    if (fast.may_transfer != slow.may_transfer || fast.has_target != slow.has_target ||
        (fast.has_target && fast.target != slow.target) ||
        (fast.cls != slow.cls && one_insn(b, size))) {
        GString *hex = g_string_new(NULL);
        for (uint32_t i = 0; i < size; i++) {
            g_string_append_printf(hex, "%02x ", b[i]);
        }
        g_error("disagree at 0x%" G_GINT64_MODIFIER "x on %s: fast %d/%d/0x%" G_GINT64_MODIFIER
                "x class %d, capstone %d/%d/0x%" G_GINT64_MODIFIER "x class %d",
                addr, hex->str, fast.may_transfer, fast.has_target, fast.target, fast.cls,
                slow.may_transfer, slow.has_target, slow.target, slow.cls);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void test_x86(void)
{
    static const uint32_t rel32[] = {0, 1, 0x7fffffff, 0x80000000, 0xfffffffb, 0x12345678};
    static const uint64_t addrs[] = {0x401000, 0x7ffff7a00000, 0xfffffffffffff000};
    for (guint a = 0; a < G_N_ELEMENTS(addrs); a++) {
        uint64_t at = addrs[a];
        for (guint r = 0; r < G_N_ELEMENTS(rel32); r++) {
            uint8_t b[8] = {0};
            for (int op = 0xe8; op <= 0xe9; op++) { /* call, jmp rel32; with bnd */
                b[0] = (uint8_t)op;
                put32(b + 1, rel32[r]);
                agree(at, b, 5);
                b[0] = 0xf2, b[1] = (uint8_t)op;
                put32(b + 2, rel32[r]);
                agree(at, b, 6);
            }
            for (int cc = 0x80; cc <= 0x8f; cc++) { /* jcc rel32 */
                b[0] = 0x0f, b[1] = (uint8_t)cc;
                put32(b + 2, rel32[r]);
                agree(at, b, 6);
            }
        }
        for (int rel = 0; rel < 256; rel++) {
            uint8_t b[3];
            for (int op = 0x70; op <= 0x7f; op++) { /* jcc rel8 */
                b[0] = (uint8_t)op, b[1] = (uint8_t)rel;
                agree(at, b, 2);
            }
            b[0] = 0xeb, b[1] = (uint8_t)rel; /* jmp rel8 */
            agree(at, b, 2);
        }
        /* returns, and indirect calls and jumps through every register and a few memory forms */
        const uint8_t rets[][3] = {{0xc3}, {0xf2, 0xc3}, {0xf3, 0xc3}, {0xc2, 0x08, 0x00}};
        agree(at, rets[0], 1);
        agree(at, rets[1], 2);
        agree(at, rets[2], 2);
        agree(at, rets[3], 3);
        for (int reg = 0; reg < 8; reg++) {
            for (int modrm = 0xc0; modrm < 0x100; modrm += 8) {
                uint8_t b[4] = {0xff, (uint8_t)((modrm & 0xc7) | reg << 3)};
                agree(at, b, 2);
                uint8_t rex[4] = {0x41, 0xff, (uint8_t)((modrm & 0xc7) | reg << 3)};
                agree(at, rex, 3);
                uint8_t notrack[4] = {0x3e, 0xff, (uint8_t)((modrm & 0xc7) | reg << 3)};
                agree(at, notrack, 3);
            }
            uint8_t mem[7] = {0xff, (uint8_t)(0x14 | reg << 3), 0x25, 0x10, 0x20, 0x30, 0x00};
            agree(at, mem, 7); /* call/jmp *abs32 */
            uint8_t rip[6] = {0xff, (uint8_t)(0x05 | reg << 3), 0x10, 0x20, 0x00, 0x00};
            agree(at, rip, 6); /* call/jmp *disp(%rip) */
        }
    }
    /* random bytes, each at the size capstone decodes them to */
    GRand *r = g_rand_new_with_seed(11);
    for (int n = 0; n < 200000; n++) {
        uint8_t b[16];
        for (int i = 0; i < 16; i++) {
            b[i] = (uint8_t)g_rand_int(r);
        }
        if (n % 3 == 0) {
            b[0] = (uint8_t)g_rand_int_range(r, 0x70, 0x80); /* lean towards branches */
        }
        for (uint32_t size = 1; size <= 15; size++) {
            agree(0x400000 + (uint64_t)n * 16, b, size);
        }
    }
    g_rand_free(r);
    /* real code: this program's own machine code, instruction by instruction */
    const uint8_t *code = (const uint8_t *)(uintptr_t)&agree;
    for (uint32_t size = 1; size <= 15; size++) {
        for (uint32_t off = 0; off < 4096; off++) {
            agree((uint64_t)(uintptr_t)code + off, code + off, size);
        }
    }
}

/* The classifier against capstone's decoding, on `b` at the size capstone decodes it to. */
static bool register_only_checked(csh cs, const uint8_t *b, size_t avail)
{
    cs_insn *insn = NULL;
    if (cs_disasm(cs, b, avail, 0x401000, 1, &insn) != 1) {
        return false;
    }
    uint32_t size = insn->size;
    cs_free(insn, 1);
    bool fast = disas_register_only(b, size);
    if (fast && disas_may_leave_block(0x401000, b, size)) {
        GString *hex = g_string_new(NULL);
        for (uint32_t i = 0; i < size; i++) {
            g_string_append_printf(hex, "%02x ", b[i]);
        }
        g_error("register-only by encoding, but capstone's decoding may leave: %s", hex->str);
    }
    return fast;
}

static void test_x86_register_only(void)
{
    csh cs;
    g_assert_cmpint(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), ==, CS_ERR_OK);
    /* common register-only instructions the classifier must know */
    static const uint8_t yes[][8] = {
        {3, 0x48, 0x89, 0xc7},             /* mov %rax,%rdi */
        {5, 0x48, 0x8d, 0x44, 0x24, 0x08}, /* lea 8(%rsp),%rax */
        {2, 0x31, 0xc0},                   /* xor %eax,%eax */
        {3, 0x83, 0xc0, 0x01},             /* add $1,%eax */
        {3, 0x0f, 0xb6, 0xc0},             /* movzbl %al,%eax */
        {4, 0xf3, 0x0f, 0x1e, 0xfa},       /* endbr64 */
        {3, 0x48, 0x85, 0xc0},             /* test %rax,%rax */
        {5, 0x0f, 0x1f, 0x44, 0x00, 0x00}, /* nopl 0(%rax,%rax) */
        {5, 0xb8, 0x01, 0x00, 0x00, 0x00}, /* mov $1,%eax */
        {4, 0x48, 0xc1, 0xe0, 0x04},       /* shl $4,%rax */
        {4, 0x48, 0x0f, 0x44, 0xc1},       /* cmove %rcx,%rax */
        {3, 0x0f, 0x94, 0xc0},             /* sete %al */
        {3, 0x48, 0x63, 0xd0},             /* movslq %eax,%rdx */
        {4, 0x48, 0x0f, 0xaf, 0xc1},       /* imul %rcx,%rax */
    };
    /* and instructions that can leave a block (memory, division, lock, string, system) */
    static const uint8_t no[][8] = {
        {3, 0x48, 0x8b, 0x07},       /* mov (%rdi),%rax */
        {2, 0xf7, 0xf1},             /* div %ecx */
        {3, 0x48, 0xf7, 0xf9},       /* idiv %rcx */
        {4, 0xf0, 0x48, 0x01, 0xc8}, /* lock add: #UD with a register */
        {2, 0xf3, 0xa4},             /* rep movsb */
        {1, 0x50},                   /* push %rax */
        {3, 0x48, 0x8d, 0xc0},       /* lea with a register operand: #UD */
        {2, 0x0f, 0x05},             /* syscall */
        {2, 0x0f, 0xa2},             /* cpuid */
        {3, 0x48, 0x89, 0x07},       /* mov %rax,(%rdi) */
        {3, 0x0f, 0xab, 0xc8},       /* bts: not on the list */
        {2, 0x8e, 0xd8},             /* mov %eax,%ds */
    };
    for (guint k = 0; k < G_N_ELEMENTS(yes); k++) {
        g_assert_true(disas_register_only(yes[k] + 1, yes[k][0]));
        g_assert_true(register_only_checked(cs, yes[k] + 1, yes[k][0]));
    }
    for (guint k = 0; k < G_N_ELEMENTS(no); k++) {
        g_assert_false(disas_register_only(no[k] + 1, no[k][0]));
    }
    /* every two-byte opcode after each prefix mix, with every ModRM, then random bytes */
    static const uint8_t prefixes[][3] = {{0}, {1, 0x48}, {1, 0x66}, {2, 0x66, 0x41}, {1, 0xf3},
                                          {1, 0xf0}, {1, 0x2e}, {1, 0x67}};
    int yes_count = 0;
    for (guint p = 0; p < G_N_ELEMENTS(prefixes); p++) {
        for (int op = 0; op < 256; op++) {
            for (int modrm = 0; modrm < 256; modrm++) {
                for (int two = 0; two < 2; two++) {
                    uint8_t b[16] = {0};
                    uint32_t n = prefixes[p][0];
                    memcpy(b, prefixes[p] + 1, n);
                    if (two) {
                        b[n++] = 0x0f;
                    }
                    b[n] = (uint8_t)op, b[n + 1] = (uint8_t)modrm, b[n + 2] = 0x24;
                    yes_count += register_only_checked(cs, b, sizeof b);
                }
            }
        }
    }
    GRand *r = g_rand_new_with_seed(17);
    for (int n = 0; n < 300000; n++) {
        uint8_t b[16];
        for (int i = 0; i < 16; i++) {
            b[i] = (uint8_t)g_rand_int(r);
        }
        yes_count += register_only_checked(cs, b, sizeof b);
    }
    g_rand_free(r);
    /* this program's own code, at every offset */
    const uint8_t *code = (const uint8_t *)(uintptr_t)&agree;
    for (uint32_t off = 0; off < 4096; off++) {
        yes_count += register_only_checked(cs, code + off, 16);
    }
    g_assert_cmpint(yes_count, >, 10000); /* it does say yes, often */
    cs_close(&cs);
}

static void test_arm64(void)
{
    static const uint32_t bases[] = {0x14000000, 0x94000000, 0x54000000, 0x54000001,
                                     0x5400000e, 0x34000000, 0xb5000000, 0x36000000,
                                     0xb7f80000, 0xd61f0000, 0xd63f0000, 0xd65f0000};
    GRand *r = g_rand_new_with_seed(13);
    for (guint k = 0; k < G_N_ELEMENTS(bases); k++) {
        for (int n = 0; n < 20000; n++) {
            uint32_t w = bases[k];
            uint32_t x = g_rand_int(r);
            switch (k) {
            case 0: case 1: w |= x & 0x3ffffff; break;             /* imm26 */
            case 2: case 3: case 4: w |= (x & 0x7ffff) << 5; break; /* imm19, cond */
            case 5: case 6: w |= x & 0xffffff; break;              /* imm19, rt */
            case 7: case 8: w |= x & 0x7ffff; break;               /* b5, imm14, rt */
            default: w |= (x & 31) << 5; break;                    /* rn */
            }
            uint8_t b[4];
            put32(b, w);
            agree(0x400000 + (uint64_t)n * 4, b, 4);
            agree(0xffffffff00000000ull, b, 4);
        }
    }
    for (int n = 0; n < 1000000; n++) { /* any word */
        uint8_t b[4];
        put32(b, g_rand_int(r));
        agree(0x400000, b, 4);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* one process per architecture: disas_init sets the classifier up once */
    if (argc > 1 && strcmp(argv[1], "aarch64") == 0) {
        g_assert_true(disas_init("aarch64", false, true));
        g_assert_cmpint(cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &whole), ==, CS_ERR_OK);
        g_test_add_func("/disas/arm64-branches", test_arm64);
    } else {
        g_assert_true(disas_init("x86_64", false, true));
        g_assert_cmpint(cs_open(CS_ARCH_X86, CS_MODE_64, &whole), ==, CS_ERR_OK);
        g_test_add_func("/disas/x86-branches", test_x86);
        g_test_add_func("/disas/x86-register-only", test_x86_register_only);
    }
    return g_test_run();
}
