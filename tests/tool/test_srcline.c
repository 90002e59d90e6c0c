/*
 * test_srcline.c: guest addresses to functions and source lines (tool/srcline.c) on the
 * fixture: link-time addresses of a guest without maps, run-time addresses through the
 * profile's maps, symbols only without DWARF, QEMU's symbol and the bare address as the last
 * resorts, the helpers built on lookups (file offsets, short names, source text), and the
 * inline chains against dwarf_getscopes (the slow, obviously right way) on the fixture and, where
 * its debug information is installed, the C library.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf-index.h"
#include "harness.h"
#include "srcline.h"

/* A profile of nothing but meta: srcline reads only "guest" and "maps". */
static CflowProfile *meta_profile(const char *guest, const char *maps)
{
    CflowProfile *p = cflow_profile_new();
    if (guest) {
        cflow_profile_set_meta(p, "guest", guest);
    }
    if (maps) {
        cflow_profile_set_meta(p, "maps", maps);
    }
    return p;
}

/* The ELF file at path mapped at FIXTURE_BASE (file offset 0 there), as its guest. */
static CflowProfile *mapped_profile(const char *path)
{
    g_autofree char *maps = g_strdup_printf("%llx-%llx 0 %s\n", FIXTURE_BASE, FIXTURE_MAP_END,
                                            path);
    return meta_profile(path, maps);
}

static void assert_fixture_file(const char *file)
{
    g_assert_nonnull(file);
    g_assert_true(g_str_has_suffix(file, "tests/tool/fixture.c"));
    g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
}

/* No maps: the guest's own link-time addresses (how a static guest is recorded). */
static void test_guest_without_maps(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    const char *names[] = {"fixture_leaf", "fixture_add", "fixture_loop"};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        uint64_t entry = fixture_symbol(path, names[i], NULL);
        const CflowLoc *loc = cflow_srcline_lookup(s, entry + 2, NULL);
        g_assert_cmpstr(loc->function, ==, names[i]);
        g_assert_cmpint(loc->source, ==, CFLOW_LOC_DWARF);
        assert_fixture_file(loc->file);
        g_assert_cmpuint(loc->line, ==, fixture_line(names[i]));
        g_assert_cmpuint(loc->column, >, 0); /* GCC writes columns */
        g_assert_cmphex(loc->function_start, ==, entry);
        g_assert_cmpstr(loc->object, ==, path);
        /* the answer is cached: the same record for the same address */
        g_assert_true(cflow_srcline_lookup(s, entry + 2, NULL) == loc);
    }
}

/*
 * The next dump of the same run (`cflow top`): rebinding keeps what was looked up (the same
 * record comes back) when guest and maps are the same, and refuses another mapping or guest.
 */
static void test_rebind_to_the_next_dump(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) first = mapped_profile(path);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(first);
    uint64_t link = fixture_symbol(path, "fixture_loop", NULL);
    uint64_t run = FIXTURE_BASE + fixture_offset(path, link);
    const CflowLoc *loc = cflow_srcline_lookup(s, run + 2, NULL);
    g_assert_cmpstr(loc->function, ==, "fixture_loop");

    g_autoptr(CflowProfile) next = mapped_profile(path);
    g_assert_true(cflow_srcline_rebind(s, next));
    g_clear_pointer(&first, cflow_profile_free); /* nothing of the old profile is kept */
    g_assert_true(cflow_srcline_lookup(s, run + 2, NULL) == loc);
    uint64_t vaddr = 0;
    g_assert_cmpstr(cflow_srcline_locate(s, run + 2, &vaddr), ==, path);
    g_assert_cmphex(vaddr, ==, link + 2);

    /* the same file elsewhere, another guest, no maps: a new reader is needed */
    g_autofree char *moved = g_strdup_printf("%llx-%llx 0 %s\n", FIXTURE_BASE + 0x100000,
                                             FIXTURE_MAP_END + 0x100000, path);
    g_autoptr(CflowProfile) elsewhere = meta_profile(path, moved);
    g_autoptr(CflowProfile) other_guest = meta_profile("/bin/true", NULL);
    g_autoptr(CflowProfile) no_maps = meta_profile(path, NULL);
    g_assert_false(cflow_srcline_rebind(s, elsewhere));
    g_assert_false(cflow_srcline_rebind(s, other_guest));
    g_assert_false(cflow_srcline_rebind(s, no_maps));
    /* refused: still bound to `next` */
    g_assert_true(cflow_srcline_lookup(s, run + 2, NULL) == loc);
}

/*
 * The slow, obviously right inline chain of module address a: dwarf_getscopes on the unit
 * libdwfl finds (what srcline did before its subprogram index), followed physically around
 * the innermost scope when it is inlined; the names of the inlined instances and of the
 * function, innermost first, into names. Returns how many.
 */
static guint reference_chain(Dwfl_Module *mod, Dwarf_Addr a, const char **names, guint max)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, a, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu ? dwarf_getscopes(cu, a - bias, &scopes) : 0;
    bool inlined = false;
    for (int i = 0; i < n; i++) {
        inlined |= dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    }
    if (inlined) {
        Dwarf_Die *found = scopes;
        n = dwarf_getscopes_die(&found[0], &scopes);
        free(found);
    }
    guint k = 0;
    for (int i = 0; i < n && k < max; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
            Dwarf_Attribute attr;
            names[k++] = dwarf_attr_integrate(&scopes[i], DW_AT_name, &attr)
                             ? dwarf_formstring(&attr) : "??";
            if (tag == DW_TAG_subprogram) {
                break;
            }
        }
    }
    free(scopes);
    return k;
}

/*
 * srcline's inline chains (from the subprograms indexed once) against the reference, at
 * `count` addresses spread over the text of the ELF file at path, looked up as the guest of a
 * profile without maps (link-time addresses). Returns how many had a chain.
 */
static guint compare_chains(const char *path, guint count)
{
    Dwfl *dwfl;
    Dwfl_Module *mod = offline_module(path, &dwfl);
    g_assert_nonnull(mod);
    Dwarf_Addr low, high, bias;
    dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
    g_assert_nonnull(dwfl_module_getdwarf(mod, &bias));
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    guint with_chain = 0;
    Dwarf_Addr step = MAX((high - low) / count, 1);
    for (Dwarf_Addr a = low; a < high; a += step) {
        const char *want[16];
        guint n = reference_chain(mod, a, want, G_N_ELEMENTS(want));
        const CflowLoc *loc = cflow_srcline_lookup(s, a - bias, NULL);
        if (loc->n_frames != n) {
            g_error("%s at 0x%" PRIx64 ": %u frames, the reference %u", path, (uint64_t)a,
                    loc->n_frames, n);
        }
        for (guint i = 0; i < n; i++) {
            g_assert_cmpstr(loc->frames[i].function, ==, want[i]);
        }
        with_chain += n > 0;
    }
    g_test_message("%s: %u addresses with an inline chain, the same as the reference's", path,
                   with_chain);
    dwfl_end(dwfl);
    return with_chain;
}

/* The fixture at every byte; the C library where its debug information is installed. */
static void test_chains_match_the_reference(void)
{
    g_assert_cmpuint(compare_chains(fixture_path(), 1u << 20), >, 0);
    const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
    if (g_file_test(libc, G_FILE_TEST_EXISTS)) {
        Dwfl *probe;
        Dwfl_Module *mod = offline_module(libc, &probe);
        Dwarf_Addr bias;
        if (mod && dwfl_module_getdwarf(mod, &bias)) {
            g_assert_cmpuint(compare_chains(libc, 3000), >, 0);
        } else {
            g_test_message("no debug information for %s: the fixture only", libc);
        }
        dwfl_end(probe);
    }
}

/* --addresses: run-time, link-time (through maps and program headers), or both. */
static void check_addresses(CflowSrcline *s, uint64_t run, uint64_t link)
{
    const char *names[] = {"run", "link", "both"};
    g_autofree char *both = g_strdup_printf("0x%" PRIx64 " (0x%" PRIx64 ")", run, link);
    g_autofree char *run_text = g_strdup_printf("0x%" PRIx64, run);
    g_autofree char *link_text = g_strdup_printf("0x%" PRIx64, link);
    const char *want[] = {run_text, link_text, both};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        CflowAddresses a;
        g_assert_true(cflow_addresses_parse(names[i], &a));
        cflow_srcline_set_addresses(s, a);
        g_autoptr(GString) out = g_string_new(NULL);
        cflow_srcline_address(s, out, run);
        g_assert_cmpstr(out->str, ==, want[i]);
        /* an address in no file is the run-time one in every form */
        g_string_truncate(out, 0);
        cflow_srcline_address(s, out, 0x1000);
        g_assert_cmpstr(out->str, ==, "0x1000");
    }
    CflowAddresses a;
    g_assert_false(cflow_addresses_parse("where", &a));
    cflow_srcline_set_addresses(s, CFLOW_ADDRESSES_RUN);
}

/* Through maps: the fixture loaded at FIXTURE_BASE (file offset 0 there). */
static void test_through_maps(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = mapped_profile(path);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t entry = fixture_symbol(path, "fixture_add", NULL);
    uint64_t run_time = FIXTURE_BASE + fixture_offset(path, entry);
    const CflowLoc *loc = cflow_srcline_lookup(s, run_time + 1, NULL);
    g_assert_cmpstr(loc->function, ==, "fixture_add");
    g_assert_cmpuint(loc->line, ==, fixture_line("fixture_add"));
    g_assert_cmphex(loc->function_start, ==, run_time);
    check_addresses(s, run_time, entry);

    uint64_t vaddr = 0;
    g_assert_cmpstr(cflow_srcline_locate(s, run_time + 1, &vaddr), ==, path);
    g_assert_cmphex(vaddr, ==, entry + 1);
    g_assert_null(cflow_srcline_locate(s, 0x1000, &vaddr));

    g_autofree char *in_file = cflow_srcline_file_offset(s, FIXTURE_BASE + 0x123);
    g_autofree char *expected = g_strdup_printf("%s+0x123", path);
    g_assert_cmpstr(in_file, ==, expected);
    g_autofree char *outside = cflow_srcline_file_offset(s, 0x1000);
    g_assert_cmpstr(outside, ==, "0x1000");

    uint64_t bias = 1;
    g_assert_nonnull(cflow_srcline_module(s, path, &bias));
    g_assert_null(cflow_srcline_module(s, "/nonexistent/libnothing.so", &bias));
}

/* The column (1-based) where `needle` starts in line `line` of `file`, from the source text. */
static unsigned column_of(CflowSrcline *s, const char *file, unsigned line, const char *needle)
{
    const char *text = cflow_srcline_text(s, file, line);
    g_assert_nonnull(text);
    const char *at = strstr(text, needle);
    g_assert_nonnull(at);
    return (unsigned)(at - text) + 1;
}

/*
 * Inlined code: the function it was inlined in (the outermost), the line of the inlined code,
 * and its inline chain: fixture_inlined, inlined twice into fixture_outer on its one line (the
 * two call sites told apart by their columns), then fixture_outer itself.
 */
static void test_inlined_code(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t size = 0;
    uint64_t entry = fixture_symbol(path, "fixture_outer", &size);
    unsigned inlined = fixture_line("fixture_inlined"), outer = fixture_line("fixture_outer");
    guint on_inlined = 0;
    g_autoptr(GHashTable) columns = g_hash_table_new(NULL, NULL);
    for (uint64_t addr = entry; addr < entry + size; addr++) {
        const CflowLoc *loc = cflow_srcline_lookup(s, addr, NULL);
        g_assert_cmpstr(loc->function, ==, "fixture_outer");
        g_assert_cmphex(loc->function_start, ==, entry);
        g_assert_true(loc->line == inlined || loc->line == outer);
        g_assert_true(g_str_has_suffix(loc->file, "tests/tool/fixture-inline.c"));
        on_inlined += loc->line == inlined;

        unsigned n = 0;
        const CflowInlineFrame *f = cflow_srcline_inline_chain(s, addr, &n);
        g_assert_true(f == loc->frames && n == loc->n_frames);
        g_assert_cmpuint(n, ==, loc->line == inlined ? 2 : 1);
        g_assert_cmpstr(f[n - 1].function, ==, "fixture_outer");
        g_assert_cmpuint(f[n - 1].decl_line, ==, outer);
        g_assert_null(f[n - 1].call_file);
        g_assert_cmpuint(f[n - 1].call_line, ==, 0);
        g_assert_cmphex(f[n - 1].entry, ==, entry);
        if (n == 2) {
            g_assert_cmpstr(f[0].function, ==, "fixture_inlined");
            g_assert_cmpuint(f[0].decl_line, ==, inlined);
            g_assert_true(g_str_has_suffix(f[0].decl_file, "tests/tool/fixture-inline.c"));
            g_assert_true(g_str_has_suffix(f[0].call_file, "tests/tool/fixture-inline.c"));
            g_assert_cmpuint(f[0].call_line, ==, outer);
            g_assert_cmphex(f[0].entry, >, entry);
            g_assert_cmphex(f[0].entry, <=, addr);
            g_hash_table_add(columns, GUINT_TO_POINTER(f[0].call_column));
            g_autofree char *name = g_strdup_printf(
                "fixture_inlined (inlined into fixture_outer at fixture-inline.c:%u)", outer);
            g_assert_cmpstr(cflow_srcline_inline_name(s, loc), ==, name);
        } else {
            g_assert_true(cflow_srcline_inline_name(s, loc) == loc->function);
        }
    }
    g_assert_cmpuint(on_inlined, >, 0);
    const CflowLoc *any = cflow_srcline_lookup(s, entry, NULL);
    unsigned first = column_of(s, any->file, outer, "fixture_inlined(x + 1)");
    unsigned second = column_of(s, any->file, outer, "fixture_inlined(x)");
    g_assert_cmpuint(g_hash_table_size(columns), ==, 2);
    g_assert_true(g_hash_table_contains(columns, GUINT_TO_POINTER(first)));
    g_assert_true(g_hash_table_contains(columns, GUINT_TO_POINTER(second)));
}

/* fixture_loop is a loop on one line: its blocks are told apart by the line's discriminators. */
static void test_discriminators(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t size = 0, entry = fixture_symbol(path, "fixture_loop", &size);
    g_assert_cmpuint(cflow_srcline_lookup(s, entry, NULL)->discriminator, ==, 0);
    guint with = 0;
    for (uint64_t a = entry; a < entry + size; a++) {
        with += cflow_srcline_lookup(s, a, NULL)->discriminator > 0;
    }
    g_assert_cmpuint(with, >, 0);
}

/* A line's short name and text. */
static void test_short_and_text(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    const CflowLoc *loc = cflow_srcline_lookup(s, fixture_symbol(path, "fixture_loop", NULL), NULL);
    unsigned line = fixture_line("fixture_loop");
    g_autofree char *want = g_strdup_printf("fixture.c:%u", line);
    g_assert_cmpstr(cflow_srcline_short(s, loc), ==, want);
    const char *text = cflow_srcline_text(s, loc->file, line);
    g_assert_nonnull(text);
    g_assert_true(g_str_has_prefix(text, "int fixture_loop(int n)"));
    g_assert_null(cflow_srcline_text(s, loc->file, 100000));
    g_assert_null(cflow_srcline_text(s, "/nonexistent.c", 1));
    CflowLoc unknown = {.function = "f", .source = CFLOW_LOC_ADDRESS};
    g_assert_null(cflow_srcline_short(s, &unknown));
}

/* Without DWARF the ELF symbol names the function; there is no line. */
static void test_symbols_only(void)
{
    const char *path = fixture_nodebug_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t entry = fixture_symbol(path, "fixture_add", NULL);
    const CflowLoc *loc = cflow_srcline_lookup(s, entry + 3, "ignored");
    g_assert_cmpstr(loc->function, ==, "fixture_add");
    g_assert_cmpint(loc->source, ==, CFLOW_LOC_ELF);
    g_assert_null(loc->file);
    g_assert_cmpuint(loc->line, ==, 0);
    g_assert_cmphex(loc->function_start, ==, entry);
    unsigned n = 1;
    g_assert_null(cflow_srcline_inline_chain(s, entry + 3, &n));
    g_assert_cmpuint(n, ==, 0);
}

/* No file knows the address: QEMU's symbol, else the address itself. */
static void test_last_resorts(void)
{
    g_autoptr(CflowProfile) p = meta_profile(NULL, "1000-2000 0 /nonexistent/prog\n");
    uint32_t named = cflow_profile_add_insn(p, 0x1010, 4, 0, "nop", "qemu_sym");
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    const CflowLoc *loc = cflow_srcline_insn(s, named);
    g_assert_cmpstr(loc->function, ==, "qemu_sym");
    g_assert_cmpint(loc->source, ==, CFLOW_LOC_QEMU);
    g_assert_null(loc->file);
    loc = cflow_srcline_lookup(s, 0xabc0, NULL);
    g_assert_cmpstr(loc->function, ==, "0xabc0");
    g_assert_cmpint(loc->source, ==, CFLOW_LOC_ADDRESS);
    g_assert_null(loc->object);
    loc = cflow_srcline_lookup(s, 0xabc4, "");
    g_assert_cmpstr(loc->function, ==, "0xabc4");
}

/*
 * The index of units and subprograms by range (the lookup srcline falls back on where a file
 * has no .debug_aranges, as clang's have not): for each function of the fixture, the unit
 * libdwfl finds through .debug_aranges and the function's own subprogram; nothing below the
 * first function or past the last unit.
 */
static void test_die_index(void)
{
    const char *path = fixture_path();
    g_autoptr(CflowProfile) p = meta_profile(path, NULL);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    uint64_t bias;
    Dwfl_Module *mod = cflow_srcline_module(s, path, &bias);
    g_assert_nonnull(mod);
    g_autoptr(CflowDieIndex) units = cflow_die_index_new(mod, CFLOW_DIE_UNITS);
    g_autoptr(CflowDieIndex) subprograms = cflow_die_index_new(mod, CFLOW_DIE_SUBPROGRAMS);
    const char *names[] = {"fixture_leaf", "fixture_add", "fixture_loop", "fixture_outer"};
    Dwarf_Die die;
    Dwarf_Addr cubias;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        Dwarf_Addr a = fixture_symbol(path, names[i], NULL) + 2 + bias, want_bias;
        Dwarf_Die *want = dwfl_module_addrdie(mod, a, &want_bias);
        g_assert_nonnull(want);
        g_assert_true(cflow_die_index_find(units, a, &die, &cubias));
        g_assert_cmphex(dwarf_dieoffset(&die), ==, dwarf_dieoffset(want));
        g_assert_cmphex(cubias, ==, want_bias);
        g_assert_true(cflow_die_index_find(subprograms, a, &die, &cubias));
        g_assert_cmpstr(dwarf_diename(&die), ==, names[i]);
    }
    g_assert_false(cflow_die_index_find(units, 0, &die, &cubias));
    g_assert_false(cflow_die_index_find(subprograms, UINT64_MAX, &die, &cubias));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/srcline/guest-without-maps", test_guest_without_maps);
    g_test_add_func("/srcline/through-maps", test_through_maps);
    g_test_add_func("/srcline/rebind-to-the-next-dump", test_rebind_to_the_next_dump);
    g_test_add_func("/srcline/inlined-code", test_inlined_code);
    g_test_add_func("/srcline/chains-match-the-reference", test_chains_match_the_reference);
    g_test_add_func("/srcline/discriminators", test_discriminators);
    g_test_add_func("/srcline/short-and-text", test_short_and_text);
    g_test_add_func("/srcline/symbols-only", test_symbols_only);
    g_test_add_func("/srcline/last-resorts", test_last_resorts);
    g_test_add_func("/srcline/die-index", test_die_index);
    return g_test_run();
}
