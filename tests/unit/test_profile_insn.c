/*
 * test_profile_insn.c: unit tests of the profile library (profile/profile.h): the optional
 * per-instruction sections: instruction bytes and privilege levels.
 */
#include "profile_fixtures.h"
#include "json_check.h"

#include <string.h>

/* Instruction bytes instead of text: the optional insn_bytes section round-trips at each
 * instruction's own size, texts are made from it when asked (and text a profile has wins),
 * pointers into the pool stay put, and a section that does not add up is refused. */
static void test_insn_bytes(void)
{
    static const uint8_t mov[] = {0x48, 0x89, 0xe5}, ret[] = {0xc3}, ud2[] = {0x0f, 0x0b};
    g_autoptr(CflowProfile) p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint32_t a = cflow_profile_add_insn(p, 0x1000, 3, 0, NULL, "main");
    cflow_profile_set_insn_bytes(p, a, mov, 3);
    uint32_t b = cflow_profile_add_insn(p, 0x1003, 1, 0, "ret (as given)", NULL);
    cflow_profile_set_insn_bytes(p, b, ret, 1);
    uint32_t c = cflow_profile_add_insn(p, 0x1004, 2, 0, NULL, NULL);
    cflow_profile_set_insn_bytes(p, c, ud2, 2);
    GBytes *bytes = NULL;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    gsize len;
    const uint8_t *file = g_bytes_get_data(bytes, &len);
    int s = find_section(file, CFLOW_SECTION_INSN_BYTES);
    g_assert_cmpint(s, >=, 0);
    g_assert_cmpuint(rd64(entry((uint8_t *)file, (unsigned)s) + 16), ==, 3 + 1 + 2);
    g_assert_cmpmem(cflow_profile_insn_bytes(q, a), 3, mov, 3);
    const char *sym = cflow_profile_string(q, cflow_profile_insn(q, a)->symbol);
    g_assert_cmpstr(cflow_profile_insn_disas(q, a), ==, "movq %rsp, %rbp");
    g_assert_cmpstr(cflow_profile_insn_disas(q, b), ==, "ret (as given)");
    g_assert_cmpstr(cflow_profile_insn_disas(q, c), ==, "ud2 ");
    g_assert_true(sym == cflow_profile_string(q, cflow_profile_insn(q, a)->symbol));
    g_assert_cmpstr(sym, ==, "main");
    /* JSON has the text */
    size_t jlen = 0;
    g_autofree char *json = json_of(q, &jlen);
    g_assert_nonnull(strstr(json, "\"disas\": \"movq %rsp, %rbp\""));
    /* an instruction added without bytes to a profile that keeps them: zeros, its text wins */
    uint32_t late = cflow_profile_add_insn(q, 0x2000, 4, 0, "late one", NULL);
    GError *verr = NULL;
    g_assert_true(cflow_profile_validate(q, &verr));
    static const uint8_t zeros[4] = {0};
    g_assert_cmpmem(cflow_profile_insn_bytes(q, late), 4, zeros, 4);
    g_assert_cmpstr(cflow_profile_insn_disas(q, late), ==, "late one");
    /* an architecture capstone does not know: the bytes as data */
    cflow_profile_set_meta(q, "arch", "riscv64");
    g_autoptr(CflowProfile) r = reparse(q, NULL);
    g_assert_cmpstr(cflow_profile_insn_disas(r, c), ==, ".byte 0x0f,0x0b");
    /* aarch64 */
    static const uint8_t nop[] = {0x1f, 0x20, 0x03, 0xd5};
    g_autoptr(CflowProfile) arm = cflow_profile_new();
    cflow_profile_set_meta(arm, "arch", "aarch64");
    cflow_profile_set_insn_bytes(arm, cflow_profile_add_insn(arm, 0x400000, 4, 0, NULL, NULL),
                                 nop, 4);
    g_autoptr(CflowProfile) arm2 = reparse(arm, NULL);
    g_assert_cmpstr(cflow_profile_insn_disas(arm2, 0), ==, "nop ");
    /* one byte short of what the sizes add up to (checksums fixed): refused */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, file, (guint)len);
    uint8_t *e = entry(bad->data, (unsigned)s);
    wr64(e + 16, 5);
    wr64(e + 24, 5);
    fix_all_crcs(bad->data, bad->len);
    expect_reject(bad->data, bad->len, CFLOW_PROFILE_ERROR_FORMAT, "insn_bytes");
    g_byte_array_unref(bad);
    g_bytes_unref(bytes);
}

/* Privilege levels: the optional insn_priv section round-trips, is absent when not recorded,
 * and a damaged one (bad level, wrong count) is refused. */
static void test_insn_priv(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_assert_cmpuint(p->insn_priv->len, ==, 0);
    g_autoptr(CflowProfile) plain = reparse(p, NULL);
    g_assert_cmpuint(plain->insn_priv->len, ==, 0);
    g_assert_cmpint(cflow_profile_insn_priv(plain, 0), ==, CFLOW_PRIV_UNKNOWN);

    cflow_profile_set_insn_priv(p, 0, CFLOW_PRIV_USER);
    cflow_profile_set_insn_priv(p, 3, CFLOW_PRIV_KERNEL);
    uint32_t late = cflow_profile_add_insn(p, 0x500000, 4, 0, "nop", NULL); /* after: sized */
    cflow_profile_set_insn_priv(p, late, CFLOW_PRIV_FIRMWARE);
    g_assert_cmpuint(p->insn_priv->len, ==, p->insns->len);
    GBytes *bytes = NULL;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    g_assert_cmpuint(q->insn_priv->len, ==, p->insns->len);
    g_assert_cmpint(cflow_profile_insn_priv(q, 0), ==, CFLOW_PRIV_USER);
    g_assert_cmpint(cflow_profile_insn_priv(q, 1), ==, CFLOW_PRIV_UNKNOWN);
    g_assert_cmpint(cflow_profile_insn_priv(q, 3), ==, CFLOW_PRIV_KERNEL);
    g_assert_cmpint(cflow_profile_insn_priv(q, late), ==, CFLOW_PRIV_FIRMWARE);
    CflowPriv parsed;
    g_assert_true(cflow_priv_parse("hypervisor", &parsed));
    g_assert_cmpint(parsed, ==, CFLOW_PRIV_HYPERVISOR);
    g_assert_false(cflow_priv_parse("root", &parsed));

    /* JSON names the level of every instruction */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    g_assert_true(cflow_profile_write_json(q, f, NULL));
    fclose(f);
    g_assert_nonnull(strstr(buf, "\"priv\": \"kernel\""));
    g_assert_nonnull(strstr(buf, "\"priv\": \"firmware\""));
    free(buf);

    /* an out-of-range level is refused, naming the instruction */
    p->insn_priv->data[1] = 9;
    GError *err = NULL;
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_nonnull(strstr(err->message, "insn 1: unknown privilege level 9"));
    g_clear_error(&err);
    /* one level too few */
    p->insn_priv->data[1] = CFLOW_PRIV_USER;
    g_byte_array_set_size(p->insn_priv, p->insns->len - 1);
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_nonnull(strstr(err->message, "insn_priv"));
    g_clear_error(&err);
    g_bytes_unref(bytes);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/insn-priv", test_insn_priv);
    g_test_add_func("/profile/insn-bytes", test_insn_bytes);
    return g_test_run();
}
