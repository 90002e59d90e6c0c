/*
 * test_elf_symbols.c: the symbol index (tool/elf-symbols.c) against libdwfl, the reference it
 * stands in for: over the fixture (.symtab: local, global and weak symbols), the fixture
 * without DWARF, the C library, the dynamic loader and python3 (aliases, local and versioned
 * names, labels without a size), some 20,000 addresses each are named and placed as
 * dwfl_module_addrinfo names and places them, and the index answers most of the libraries'
 * addresses itself (else it would save nothing there).
 */
#include <string.h>

#include "elf-symbols.h"
#include "harness.h"

/* Compares the index with libdwfl over path's module; returns the share it answered itself. */
static double compare_with_libdwfl(const char *path)
{
    Dwfl *dwfl;
    Dwfl_Module *mod = offline_module(path, &dwfl);
    g_assert_nonnull(mod);
    Dwarf_Addr low, high;
    dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
    g_autoptr(CflowSymIndex) x = cflow_sym_index_new(mod);
    uint64_t asked = 0;
    /* about 20,000 addresses, an odd step apart so that they fall at every offset */
    Dwarf_Addr step = MAX((high - low) / 20000, 3) | 1;
    for (Dwarf_Addr a = low; a < high; a += step) {
        GElf_Off want_off = 0, got_off = 0;
        GElf_Sym sym;
        const char *want = dwfl_module_addrinfo(mod, a, &want_off, &sym, NULL, NULL, NULL);
        const char *got = cflow_sym_index_name(x, a, &got_off);
        if (g_strcmp0(want, got) != 0 || (want && want_off != got_off)) {
            g_error("%s at 0x%" G_GINT64_MODIFIER "x: libdwfl says %s+0x%" G_GINT64_MODIFIER
                    "x, the index %s+0x%" G_GINT64_MODIFIER "x",
                    path, (guint64)a, want ? want : "(none)", (guint64)want_off,
                    got ? got : "(none)", (guint64)got_off);
        }
        asked++;
    }
    double share = asked ? (double)cflow_sym_index_answered(x) / (double)asked : 0;
    g_test_message("%s: %" G_GUINT64_FORMAT " addresses, %.0f%% answered by the index", path,
                   asked, 100 * share);
    dwfl_end(dwfl);
    return share;
}

/* Mostly static functions (local symbols, which the index leaves to libdwfl): agreement. */
static void test_fixture(void)
{
    g_assert_cmpfloat(compare_with_libdwfl(fixture_path()), >, 0.0);
    g_assert_cmpfloat(compare_with_libdwfl(fixture_nodebug_path()), >, 0.0);
}

/* The system's own libraries: whatever this machine's build of them holds. */
static void test_system_libraries(void)
{
    const char *paths[] = {"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
                           "/usr/bin/python3", "/lib/aarch64-linux-gnu/libc.so.6"};
    guint tried = 0;
    for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
        if (g_file_test(paths[i], G_FILE_TEST_EXISTS)) {
            g_assert_cmpfloat(compare_with_libdwfl(paths[i]), >, 0.5);
            tried++;
        }
    }
    g_assert_cmpuint(tried, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    elf_version(EV_CURRENT);
    g_test_add_func("/elf-symbols/fixture", test_fixture);
    g_test_add_func("/elf-symbols/system-libraries", test_system_libraries);
    return g_test_run();
}
