/* The plugin's option parsing: every accepted form and every error message. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static gboolean parse(CflowOptions *o, const char *args, GError **err)
{
    g_auto(GStrv) argv = args[0] ? g_strsplit(args, ",", -1) : g_new0(char *, 1);
    return cflow_options_parse(o, (int)g_strv_length(argv), argv, err);
}

static void test_defaults_and_values(void)
{
    CflowOptions o;
    g_assert_true(parse(&o, "", NULL));
    g_assert_cmpint(o.sort, ==, CFLOW_SORT_HOTTEST);
    g_assert_cmpuint(o.topn, ==, 10);
    g_assert_null(o.output);
    g_assert_cmpint(o.mode, ==, MODE_FAST);
    g_assert_true(o.report);
    g_assert_true(parse(&o, "sort=bias,topn=3,output=/tmp/x.%p,format=json,mode=reference,"
                            "report=off", NULL));
    g_assert_cmpint(o.sort, ==, CFLOW_SORT_BIAS);
    g_assert_cmpuint(o.topn, ==, 3);
    g_assert_cmpstr(o.output, ==, "/tmp/x.%p");
    g_assert_cmpint(o.format, ==, FORMAT_JSON);
    g_assert_cmpint(o.mode, ==, MODE_REFERENCE);
    g_assert_false(o.report);
    cflow_options_clear(&o);
    const char *sorts[] = {"hottest", "early", "exceptions", "popular", "edges", "bias"};
    for (int i = 0; i < 6; i++) {
        g_autofree char *a = g_strdup_printf("sort=%s", sorts[i]);
        g_assert_true(parse(&o, a, NULL));
        g_assert_cmpint(o.sort, ==, i);
    }
}

static void expect_error(const char *args, const char *must_mention)
{
    CflowOptions o;
    g_autoptr(GError) err = NULL;
    g_assert_false(parse(&o, args, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, must_mention)) {
        g_error("message '%s' does not mention '%s'", err->message, must_mention);
    }
    cflow_options_clear(&o);
}

static void test_errors(void)
{
    expect_error("colour=red", "'colour'");
    expect_error("sort=fastest", "'fastest'");
    expect_error("sort=fastest", "hottest|early|exceptions|popular|edges|bias");
    expect_error("topn=ten", "'ten'");
    expect_error("topn=-1", "'-1'");
    expect_error("topn=", "topn");
    expect_error("format=xml", "'xml'");
    expect_error("mode=turbo", "'turbo'");
    expect_error("report=maybe", "'maybe'");
    expect_error("output=", "output");
    expect_error("verbose", "'verbose'");
    expect_error("adapt_after=1099511627777", "from 0 to 1099511627776");
    expect_error("dump=+1", "'+1'");
    expect_error("disas=capstone", "auto|qemu");
    expect_error("priv=root", "all|user|kernel");
    expect_error("format=xml", "cflow|binary|json");
    expect_error("symbols=/nonexistent", "is not a readable file");
}

/* The table: every option has help, and the unknown-option message names every one. */
static void test_table(void)
{
    static const char *names[] = {"sort",        "topn",   "output",  "format",
                                  "mode",        "report", "disas",   "adapt_after",
                                  "counter_mib", "priv",   "symbols", "dump"};
    g_autofree char *help = cflow_options_help();
    CflowOptions o;
    g_autoptr(GError) err = NULL;
    g_assert_false(parse(&o, "colour=red", &err));
    g_assert_cmpstr(err->message, ==,
                    "cflow: unknown option 'colour' (known: sort, topn, output, format, mode, "
                    "report, disas, adapt_after, counter_mib, priv, symbols, dump)");
    g_auto(GStrv) lines = g_strsplit(help, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, G_N_ELEMENTS(names) + 1); /* and "" at the end */
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[i]), " ", 2);
        g_assert_cmpstr(words[0], ==, names[i]);
        g_assert_true(words[1] && *g_strstrip(words[1]));
    }
    /* each kind of parser stores into its own field */
    g_assert_true(parse(&o,
                        "disas=qemu,priv=kernel,adapt_after=0,counter_mib=7,dump=3,"
                        "report=no",
                        NULL));
    g_assert_true(o.qemu_disas);
    g_assert_cmpint(o.priv, ==, PRIV_KERNEL);
    g_assert_cmpuint(o.adapt_after, ==, 0);
    g_assert_cmpuint(o.counter_mib, ==, 7);
    g_assert_cmpuint(o.dump_seconds, ==, 3);
    g_assert_false(o.report);
    g_assert_true(o.sort == CFLOW_SORT_HOTTEST && o.topn == 10 && o.mode == MODE_FAST);
    cflow_options_clear(&o);
}

static void test_output_paths(void)
{
    g_autofree char *p = cflow_expand_output_path("/x/prof.%p.%%.cflow", 1234);
    g_assert_cmpstr(p, ==, "/x/prof.1234.%.cflow");
    g_autofree char *dir = g_dir_make_tmp("cflow-opt-XXXXXX", NULL);
    g_autofree char *ok = g_build_filename(dir, "p.cflow", NULL);
    g_assert_true(cflow_check_output_path(ok, NULL));
    g_assert_false(g_file_test(ok, G_FILE_TEST_EXISTS)); /* the probe leaves nothing behind */
    GError *err = NULL;
    g_autofree char *missing = g_build_filename(dir, "no", "such", "p.cflow", NULL);
    g_assert_false(cflow_check_output_path(missing, &err));
    g_assert_nonnull(strstr(err->message, "does not exist"));
    g_clear_error(&err);
    g_assert_false(cflow_check_output_path(dir, &err)); /* a directory */
    g_assert_nonnull(strstr(err->message, "is a directory"));
    g_clear_error(&err);
    g_assert_false(cflow_check_output_path("/proc/cflow-test.cflow", &err));
    g_clear_error(&err);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/options/defaults_and_values", test_defaults_and_values);
    g_test_add_func("/options/errors", test_errors);
    g_test_add_func("/options/table", test_table);
    g_test_add_func("/options/output_paths", test_output_paths);
    return g_test_run();
}
