/*
 * disas_transfer's encodings of common branches (x86-64, aarch64) against capstone's full
 * decoding (disas_transfer_decoded): the same answer for every form it handles, at the
 * limits of their displacements, and for everything else (random bytes, this program's own
 * machine code) by falling back.
 */
#include <glib.h>
#include <string.h>

#include "disas.h"

static void agree(uint64_t addr, const uint8_t *b, uint32_t size)
{
    DisasTransfer fast, slow;
    disas_transfer(addr, b, size, &fast);
    disas_transfer_decoded(addr, b, size, &slow);
    if (fast.may_transfer != slow.may_transfer || fast.has_target != slow.has_target ||
        (fast.has_target && fast.target != slow.target)) {
        GString *hex = g_string_new(NULL);
        for (uint32_t i = 0; i < size; i++) {
            g_string_append_printf(hex, "%02x ", b[i]);
        }
        g_error("disagree at 0x%" G_GINT64_MODIFIER "x on %s: fast %d/%d/0x%" G_GINT64_MODIFIER
                "x, capstone %d/%d/0x%" G_GINT64_MODIFIER "x",
                addr, hex->str, fast.may_transfer, fast.has_target, fast.target,
                slow.may_transfer, slow.has_target, slow.target);
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
        g_test_add_func("/disas/arm64-branches", test_arm64);
    } else {
        g_assert_true(disas_init("x86_64", false, true));
        g_test_add_func("/disas/x86-branches", test_x86);
    }
    return g_test_run();
}
