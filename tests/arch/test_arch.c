/*
 * test_arch.c: the architecture room (arch/). The lookup by name; and the one classifier's
 * two decodings, of bytes and of text, held to the same class on every instruction of real
 * binaries (x86-64: bzip2 and the C library; aarch64: the cross toolchain's C library),
 * walked with capstone and given the text cflow_disasm makes for the exporters, so that the
 * two cannot drift. riscv's text is QEMU's own disassembler's: a table of its forms, and
 * binutils' text of the cross toolchain's riscv64 C library.
 */
#include <elf.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "profile.h"

static void test_find(void)
{
    g_assert_true(cflow_arch_find("x86_64") == &cflow_arch_x86_64);
    g_assert_true(cflow_arch_find("aarch64") == &cflow_arch_aarch64);
    g_assert_true(cflow_arch_find("riscv64") == &cflow_arch_riscv64);
    const CflowArch *none = cflow_arch_find("sparc64");
    g_assert_nonnull(none);
    g_assert_true(cflow_arch_find(NULL) == none);
    g_assert_false(none->capstone || none->sigframe || none->classify_text);
    g_assert_false(cflow_arch_is_execve(none, 0));
    g_assert_false(cflow_arch_is_execve(cflow_arch_find("arm"), 0));
    g_assert_true(cflow_arch_for_elf(EM_X86_64, ELFCLASS64) == &cflow_arch_x86_64);
    g_assert_true(cflow_arch_for_elf(EM_RISCV, ELFCLASS32) == cflow_arch_find("riscv32"));
    g_assert_true(cflow_arch_for_elf(EM_ARM, ELFCLASS32) == cflow_arch_find("arm"));
    g_assert_null(cflow_arch_for_elf(EM_X86_64, ELFCLASS32));
    g_assert_null(cflow_arch_for_elf(0, ELFCLASS64));
    g_assert_true(cflow_arch_is_execve(&cflow_arch_x86_64, 59));
    g_assert_true(cflow_arch_is_execve(&cflow_arch_x86_64, 322));
    g_assert_false(cflow_arch_is_execve(&cflow_arch_x86_64, 221));
    g_assert_true(cflow_arch_is_execve(cflow_arch_find("riscv32"), 281));
    g_assert_true(cflow_arch_is_execve(cflow_arch_find("i386"), 11));
    g_assert_true(cflow_arch_is_execve(cflow_arch_find("loongarch64"), 221));
    CflowDecoder d;
    g_assert_false(cflow_decoder_open(&d, none));
    CflowTransfer t;
    cflow_arch_classify(&d, 0x1000, (const uint8_t *)"\xc3", 1, NULL, &t);
    g_assert_true(t.may_transfer && !t.has_target && t.cls == CFLOW_INSN_OTHER);
    g_assert_true(cflow_arch_may_leave_block(&d, 0x1000, (const uint8_t *)"\x90", 1));
}

/* An ELF64 file's .text: its bytes and address, or FALSE. */
static gboolean elf_text(const char *path, char **file, const uint8_t **code, gsize *size,
                         uint64_t *addr)
{
    gsize len;
    if (!g_file_get_contents(path, file, &len, NULL)) {
        return FALSE;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)*file;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff + (uint64_t)eh->e_shnum *
        sizeof(Elf64_Shdr) > len || eh->e_shstrndx >= eh->e_shnum) {
        return FALSE;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(*file + eh->e_shoff);
    const char *names = *file + sh[eh->e_shstrndx].sh_offset;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (strcmp(names + sh[i].sh_name, ".text") == 0 && sh[i].sh_offset + sh[i].sh_size <= len) {
            *code = (const uint8_t *)*file + sh[i].sh_offset;
            *size = sh[i].sh_size;
            *addr = sh[i].sh_addr;
            return TRUE;
        }
    }
    return FALSE;
}

/*
 * Every instruction capstone finds in the file's .text: the byte path (by encoding, then by
 * decoding) and the text path give the same class; the encoded answers agree with the full
 * decoding. Returns how many instructions of each class were seen.
 */
/*
 * Under AddressSanitizer every instruction costs some 30 times more; that build is there for
 * memory errors, which the first instructions of each binary reach as well as all of them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_INSNS_PER_BINARY 20000u
#else
#define MAX_INSNS_PER_BINARY UINT32_MAX
#endif

static void agree_on_binary(const char *arch_name, const char *path, guint *seen)
{
    const CflowArch *arch = cflow_arch_find(arch_name);
    g_autofree char *file = NULL;
    const uint8_t *code;
    gsize size;
    uint64_t addr;
    if (!elf_text(path, &file, &code, &size, &addr)) {
        g_test_skip(path);
        return;
    }
    CflowDecoder d;
    g_assert_true(cflow_decoder_open(&d, arch));
    cs_insn *insn = cs_malloc(d.handle);
    const uint8_t *at = code;
    uint64_t pc = addr;
    for (uint32_t count = 0; size > 0 && count < MAX_INSNS_PER_BINARY; count++) {
        const uint8_t *here = at;
        uint64_t here_pc = pc;
        if (!cs_disasm_iter(d.handle, &at, &size, &pc, insn)) {
            uint32_t skip = arch->cs == CS_ARCH_X86 ? 1 : 4; /* data: as capstone skips it */
            skip = (uint32_t)MIN(skip, size);
            at += skip, pc += skip, size -= skip;
            continue;
        }
        uint32_t n = insn->size;
        g_autofree char *text = cflow_disasm(arch_name, here_pc, here, n);
        CflowTransfer bytes, decoded, words;
        cflow_arch_classify(&d, here_pc, here, n, NULL, &bytes);
        cflow_arch_classify_decoded(&d, here_pc, here, n, &decoded);
        cflow_arch_classify(&d, here_pc, NULL, n, text, &words);
        if (bytes.cls != words.cls || bytes.cls != decoded.cls ||
            bytes.may_transfer != decoded.may_transfer || bytes.has_target != decoded.has_target ||
            (bytes.has_target && bytes.target != decoded.target)) {
            g_error("%s 0x%" G_GINT64_MODIFIER "x '%s': bytes class %d (%d/%d), decoded %d "
                    "(%d/%d), text class %d", path, here_pc, text, bytes.cls, bytes.may_transfer,
                    bytes.has_target, decoded.cls, decoded.may_transfer, decoded.has_target,
                    words.cls);
        }
        seen[bytes.cls]++;
    }
    cs_free(insn, 1);
    cflow_decoder_close(&d);
    g_test_message("%s: other %u, cond %u, jump %u, call %u, return %u", path, seen[0], seen[1],
                   seen[2], seen[3], seen[4]);
}

static void test_x86_64_binaries(void)
{
    guint seen[CFLOW_INSN_RETURN + 1] = {0};
    agree_on_binary("x86_64", "/usr/bin/bzip2", seen);
    agree_on_binary("x86_64", "/lib/x86_64-linux-gnu/libc.so.6", seen);
    for (int c = CFLOW_INSN_OTHER; c <= CFLOW_INSN_RETURN && seen[CFLOW_INSN_OTHER]; c++) {
        g_assert_cmpuint(seen[c], >, 50); /* every class is met, many times */
    }
}

static void test_aarch64_binaries(void)
{
    guint seen[CFLOW_INSN_RETURN + 1] = {0};
    agree_on_binary("aarch64", "/usr/aarch64-linux-gnu/lib/libc.so.6", seen);
    for (int c = CFLOW_INSN_OTHER; c <= CFLOW_INSN_RETURN && seen[CFLOW_INSN_OTHER]; c++) {
        g_assert_cmpuint(seen[c], >, 50);
    }
}

/*
 * riscv64: encodings and the text QEMU's disassembler gives them (pseudo-instructions, in
 * columns, with the target as a comment); test_riscv64_binary adds binutils' text of a whole
 * C library, which writes the same pseudo-instructions.
 */
static void test_riscv64(void)
{
    static const struct {
        uint32_t word;
        uint32_t size;
        const char *text;
        CflowInsnClass cls;
        bool may_transfer;
    } cases[] = {
        {0x010000ef, 4, "jal ra,16", CFLOW_INSN_CALL, true},
        {0x010000ef, 4, "jal 16", CFLOW_INSN_CALL, true},
        {0x0100006f, 4, "j 16", CFLOW_INSN_JUMP, true},
        {0x0100006f, 4, "j                       16                      # 0x10132",
         CFLOW_INSN_JUMP, true},
        {0x010000ef, 4, "jal                     16                      # 0x10132",
         CFLOW_INSN_CALL, true},
        {0x00030067, 4, "jr                      t1", CFLOW_INSN_JUMP, true},
        {0x010002ef, 4, "jal t0,16", CFLOW_INSN_JUMP, true},
        {0x000780e7, 4, "jalr a5", CFLOW_INSN_CALL, true},
        {0x000080e7, 4, "jalr ra", CFLOW_INSN_CALL, true},
        {0x00008067, 4, "ret", CFLOW_INSN_RETURN, true},
        {0x00808067, 4, "jalr zero,ra,8", CFLOW_INSN_RETURN, true},
        {0x00078067, 4, "jr a5", CFLOW_INSN_JUMP, true},
        {0x00b50463, 4, "beq a0,a1,8", CFLOW_INSN_COND, true},
        {0x00050463, 4, "beqz a0,8", CFLOW_INSN_COND, true},
        {0xfeb54ee3, 4, "blt a0,a1,-4", CFLOW_INSN_COND, true},
        {0x00000073, 4, "ecall", CFLOW_INSN_OTHER, true},
        {0x00a00513, 4, "addi a0,zero,10", CFLOW_INSN_OTHER, false},
        {0x00053503, 4, "ld a0,0(a0)", CFLOW_INSN_OTHER, false},
        {0xa021, 2, "c.j 8", CFLOW_INSN_JUMP, true},
        {0xc111, 2, "c.beqz a0,4", CFLOW_INSN_COND, true},
        {0xe111, 2, "c.bnez a0,4", CFLOW_INSN_COND, true},
        {0x8082, 2, "c.jr ra", CFLOW_INSN_RETURN, true},
        {0x8782, 2, "c.jr a5", CFLOW_INSN_JUMP, true},
        {0x9782, 2, "c.jalr a5", CFLOW_INSN_CALL, true},
        {0x9002, 2, "c.ebreak", CFLOW_INSN_OTHER, true},
        {0x0505, 2, "c.addi a0,1", CFLOW_INSN_OTHER, false},
    };
    CflowDecoder d;
    g_assert_true(cflow_decoder_open(&d, cflow_arch_find("riscv64")));
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t b[4] = {(uint8_t)cases[i].word, (uint8_t)(cases[i].word >> 8),
                        (uint8_t)(cases[i].word >> 16), (uint8_t)(cases[i].word >> 24)};
        CflowTransfer bytes, words;
        cflow_arch_classify(&d, 0x10000, b, cases[i].size, NULL, &bytes);
        cflow_arch_classify(&d, 0x10000, NULL, cases[i].size, cases[i].text, &words);
        if (bytes.cls != cases[i].cls || words.cls != cases[i].cls ||
            bytes.may_transfer != cases[i].may_transfer) {
            g_error("riscv64 '%s': bytes class %d may_transfer %d, text class %d, want %d",
                    cases[i].text, bytes.cls, bytes.may_transfer, words.cls, cases[i].cls);
        }
    }
    CflowTransfer t;
    cflow_arch_classify(&d, 0x10000, (const uint8_t *)"\xe3\x4e\xb5\xfe", 4, NULL, &t);
    g_assert_true(t.has_target && t.target == 0x10000 - 4); /* blt a0,a1,-4 */
    cflow_decoder_close(&d);
}

/*
 * One line of objdump -d: "   addr:\tHEX   \ttext". The instruction's bytes (little-endian
 * parcels as one number) and its text, or FALSE for any other line.
 */
static gboolean objdump_line(char *line, uint64_t *addr, uint8_t b[4], uint32_t *size,
                             const char **text)
{
    char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2 || sscanf(line, " %" G_GINT64_MODIFIER "x:", addr) != 1) {
        return FALSE;
    }
    *tab2 = 0;
    g_strstrip(tab1 + 1);
    *size = (uint32_t)strlen(tab1 + 1) / 2;
    uint32_t w = (uint32_t)strtoul(tab1 + 1, NULL, 16);
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(w >> (8 * i));
    }
    *text = g_strdelimit(tab2 + 1, "\t", ' ');
    return *size == 2 || *size == 4;
}

/* riscv64's byte and text paths on binutils' disassembly of the cross toolchain's C library. */
static void test_riscv64_binary(void)
{
    const char *lib = "/usr/riscv64-linux-gnu/lib/libc.so.6";
    g_autofree char *objdump = g_find_program_in_path("riscv64-linux-gnu-objdump");
    g_autofree char *out = NULL;
    g_autofree char *file = NULL;
    const uint8_t *code;
    gsize text_size;
    uint64_t text_addr;
    if (!objdump || !elf_text(lib, &file, &code, &text_size, &text_addr)) {
        g_test_skip("no riscv64 objdump or C library");
        return;
    }
    /* 4 bytes an instruction at most: the window holds MAX_INSNS_PER_BINARY of them at least */
    uint64_t window = MIN((uint64_t)text_size, 4ull * MAX_INSNS_PER_BINARY);
    g_autofree char *start = g_strdup_printf("--start-address=0x%" G_GINT64_MODIFIER "x",
                                             text_addr);
    g_autofree char *stop = g_strdup_printf("--stop-address=0x%" G_GINT64_MODIFIER "x",
                                            text_addr + window);
    const char *argv[] = {objdump, "-d", start, stop, lib, NULL};
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, NULL, NULL)) {
        g_test_skip("riscv64 objdump did not run");
        return;
    }
    CflowDecoder d;
    g_assert_true(cflow_decoder_open(&d, cflow_arch_find("riscv64")));
    guint seen[CFLOW_INSN_RETURN + 1] = {0};
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    for (uint32_t i = 0, count = 0; lines[i] && count < MAX_INSNS_PER_BINARY; i++) {
        uint64_t addr;
        uint8_t b[4];
        uint32_t size;
        const char *text;
        if (!objdump_line(lines[i], &addr, b, &size, &text)) {
            continue;
        }
        count++;
        CflowTransfer bytes, words;
        cflow_arch_classify(&d, addr, b, size, NULL, &bytes);
        cflow_arch_classify(&d, addr, NULL, size, text, &words);
        if (bytes.cls != words.cls) {
            g_error("riscv64 0x%" G_GINT64_MODIFIER "x '%s': bytes class %d, text class %d", addr,
                    text, bytes.cls, words.cls);
        }
        seen[bytes.cls]++;
    }
    for (int c = CFLOW_INSN_OTHER; c <= CFLOW_INSN_RETURN; c++) {
        g_assert_cmpuint(seen[c], >, 50);
    }
    cflow_decoder_close(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/arch/find", test_find);
    g_test_add_func("/arch/x86_64-bytes-and-text-agree", test_x86_64_binaries);
    g_test_add_func("/arch/aarch64-bytes-and-text-agree", test_aarch64_binaries);
    g_test_add_func("/arch/riscv64", test_riscv64);
    g_test_add_func("/arch/riscv64-bytes-and-text-agree", test_riscv64_binary);
    return g_test_run();
}
