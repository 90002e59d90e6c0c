/*
 * test_export.c: every exporter (tool/export-*.c) on the fixture's run (harness.h), compared
 * with the exact text (drcov: bytes) it must write, worked out by hand from the run; and the
 * shared pieces of export.c: modules from maps, link-time addresses, --binary selection.
 */
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>

#include "harness.h"

/* The run's export state, as cmd-export.c makes it. */
typedef struct {
    FixtureRun r;
    CflowProfile *p;
    CflowExport *x;
} Run;

static void run_init(Run *run)
{
    run->p = fixture_run_profile(&run->r);
    cflow_profile_set_meta(run->p, "pid", "42");
    cflow_profile_set_meta(run->p, "cmdline", "prog\nwith newline");
    run->x = cflow_export_new(run->p);
    run->x->test_name = "unit";
}

static void run_clear(Run *run)
{
    cflow_export_free(run->x);
    cflow_profile_free(run->p);
}

static char *export_ok(const CflowExportFormat *format, CflowExport *x, gsize *len)
{
    g_autoptr(GError) err = NULL;
    char *text = export_text(format, x, len, &err);
    g_assert_no_error(err);
    g_assert_nonnull(text);
    return text;
}

/* One module, the fixture, at FIXTURE_BASE; each instruction at its link-time address. */
static void test_modules_and_addresses(void)
{
    Run run;
    run_init(&run);
    CflowExport *x = run.x;
    g_assert_cmpuint(x->modules->len, ==, 1);
    const CflowExportModule *m = &g_array_index(x->modules, CflowExportModule, 0);
    g_assert_cmpstr(m->path, ==, fixture_path());
    g_assert_cmphex(m->base, ==, FIXTURE_BASE);
    g_assert_cmphex(m->end, ==, FIXTURE_MAP_END);
    g_assert_cmpuint(m->executed, ==, 59);
    const uint64_t vaddr[] = {run.r.add,      run.r.add + 4,  run.r.add + 9, run.r.add + 11,
                              run.r.leaf,     run.r.leaf + 3, run.r.loop};
    for (guint i = 0; i < G_N_ELEMENTS(vaddr); i++) {
        g_assert_cmpuint(x->module_of[i], ==, 0);
        g_assert_cmphex(x->vaddr[i], ==, vaddr[i]);
    }
    g_assert_cmpuint(cflow_export_execs_at(x, 0, run.r.add + 9), ==, 13);
    g_assert_cmpuint(cflow_export_execs_at(x, 0, run.r.add + 1), ==, 0);
    run_clear(&run);
}

/* --binary by path, by base name, and a name the run has no code of. */
static void test_select(void)
{
    Run run;
    run_init(&run);
    g_autoptr(GError) err = NULL;
    g_assert_cmpuint(cflow_export_select(run.x, &err), ==, 0); /* meta.guest */
    g_autofree char *base = g_path_get_basename(fixture_path());
    run.x->binary = base;
    g_assert_cmpuint(cflow_export_select(run.x, &err), ==, 0);
    g_assert_no_error(err);
    run.x->binary = "libnothing.so";
    g_assert_cmpuint(cflow_export_select(run.x, &err), ==, CFLOW_NO_MODULE);
    g_autofree char *msg = g_strdup_printf(
        "no code of 'libnothing.so' in the profile; the run executed code from:\n  %s",
        fixture_path());
    g_assert_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    g_assert_cmpstr(err->message, ==, msg);
    run_clear(&run);
}

static void test_bolt(void)
{
    Run run;
    run_init(&run);
    uint64_t l = run.r.leaf, a = run.r.add, p = run.r.loop;
    g_autofree char *want = g_strdup_printf(
        "B %" PRIx64 " %" PRIx64 " 10 0\n" /* leaf's ret to add+9 */
        "B %" PRIx64 " %" PRIx64 " 10 0\n" /* the call */
        "B %" PRIx64 " %" PRIx64 " 6 0\n"  /* the jne taken */
        "B %" PRIx64 " 0 4 0\n"            /* add's ret, out of the binary */
        "B %" PRIx64 " %" PRIx64 " 2 0\n"  /* loop's jmp */
        "F %" PRIx64 " %" PRIx64 " 10\n"   /* leaf's block */
        "F %" PRIx64 " %" PRIx64 " 10\n"   /* add's first block */
        "F %" PRIx64 " %" PRIx64 " 13\n"   /* the jne's block, twice (10 + 3) */
        "F %" PRIx64 " %" PRIx64 " 4\n"    /* the jne falling through */
        "F %" PRIx64 " %" PRIx64 " 4\n"    /* the ret's block */
        "F %" PRIx64 " %" PRIx64 " 2\n",   /* loop's block */
        l + 3, a + 9, a + 4, l, a + 9, a, a + 11, p, a, l, l + 3, a, a + 4, a + 9, a + 9, a + 9,
        a + 11, a + 11, a + 11, p, p);
    g_autofree char *got = export_ok(&cflow_export_bolt, run.x, NULL);
    g_assert_cmpstr(got, ==, want);
    run_clear(&run);
}

static void test_callgrind(void)
{
    Run run;
    run_init(&run);
    uint64_t l = run.r.leaf, a = run.r.add, p = run.r.loop;
    unsigned ll = run.r.line_leaf, la = run.r.line_add, lp = run.r.line_loop;
    const char *file = cflow_srcline_insn(run.x->s, 0)->file;
    GString *want = g_string_new(NULL);
    g_string_append_printf(want, "# callgrind format\nversion: 1\n"
                                 "creator: cflow (cflow export callgrind)\npid: 42\n"
                                 "cmd: prog with newline\npositions: instr line\nevents: Ir\n"
                                 "summary: 59\n");
    /* functions by address: leaf, add, loop; names compressed after their first use */
    g_string_append_printf(want, "\nob=(1) %s\nfl=(1) %s\nfn=(1) fixture_leaf\n", fixture_path(),
                           file);
    g_string_append_printf(want, "0x%" PRIx64 " %u 10\n0x%" PRIx64 " %u 10\n", l, ll, l + 3, ll);
    g_string_append_printf(want, "\nob=(1)\nfl=(1)\nfn=(2) fixture_add\n");
    g_string_append_printf(want, "0x%" PRIx64 " %u 10\n", a, la);
    g_string_append_printf(want, "0x%" PRIx64 " %u 10\n", a + 4, la);
    /* the call: leaf's inclusive cost (20) per entry (10) times 10 calls */
    g_string_append_printf(want, "cfi=(1)\ncfn=(1)\ncalls=10 0x%" PRIx64 " %u\n0x%" PRIx64
                                 " %u 20\n",
                           l, ll, a + 4, la);
    g_string_append_printf(want, "0x%" PRIx64 " %u 13\n", a + 9, la);
    g_string_append_printf(want, "jcnd=6/13 0x%" PRIx64 " %u\n0x%" PRIx64 " %u\n", a, la, a + 9,
                           la);
    g_string_append_printf(want, "jcnd=4/13 0x%" PRIx64 " %u\n0x%" PRIx64 " %u\n", a + 11, la,
                           a + 9, la);
    g_string_append_printf(want, "0x%" PRIx64 " %u 4\n", a + 11, la); /* its ret: not written */
    g_string_append_printf(want, "\nob=(1)\nfl=(1)\nfn=(3) fixture_loop\n0x%" PRIx64 " %u 2\n",
                           p, lp);
    /* its jmp to add's entry is a tail call, a call as Callgrind records it: add's inclusive
     * cost (37 of its own + 20 of leaf's) per entry (its 2 entries are these) times 2 */
    g_string_append_printf(want, "cfi=(1)\ncfn=(2)\ncalls=2 0x%" PRIx64 " %u\n0x%" PRIx64
                                 " %u 57\n",
                           a, la, p, lp);
    g_string_append(want, "\ntotals: 59\n");
    g_autofree char *got = export_ok(&cflow_export_callgrind, run.x, NULL);
    g_assert_cmpstr(got, ==, want->str);
    g_string_free(want, TRUE);

    /* --binary with no such file: the selection's error, nothing written */
    run.x->binary = "libnothing.so";
    g_autoptr(GError) err = NULL;
    g_assert_null(export_text(&cflow_export_callgrind, run.x, NULL, &err));
    g_assert_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    run_clear(&run);
}

/* One drcov BB table record: u32 start, u16 size, u16 module id, little-endian. */
static void append_bb(GByteArray *out, uint32_t start, uint16_t size, uint16_t module)
{
    const uint8_t rec[8] = {(uint8_t)start,        (uint8_t)(start >> 8), (uint8_t)(start >> 16),
                            (uint8_t)(start >> 24), (uint8_t)size,         (uint8_t)(size >> 8),
                            (uint8_t)module,        (uint8_t)(module >> 8)};
    g_byte_array_append(out, rec, sizeof rec);
}

static void test_drcov(void)
{
    Run run;
    run_init(&run);
    g_autofree char *dir = g_dir_make_tmp("cflow-test-drcov-XXXXXX", NULL);
    g_autofree char *hits = g_build_filename(dir, "hits", NULL);
    run.x->hits = hits;
    const char *path = fixture_path();
    /* blocks at their offsets from the module base: leaf, add, add+9 (twice), add+11, loop */
    uint32_t l = (uint32_t)(run.r.rt_leaf - FIXTURE_BASE);
    uint32_t a = (uint32_t)(run.r.rt_add - FIXTURE_BASE);
    uint32_t p = (uint32_t)(run.r.rt_loop - FIXTURE_BASE);
    g_autofree char *head = g_strdup_printf(
        "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\nModule Table: version 2, count 1\n"
        "Columns: id, base, end, entry, checksum, timestamp, path\n"
        "  0, 0x%016llx, 0x%016llx, 0x0000000000000000, 0x00000000, 0x00000000, %s\n"
        "BB Table: 5 bbs\n",
        FIXTURE_BASE, FIXTURE_MAP_END, path);
    g_autoptr(GByteArray) want = g_byte_array_new();
    g_byte_array_append(want, (const guint8 *)head, (guint)strlen(head));
    append_bb(want, l, 4, 0);
    append_bb(want, a, 9, 0);
    append_bb(want, a + 9, 2, 0);
    append_bb(want, a + 11, 1, 0);
    append_bb(want, p, 5, 0);
    gsize len;
    g_autofree char *got = export_ok(&cflow_export_drcov, run.x, &len);
    g_assert_cmpmem(got, len, want->data, want->len);

    g_autofree char *hits_text = NULL;
    g_assert_true(g_file_get_contents(hits, &hits_text, NULL, NULL));
    g_autofree char *want_hits = g_strdup_printf(
        "# cflow drcov hits: MODULE_ID OFFSET SIZE COUNT, one line per BB table entry\n"
        "0 0x%x 4 10\n0 0x%x 9 10\n0 0x%x 2 13\n0 0x%x 1 4\n0 0x%x 5 2\n",
        l, a, a + 9, a + 11, p);
    g_assert_cmpstr(hits_text, ==, want_hits);
    g_unlink(hits);
    g_rmdir(dir);
    run_clear(&run);
}

static void test_lcov(void)
{
    Run run;
    run_init(&run);
    unsigned ll = run.r.line_leaf, la = run.r.line_add, lp = run.r.line_loop;
    const char *file = cflow_srcline_insn(run.x->s, 0)->file;
    /*
     * A line's count: entries into a stretch of it in a basic block (leaf 10; add 10 + 3 + 4,
     * the 10 returns from leaf into add+9 left out: the call is on the same line; loop 2), plus
     * its function's entry, counted on the line that names it as gcov does (leaf 10, add 10,
     * loop 2): each function is one line of the fixture.
     */
    g_autofree char *want = g_strdup_printf(
        "TN:unit\nSF:%s\n"
        "FN:%u,fixture_leaf\nFN:%u,fixture_add\nFN:%u,fixture_loop\n"
        "FNDA:10,fixture_leaf\nFNDA:10,fixture_add\nFNDA:2,fixture_loop\nFNF:3\nFNH:3\n"
        "BRDA:%u,0,0,6\nBRDA:%u,0,1,4\nBRF:2\nBRH:2\n"
        "DA:%u,20\nDA:%u,27\nDA:%u,4\nLF:3\nLH:3\nend_of_record\n",
        file, ll, la, lp, la, la, ll, la, lp);
    g_autofree char *got = export_ok(&cflow_export_lcov, run.x, NULL);
    g_assert_cmpstr(got, ==, want);
    run_clear(&run);
}

/* A line's count in an lcov record ("DA:LINE,COUNT"), or -1 if the line is not listed. */
static int64_t lcov_count(const char *text, unsigned line)
{
    g_autofree char *da = g_strdup_printf("\nDA:%u,", line);
    const char *at = strstr(text, da);
    return at ? (int64_t)g_ascii_strtoull(at + strlen(da), NULL, 10) : -1;
}

/*
 * Case labels (fixture-switch.c): no code of their own in the line table, yet listed with
 * the count of the line they lead to, as gcov lists them: "case 1:" with "return 10;" (run 5
 * times), "default:" with "return 20;" (never run).
 */
static void test_lcov_case_labels(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    cflow_profile_set_meta(p, "guest", path);
    uint64_t size = 0, entry = fixture_symbol(path, "fixture_switch", &size);
    unsigned ten = fixture_line("return_ten");
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t addr = entry;
    while (addr < entry + size && cflow_srcline_lookup(s, addr, NULL)->line != ten) {
        addr++;
    }
    g_assert_cmphex(addr, <, entry + size);
    uint32_t i = cflow_profile_add_insn(p, addr, 1, 0, "mov $10, %eax", NULL);
    cflow_profile_add_block(p, addr, 5, &i, 1);
    g_autoptr(CflowExport) x = cflow_export_new(p);
    x->test_name = "unit";
    g_autofree char *got = export_ok(&cflow_export_lcov, x, NULL);
    g_assert_true(g_str_has_prefix(got, "TN:unit\nSF:"));
    g_assert_nonnull(strstr(got, "/tests/tool/fixture-switch.c\nFN:"));
    g_assert_null(strstr(got, "fixture.c\n")); /* the units that did not run are left out */
    g_assert_cmpint(lcov_count(got, ten), ==, 5);
    g_assert_cmpint(lcov_count(got, fixture_line("case_one")), ==, 5);
    g_assert_cmpint(lcov_count(got, fixture_line("return_twenty")), ==, 0);
    g_assert_cmpint(lcov_count(got, fixture_line("default")), ==, 0);
    g_assert_cmpint(lcov_count(got, 1), ==, -1); /* the header comment is no code */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/export/modules-and-addresses", test_modules_and_addresses);
    g_test_add_func("/export/select", test_select);
    g_test_add_func("/export/bolt", test_bolt);
    g_test_add_func("/export/callgrind", test_callgrind);
    g_test_add_func("/export/drcov", test_drcov);
    g_test_add_func("/export/lcov", test_lcov);
    g_test_add_func("/export/lcov-case-labels", test_lcov_case_labels);
    return g_test_run();
}
