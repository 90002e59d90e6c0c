/*
 * test_profile_json.c: unit tests of the profile library (profile/profile.h): the JSON form: its
 * text, a file written and read back, string escapes.
 */
#include "profile_fixtures.h"
#include "json_check.h"

#include <string.h>

static void test_json_text(void)
{
    g_autoptr(CflowProfile) p = make_small();
    size_t len;
    char *json = json_of(p, &len);
    static const char expected[] =
        "{\n"
        "\"meta\": {\n"
        "  \"arch\": \"aarch64\",\n"
        "  \"command\": \"./a.out \\\"x\\\"\"\n"
        "},\n"
        "\"edges\": [\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x4006ec\", \"kind\": \"branch\", \"count\": 666, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x4006f4\", \"kind\": \"fallthrough\", \"count\": 1, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x400000\", \"kind\": \"exception\", \"count\": 0, "
        "\"from_generation\": 1},\n"
        "  {\"from\": \"0x4006ec\", \"to\": \"0xffffffff80001000\", \"kind\": \"interrupt\", "
        "\"count\": 18446744073709551615, \"from_generation\": 0},\n"
        "  {\"from\": \"0xffffffff80001000\", \"to\": \"0x0\", \"kind\": \"hostcall\", \"count\": 7, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006ec\", \"to\": \"0x4006ec\", \"kind\": \"early-exit\", \"count\": 2, "
        "\"from_generation\": 0}\n"
        "],\n"
        "\"insns\": [\n"
        "  {\"addr\": \"0x4006ec\", \"size\": 4, \"generation\": 0, \"disas\": \"cmp x0, #1\", "
        "\"symbol\": \"main\"},\n"
        "  {\"addr\": \"0x4006f0\", \"size\": 4, \"generation\": 0, \"disas\": \"b.ne #0x4006ec\", "
        "\"symbol\": \"main\"},\n"
        "  {\"addr\": \"0x4006f0\", \"size\": 4, \"generation\": 1, \"disas\": \"nop\", "
        "\"symbol\": null},\n"
        "  {\"addr\": \"0xffffffff80001000\", \"size\": 2, \"generation\": 0, \"disas\": \"\", "
        "\"symbol\": \"\"}\n"
        "],\n"
        "\"blocks\": [\n"
        "  {\"addr\": \"0x4006ec\", \"count\": 667, \"insns\": [\"0x4006ec\", \"0x4006f0\"]},\n"
        "  {\"addr\": \"0x4006f0\", \"count\": 3, \"insns\": [\"0x4006f0\"]},\n"
        "  {\"addr\": \"0xffffffff80001000\", \"count\": 0, \"insns\": []}\n"
        "]\n"
        "}\n";
    g_assert_cmpstr(json, ==, expected);
    check_json_content(p, json, len);
    free(json);
}

static void test_json_roundtrip_file(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_autofree char *dir = make_tmpdir();
    g_autofree char *bin = g_build_filename(dir, "p.cflow", NULL);
    g_autofree char *js = g_build_filename(dir, "p.json", NULL);
    GError *err = NULL;
    g_assert_true(cflow_profile_write(p, bin, &err));
    g_autoptr(CflowProfile) q = cflow_profile_read(bin, &err);
    g_assert_no_error(err);
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    g_assert_no_error(err);
    char *text;
    gsize len;
    g_assert_true(g_file_get_contents(js, &text, &len, NULL));
    check_json_content(p, text, len);
    size_t len2;
    char *direct = json_of(p, &len2);
    g_assert_cmpmem(text, len, direct, len2); /* same JSON before and after the binary trip */
    free(direct);
    g_free(text);
    g_assert_cmpuint(count_entries(dir), ==, 2);
    rm_rf(dir);
}

static void test_json_escape(void)
{
    static const struct {
        const char *in;
        const char *out; /* the JSON text, quotes included */
    } cases[] = {
        {"plain", "\"plain\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"nl\ncr\rtab\tbs\bff\f", "\"nl\\ncr\\rtab\\tbs\\bff\\f\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xff", "\"\\u00ff\""},
        {"bad\x80tail", "\"bad\\u0080tail\""},
        {"cut\xe2\x82", "\"cut\\u00e2\\u0082\""},          /* truncated sequence at the end */
        {"\xe2\x82x", "\"\\u00e2\\u0082x\""},             /* truncated in the middle */
        {"\xc0\xaf", "\"\\u00c0\\u00af\""},               /* overlong '/' */
        {"\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""},    /* overlong 3-byte */
        {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},    /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""}, /* above U+10FFFF */
        {"\xf5\x80", "\"\\u00f5\\u0080\""},
        {"</script>", "\"</script>\""},
    };
    g_autoptr(CflowProfile) p = cflow_profile_new();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        cflow_profile_add_insn(p, 0x1000 + 4 * i, 4, 0, cases[i].in, cases[i].in);
    }
    cflow_profile_set_meta(p, "odd \"key\"\n", "\xff value \\");
    size_t len;
    char *json = json_of(p, &len);
    g_assert_true(g_utf8_validate(json, (gssize)len, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *needle = g_strdup_printf("\"disas\": %s, \"symbol\": %s}", cases[i].out,
                                                  cases[i].out);
        if (strstr(json, needle) == NULL) {
            g_error("case %zu: %s not found in\n%s", i, needle, json);
        }
    }
    g_assert_nonnull(strstr(json, "\"odd \\\"key\\\"\\n\": \"\\u00ff value \\\\\""));
    check_json_content(p, json, len);
    /* Decoded, the valid strings come back exactly. */
    JVal *root = jparse(json, len);
    g_assert_nonnull(root);
    JVal *insns = jget(root, "insns");
    g_assert_cmpstr(jstr(jget(jat(insns, 3), "disas")), ==, "nl\ncr\rtab\tbs\bff\f");
    g_assert_cmpstr(jstr(jget(jat(insns, 4), "disas")), ==, "\x01\x1f\x7f");
    g_assert_cmpstr(jstr(jget(jat(insns, 6), "disas")), ==, "\xc3\xbf"); /* byte 0xff as U+00FF */
    jfree(root);
    free(json);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/json/text", test_json_text);
    g_test_add_func("/profile/json/roundtrip-file", test_json_roundtrip_file);
    g_test_add_func("/profile/json/escape", test_json_escape);
    return g_test_run();
}
