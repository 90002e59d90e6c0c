/* test_emit.c: the JSON and CSV pieces of the tool's outputs (tool/emit.c), byte for byte. */
#include "emit.h"

static void test_json_string(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    cflow_emit_json_string(out, "a\"b\\c\nd\re\tf\bg\fh\x01i\x7fj");
    g_assert_cmpstr(out->str, ==, "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u007fj\"");
    g_string_truncate(out, 0);
    cflow_emit_json_string(out, "caf\xc3\xa9"); /* valid UTF-8 passes as it is */
    g_assert_cmpstr(out->str, ==, "\"caf\xc3\xa9\"");
    g_string_truncate(out, 0);
    cflow_emit_json_string(out, "caf\xe9"); /* Latin-1: each high byte escaped */
    g_assert_cmpstr(out->str, ==, "\"caf\\u00e9\"");
    g_string_truncate(out, 0);
    cflow_emit_json_string(out, NULL);
    g_assert_cmpstr(out->str, ==, "null");
}

static void test_json_edge(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    cflow_profile_add_insn(p, 0x10, 4, 0, "a", NULL);
    uint32_t i = cflow_profile_add_insn(p, 0xabc, 4, 2, "b", NULL);
    CflowEdge e = {i, CFLOW_EDGE_FALLTHROUGH, 0xac0, 77};
    g_autoptr(GString) out = g_string_new(NULL);
    cflow_emit_json_edge(out, p, &e);
    g_assert_cmpstr(out->str, ==,
                    "{\"from\": \"0xabc\", \"to\": \"0xac0\", \"kind\": \"fallthrough\", "
                    "\"count\": 77, \"from_generation\": 2}");
    g_string_truncate(out, 0);
    cflow_emit_json_addr(out, UINT64_MAX);
    g_assert_cmpstr(out->str, ==, "\"0xffffffffffffffff\"");
}

static void test_csv_field(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    cflow_emit_csv_field(out, "plain");
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, "a,b");
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, "say \"hi\"");
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, "two\nlines");
    g_string_append_c(out, ',');
    cflow_emit_csv_field(out, NULL);
    g_assert_cmpstr(out->str, ==, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/emit/json-string", test_json_string);
    g_test_add_func("/emit/json-edge", test_json_edge);
    g_test_add_func("/emit/csv-field", test_csv_field);
    return g_test_run();
}
